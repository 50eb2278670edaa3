// `harness score <images> --reference <dir>`: identity and marker scores of any folder of images.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../errors.ts';
import { createScorer, listImages } from '../scoring/index.ts';
import type { ScoreReport } from '../scoring/types.ts';
import { writeFileAtomic } from '../store/atomic.ts';

export interface ScoreOptions {
  images: string;
  reference: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** also write the JSON report here */
  out?: string;
  /** feature cache folder (by image sha256 + scorer version) */
  cache?: string;
  workers?: number;
  embeddings?: boolean;
}

export interface ScoreResult {
  report: ScoreReport;
  out: string | null;
  /** images that could not be read, by name */
  unreadable: string[];
}

async function requireDir(dir: string, flag: string): Promise<void> {
  const info = await stat(dir).catch(() => null);
  if (!info?.isDirectory()) throw new UsageError(`${flag}: ${dir} is not a folder`, 'pass a folder of PNG, JPEG or WebP images');
}

export async function score(options: ScoreOptions): Promise<ScoreResult> {
  const imagesDir = path.resolve(options.cwd, options.images);
  const referenceDir = path.resolve(options.cwd, options.reference);
  await requireDir(imagesDir, '<images-dir>');
  await requireDir(referenceDir, '--reference');
  if ((await listImages(imagesDir)).length === 0) {
    throw new UsageError(`${options.images} has no PNG, JPEG or WebP images`, 'point harness score at the folder the images were written to');
  }
  if (options.workers !== undefined && !(Number.isInteger(options.workers) && options.workers > 0)) {
    throw new UsageError(`--workers must be a positive whole number, got ${options.workers}`);
  }
  const scorer = await createScorer({
    referenceDir,
    embeddings: options.embeddings ?? false,
    ...(options.cache ? { cacheDir: path.resolve(options.cwd, options.cache) } : {}),
    ...(options.workers ? { workers: options.workers } : {}),
  });
  try {
    const report = await scorer.scoreDir(imagesDir);
    const out = options.out ? path.resolve(options.cwd, options.out) : null;
    if (out) await writeFileAtomic(out, `${JSON.stringify(report, null, 2)}\n`);
    return { report, out, unreadable: report.images.filter((i) => i.error).map((i) => i.file) };
  } finally {
    await scorer.close();
  }
}
