// `checkRun`: the current sample set of a variant against its goldens, at the tier the fingerprints allow.
// Used by `harness check`, `sweep --check` and reports.
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Experiment } from '../config/load.ts';
import { ExitCode, HarnessError, UsageError } from '../errors.ts';
import { decodeImage, encodeImage, type RawImage } from '../image/index.ts';
import type { Plan } from '../plan/planner.ts';
import type { SampleImage } from '../samples/types.ts';
import type { ImageScore, Marker, ScoreReport } from '../scoring/types.ts';
import { writeFileAtomic, writeJsonAtomic } from '../store/atomic.ts';
import { checksLayout, runLayout, SCHEMA_VERSION } from '../store/layout.ts';
import { sha256 } from '../util/hash.ts';
import { experimentSpec, markersOf, resolveCurrent, resolveRun, variantOf, type CurrentSet } from './current.ts';
import { GoldensError } from './errors.ts';
import { overallVerdict, whyInconclusive } from './inconclusive.ts';
import { chooseTier } from './fingerprint.ts';
import { acceptCommand, readGolden, type Golden, type GoldenImage } from './golden.ts';
import { comparePixels } from './pixels.ts';
import { readScoreReport, scoreSet, scoresByFile } from './scores.ts';
import { diffSpecs } from './spec-diff.ts';
import { ssim } from './ssim.ts';
import type { CheckReport, ImageCheck, SceneCheck, Tier } from './types.ts';
import { embeddingDrift, judgeExact, judgePerceptual, judgeScene, summarizeScene, type Judged, type Tolerances } from './verdicts.ts';

export interface CheckRunOptions {
  experiment: Experiment;
  storeRoot: string;
  plan: Plan;
  /** default: the experiment's regression.variant */
  variant?: string;
  /** force a tier instead of the one the fingerprints allow */
  tier?: Tier;
  /** score the current set with the scoring API when a tier needs scores and it has none (default true) */
  scoreMissing?: boolean;
  /** how the experiment file is named in messages (default: its absolute path) */
  displayFile?: string;
  now?: () => Date;
}

const key = (promptId: string, seed: number) => `${promptId}\u0000${seed}`;

export async function checkRun(options: CheckRunOptions): Promise<CheckReport> {
  const { experiment } = options;
  const displayFile = options.displayFile ?? experiment.file;
  const variant = variantOf(experiment, options.variant);
  resolveRun(options.plan, variant, displayFile); // an unknown variant is a usage error, not missing goldens
  const golden = await readGolden(experiment.goldensDir, variant, displayFile);
  const current = await resolveCurrentAgainst(golden, options, variant, displayFile);
  await checkGoldenImages(golden, displayFile, variant);

  const choice = chooseTier(golden.manifest.fingerprint, current.fingerprint);
  const tier = options.tier ?? choice.tier;
  const tierReason = options.tier && options.tier !== choice.tier ? `forced by --tier ${options.tier} (the fingerprints give ${choice.tier}: ${choice.reason})` : choice.reason;
  const tolerances = experiment.config.regression.tolerances;
  const warnings: string[] = [];

  let goldenScores: ScoreReport | null = null;
  let currentScores: ScoreReport | null = null;
  if (tier !== 'exact') {
    goldenScores = requireGoldenScores(golden, tier, displayFile, variant);
    currentScores = await currentScoreReport(current, experiment, options, tier);
    if (goldenScores.scorer?.version !== currentScores.scorer?.version) {
      warnings.push(`scores come from different scorer versions (golden ${goldenScores.scorer?.version ?? '?'}, current ${currentScores.scorer?.version ?? '?'}): score changes may be the scorer's`);
    }
  }

  const checks = checksLayout(options.storeRoot, experiment.name);
  const diffsDir = checks.diffsDir(variant);
  await rm(diffsDir, { recursive: true, force: true });
  const currentByKey = new Map(current.set.manifest.images.map((i) => [key(i.promptId, i.seed), i]));
  const goldenScoreByFile = scoresByFile(goldenScores);
  const currentScoreByFile = scoresByFile(currentScores);

  const images: ImageCheck[] = [];
  for (const goldenImage of golden.manifest.images) {
    const currentImage = currentByKey.get(key(goldenImage.promptId, goldenImage.seed));
    const base = { promptId: goldenImage.promptId, seed: goldenImage.seed, tier };
    if (!currentImage) {
      images.push({ ...base, verdict: 'missing', metrics: {}, note: 'not in the current sample set' });
      continue;
    }
    const goldenScore = goldenScoreByFile.get(goldenImage.file);
    const currentScore = currentScoreByFile.get(currentImage.file);
    if (tier === 'statistical') {
      images.push({ ...base, verdict: 'pass', metrics: scoreMetrics(goldenScore, currentScore, markersOf(experiment)) });
      continue;
    }
    const currentPixels = await decodeImage(path.join(current.set.dir, currentImage.file)).catch((error: Error) => error);
    if (currentPixels instanceof Error) {
      images.push({ ...base, verdict: 'missing', metrics: {}, note: `current image unreadable: ${currentPixels.message}` });
      continue;
    }
    const goldenPixels = await decodeImage(golden.layout.image(goldenImage.file));
    const judged = comparePair(tier, goldenPixels, currentPixels, tolerances, goldenScore, currentScore);
    const check: ImageCheck = { ...base, verdict: judged.verdict, metrics: judged.metrics, ...(judged.note ? { note: judged.note } : {}) };
    if (judged.verdict === 'regression' && judged.diff) {
      const file = path.join(diffsDir, `${goldenImage.promptId}__s${goldenImage.seed}.png`);
      await writeFileAtomic(file, await encodeImage(judged.diff, 'png'));
      check.diff = path.relative(checks.dir, file);
    }
    images.push(check);
  }

  const scenes = sceneChecks(tier, images, golden, current, goldenScoreByFile, currentScoreByFile, markersOf(experiment), tolerances);
  if (tier === 'statistical') {
    const sceneVerdict = new Map(scenes.map((s) => [s.promptId, s.verdict]));
    for (const image of images) if (image.verdict === 'pass') image.verdict = sceneVerdict.get(image.promptId) ?? 'pass';
  }
  const verdict = overallVerdict(images, scenes);
  const notCompared = scenes.filter((s) => s.verdict === 'inconclusive').map((s) => s.promptId);
  if (verdict === 'pass' && notCompared.length) warnings.push(`${notCompared.length} of ${scenes.length} scenes compared nothing and are not judged: ${notCompared.join(', ')}`);
  const accept = acceptCommand(displayFile, variant);
  const report: CheckReport = {
    schemaVersion: SCHEMA_VERSION,
    experiment: experiment.name,
    variant,
    runId: current.run.id,
    sampleSetId: current.set.manifest.setId,
    goldenSetId: golden.manifest.setId,
    tier,
    tierReason,
    verdict,
    ...(verdict === 'inconclusive'
      ? { inconclusive: whyInconclusive({ tier, images: images.length, golden: goldenScores, current: currentScores, markers: markersOf(experiment), acceptCommand: accept }) }
      : {}),
    images,
    scenes,
    checkedAt: (options.now?.() ?? new Date()).toISOString(),
    tierForced: options.tier !== undefined,
    differences: choice.differences,
    tolerances: flatTolerances(tier, tolerances),
    ...(warnings.length ? { warnings } : {}),
  };
  await writeJsonAtomic(checks.report(variant), report);
  return report;
}

async function resolveCurrentAgainst(golden: Golden, options: CheckRunOptions, variant: string, displayFile: string): Promise<CurrentSet> {
  const { experiment } = options;
  // The spec is compared before looking for samples: a changed spec would otherwise read as "not sampled yet".
  const differences = diffSpecs(golden.manifest.spec, experimentSpec(experiment));
  if (differences.length > 0) {
    const lines = differences.map((d) => `  ${d.field}: golden ${JSON.stringify(d.golden)}, experiment ${JSON.stringify(d.current)}`);
    throw new UsageError(
      `the experiment's samples: settings differ from the goldens of "${variant}" (accepted ${golden.manifest.acceptedAt}), so the images are not comparable:\n${lines.join('\n')}`,
      `restore those settings in ${displayFile}, or sample with the new ones and accept them as goldens (${acceptCommand(displayFile, variant)})`,
    );
  }
  return resolveCurrent({ experiment, storeRoot: options.storeRoot, plan: options.plan, variant, displayFile });
}

/** Every golden image must be there with the bytes that were accepted. */
async function checkGoldenImages(golden: Golden, displayFile: string, variant: string): Promise<void> {
  const problems: string[] = [];
  for (const image of golden.manifest.images) {
    const file = golden.layout.image(image.file);
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (error) {
      problems.push(`${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : (error as Error).message}`);
      continue;
    }
    if (sha256(bytes) !== image.sha256) problems.push(`${file}: changed since it was accepted (sha256 differs from golden.json)`);
  }
  if (problems.length) {
    throw new GoldensError(
      `${problems.length} golden image(s) of "${variant}" missing or damaged:\n${problems.map((p) => `  ${p}`).join('\n')}`,
      `restore them from git (git checkout -- ${golden.layout.dir}) or accept new goldens: ${acceptCommand(displayFile, variant)}`,
    );
  }
}

function requireGoldenScores(golden: Golden, tier: Tier, displayFile: string, variant: string): ScoreReport {
  if (golden.scores) return golden.scores;
  throw new GoldensError(
    `the goldens of "${variant}" have no scores, and the ${tier} tier compares scores and face embeddings`,
    `accept them again with scores (${acceptCommand(displayFile, variant)}), or force pixel comparison with --tier exact`,
  );
}

async function currentScoreReport(current: CurrentSet, experiment: Experiment, options: CheckRunOptions, tier: Tier): Promise<ScoreReport> {
  const file = runLayout(options.storeRoot, experiment.name, current.run.id).scores(current.set.manifest.setId);
  const existing = await readScoreReport(file);
  if (existing) return existing;
  if (options.scoreMissing === false) {
    throw new HarnessError(`sample set ${current.set.manifest.setId} has no scores (${file}), and the ${tier} tier needs them`, {
      exitCode: ExitCode.usage,
      hint: `score it first: harness score ${current.set.dir} --reference ${experiment.referenceDir} --embeddings --out ${file} (or run the check without --no-score)`,
    });
  }
  return scoreSet({
    setDir: current.set.dir,
    files: current.set.manifest.images.map((i) => i.file),
    referenceDir: experiment.referenceDir,
    scoresFile: file,
  });
}

interface PairJudgement extends Judged {
  diff?: RawImage;
}

function comparePair(
  tier: Exclude<Tier, 'statistical'>,
  golden: RawImage,
  current: RawImage,
  tolerances: Tolerances,
  goldenScore: ImageScore | undefined,
  currentScore: ImageScore | undefined,
): PairJudgement {
  if (golden.width !== current.width || golden.height !== current.height) {
    return { verdict: 'regression', metrics: {}, note: `size ${current.width}×${current.height}, the golden is ${golden.width}×${golden.height}` };
  }
  if (tier === 'exact') {
    const pixels = comparePixels(golden, current, { threshold: 0, includeAA: true });
    return { ...judgeExact(pixels, tolerances.exact), diff: pixels.diff };
  }
  const pixels = comparePixels(golden, current, { threshold: tolerances.perceptual.pixel_threshold, includeAA: false });
  const judged = judgePerceptual(
    { mismatchRatio: pixels.mismatchRatio, maxChannelDiff: pixels.maxChannelDiff, ssim: ssim(golden, current), drift: embeddingDrift(goldenScore, currentScore) },
    tolerances.perceptual,
  );
  return { ...judged, diff: pixels.diff };
}


function scoreMetrics(golden: ImageScore | undefined, current: ImageScore | undefined, markers: Marker[]): Record<string, number | null> {
  const metrics: Record<string, number | null> = {};
  for (const marker of markers) {
    metrics[marker] = current?.[marker] ?? null;
    metrics[`${marker}.golden`] = golden?.[marker] ?? null;
  }
  return metrics;
}

function sceneChecks(
  tier: Tier,
  images: ImageCheck[],
  golden: Golden,
  current: CurrentSet,
  goldenScores: Map<string, ImageScore>,
  currentScores: Map<string, ImageScore>,
  markers: Marker[],
  tolerances: Tolerances,
): SceneCheck[] {
  const promptIds = [...new Set(golden.manifest.images.map((i) => i.promptId))];
  if (tier !== 'statistical') {
    return promptIds.map((id) => summarizeScene(id, tier, images.filter((i) => i.promptId === id)));
  }
  const pick = (list: (GoldenImage | SampleImage)[], id: string, scores: Map<string, ImageScore>) =>
    list.filter((i) => i.promptId === id).map((i) => scores.get(i.file)).filter((s): s is ImageScore => s !== undefined);
  return promptIds.map((id) =>
    judgeScene(
      { promptId: id, golden: pick(golden.manifest.images, id, goldenScores), current: pick(current.set.manifest.images, id, currentScores) },
      markers,
      tolerances.statistical,
    ),
  );
}

function flatTolerances(tier: Tier, tolerances: Tolerances): Record<string, number> {
  return { ...tolerances[tier] };
}
