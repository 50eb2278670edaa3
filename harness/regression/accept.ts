// `harness check --accept`: promote a variant's current sample set to its goldens (meant to be committed).
import { copyFile, mkdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Experiment } from '../config/load.ts';
import { UsageError } from '../errors.ts';
import type { Plan } from '../plan/planner.ts';
import type { ScoreReport } from '../scoring/types.ts';
import { writeFileAtomic } from '../store/atomic.ts';
import { goldenLayout, runLayout } from '../store/layout.ts';
import { sha256 } from '../util/hash.ts';
import { markersOf, resolveCurrent, variantOf } from './current.ts';
import type { EnvFingerprint } from './fingerprint.ts';
import { GOLDEN_SCHEMA_VERSION, type GoldenManifest } from './golden.ts';
import { unusableScoresWarning } from './inconclusive.ts';
import { readScoreReport, scoreSet } from './scores.ts';

export interface AcceptOptions {
  experiment: Experiment;
  storeRoot: string;
  plan: Plan;
  variant?: string;
  /** score the set with the scoring API when it has no scores yet (default true) */
  scoreMissing?: boolean;
  displayFile?: string;
  now?: () => Date;
}

export interface AcceptResult {
  schemaVersion: number;
  experiment: string;
  variant: string;
  runId: string;
  setId: string;
  /** the golden folder written */
  dir: string;
  images: number;
  scored: boolean;
  replaced: string | null;
  fingerprint: EnvFingerprint;
  warnings: string[];
}

export async function acceptGolden(options: AcceptOptions): Promise<AcceptResult> {
  const { experiment } = options;
  const displayFile = options.displayFile ?? experiment.file;
  const variant = variantOf(experiment, options.variant);
  const current = await resolveCurrent({ experiment, storeRoot: options.storeRoot, plan: options.plan, variant, displayFile });
  const { manifest } = current.set;
  const warnings: string[] = [];

  const scoresFile = runLayout(options.storeRoot, experiment.name, current.run.id).scores(manifest.setId);
  let scores: ScoreReport | null = await readScoreReport(scoresFile);
  if (!scores && options.scoreMissing !== false) {
    scores = await scoreSet({ setDir: current.set.dir, files: manifest.images.map((i) => i.file), referenceDir: experiment.referenceDir, scoresFile });
  }
  if (!scores) warnings.push('accepted without scores: only the exact tier (same stack and GPU) can check against these goldens');
  const unusable = scores ? unusableScoresWarning(scores, markersOf(experiment)) : null;
  if (unusable) warnings.push(unusable);

  const layout = goldenLayout(experiment.goldensDir, variant);
  const staging = `${layout.dir}.tmp-${process.pid}`;
  const stagingLayout = goldenLayout(path.dirname(staging), path.basename(staging));
  await rm(staging, { recursive: true, force: true });
  await mkdir(stagingLayout.imagesDir, { recursive: true });
  try {
    for (const image of manifest.images) {
      const source = path.join(current.set.dir, image.file);
      const bytes = await readFile(source).catch(() => null);
      if (!bytes || sha256(bytes) !== image.sha256) {
        throw new UsageError(
          `sample set ${manifest.setId} is damaged: ${source} is ${bytes ? 'not the image set.json lists (sha256 differs)' : 'missing'}`,
          'render the set again (harness sample) before accepting it',
        );
      }
      await copyFile(source, stagingLayout.image(image.file));
    }
    const golden: GoldenManifest = {
      schemaVersion: GOLDEN_SCHEMA_VERSION,
      experiment: experiment.name,
      variant,
      runId: current.run.id,
      setId: manifest.setId,
      acceptedAt: (options.now?.() ?? new Date()).toISOString(),
      spec: manifest.spec,
      fingerprint: current.fingerprint,
      images: manifest.images.map((i) => ({ promptId: i.promptId, seed: i.seed, file: i.file, sha256: i.sha256, width: i.width, height: i.height })),
      scores: scores ? { file: path.basename(layout.scores), scorerVersion: scores.scorer?.version ?? 'unknown' } : null,
    };
    await writeFileAtomic(stagingLayout.set, `${JSON.stringify(manifest, null, 2)}\n`);
    if (scores) await writeFileAtomic(stagingLayout.scores, `${JSON.stringify(scores, null, 2)}\n`);
    // golden.json last: a folder with it is a complete golden.
    await writeFileAtomic(stagingLayout.manifest, `${JSON.stringify(golden, null, 2)}\n`);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }

  const previous = await readFile(layout.manifest, 'utf8').then((t) => (JSON.parse(t) as { setId?: string }).setId ?? 'unknown', () => null);
  const old = `${layout.dir}.old-${process.pid}`;
  await rm(old, { recursive: true, force: true });
  await rename(layout.dir, old).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
  await rename(staging, layout.dir);
  await rm(old, { recursive: true, force: true });

  return {
    schemaVersion: GOLDEN_SCHEMA_VERSION,
    experiment: experiment.name,
    variant,
    runId: current.run.id,
    setId: manifest.setId,
    dir: layout.dir,
    images: manifest.images.length,
    scored: scores !== null,
    replaced: previous,
    fingerprint: current.fingerprint,
    warnings,
  };
}
