// Goldens on disk: `<goldensDir>/<variant>/golden.json` + set.json + scores.json + images/.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { SampleImage, SampleSetManifest, SamplingSpec } from '../samples/types.ts';
import type { ScoreReport } from '../scoring/types.ts';
import { goldenLayout } from '../store/layout.ts';
import { didYouMean } from '../util/suggest.ts';
import { GoldensError } from './errors.ts';
import type { EnvFingerprint } from './fingerprint.ts';

export const GOLDEN_SCHEMA_VERSION = 1;

/** An accepted sample image, as its set listed it; `file` is its name inside the golden's images/. */
export type GoldenImage = SampleImage;

export interface GoldenManifest {
  schemaVersion: number;
  experiment: string;
  variant: string;
  runId: string | null;
  setId: string;
  acceptedAt: string;
  spec: SamplingSpec;
  fingerprint: EnvFingerprint;
  images: GoldenImage[];
  /** scores.json beside golden.json; null when the set had no scores when it was accepted */
  scores: { file: string; scorerVersion: string } | null;
}

export interface Golden {
  layout: ReturnType<typeof goldenLayout>;
  manifest: GoldenManifest;
  set: SampleSetManifest | null;
  scores: ScoreReport | null;
}

/** The command that accepts a variant's current samples as its goldens. */
export function acceptCommand(experimentFile: string, variant: string): string {
  return `harness check ${experimentFile} --accept${variant === 'baseline' ? '' : ` --variant ${variant}`}`;
}

function acceptHint(experimentFile: string, variant: string): string {
  return `accept the current samples as goldens: ${acceptCommand(experimentFile, variant)}`;
}

/** Reads and checks a golden's files; every way it can be absent or damaged is a GoldensError (exit 2). */
export async function readGolden(goldensDir: string, variant: string, experimentFile: string): Promise<Golden> {
  const layout = goldenLayout(goldensDir, variant);
  let text: string;
  try {
    text = await readFile(layout.manifest, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new GoldensError(`cannot read ${layout.manifest}: ${(error as Error).message}`);
    const others = await goldenVariants(goldensDir);
    const where = others.length ? ` (goldens exist for: ${others.join(', ')}${didYouMean(variant, others)})` : '';
    throw new GoldensError(`no goldens for variant "${variant}": ${layout.manifest} not found${where}`, acceptHint(experimentFile, variant));
  }
  const manifest = parseManifest(text, layout.manifest, experimentFile, variant);
  const set = await readOptionalJson<SampleSetManifest>(layout.set);
  let scores: ScoreReport | null = null;
  if (manifest.scores) {
    const file = path.join(layout.dir, path.basename(manifest.scores.file));
    const report = await readOptionalJson<ScoreReport>(file).catch((error: Error) => {
      throw new GoldensError(`golden scores unreadable: ${error.message}`, acceptHint(experimentFile, variant));
    });
    if (!report || !Array.isArray(report.images)) {
      throw new GoldensError(`golden scores missing or malformed: ${file} (golden.json names it)`, acceptHint(experimentFile, variant));
    }
    scores = report;
  }
  return { layout, manifest, set, scores };
}

function parseManifest(text: string, file: string, experimentFile: string, variant: string): GoldenManifest {
  let value: Partial<GoldenManifest>;
  try {
    value = JSON.parse(text) as Partial<GoldenManifest>;
  } catch (error) {
    throw new GoldensError(`${file} is not valid JSON: ${(error as Error).message}`, `restore it from git or ${acceptHint(experimentFile, variant)}`);
  }
  const problems: string[] = [];
  if (typeof value.schemaVersion !== 'number') problems.push('schemaVersion');
  else if (value.schemaVersion > GOLDEN_SCHEMA_VERSION) {
    throw new GoldensError(`${file} has schemaVersion ${value.schemaVersion}; this harness reads up to ${GOLDEN_SCHEMA_VERSION}`, 'upgrade harness');
  }
  if (!Array.isArray(value.images)) problems.push('images');
  if (!value.spec || !Array.isArray(value.spec.prompts)) problems.push('spec');
  if (!value.fingerprint || typeof value.fingerprint !== 'object') problems.push('fingerprint');
  if (typeof value.setId !== 'string') problems.push('setId');
  if (problems.length) throw new GoldensError(`${file} is malformed (missing or wrong: ${problems.join(', ')})`, `restore it from git or ${acceptHint(experimentFile, variant)}`);
  return value as GoldenManifest;
}

async function readOptionalJson<T>(file: string): Promise<T | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new Error(`${file} is not valid JSON: ${(error as Error).message}`);
  }
}

export async function goldenVariants(goldensDir: string): Promise<string[]> {
  try {
    const entries = await readdir(goldensDir, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
  } catch {
    return [];
  }
}
