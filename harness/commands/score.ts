// `harness score <images> --reference <dir>`: identity and marker scores of any folder of images.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../errors.ts';
import { createScorer, listImages } from '../scoring/index.ts';
import { defaultWorkers } from '../scoring/pool.ts';
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
  /** images of the folder scored so far (0 when scoring starts, after the models and the references) */
  onProgress?: (progress: ScoreProgress) => void;
}

export interface ScoreProgress {
  done: number;
  total: number;
  workers: number;
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
  // from the cores and the free memory unless given: a worker holds about WORKER_MEMORY_MB
  const workers = options.workers ?? defaultWorkers();
  const scorer = await createScorer({
    referenceDir,
    embeddings: options.embeddings ?? false,
    ...(options.cache ? { cacheDir: path.resolve(options.cwd, options.cache) } : {}),
    workers,
  });
  try {
    const total = (await listImages(imagesDir)).length;
    options.onProgress?.({ done: 0, total, workers });
    const report = await scorer.scoreDir(imagesDir, { ...(options.onProgress ? { onProgress: (done) => options.onProgress!({ done, total, workers }) } : {}) });
    const out = options.out ? path.resolve(options.cwd, options.out) : null;
    if (out) await writeFileAtomic(out, `${JSON.stringify(report, null, 2)}\n`);
    return { report, out, unreadable: report.images.filter((i) => i.error).map((i) => i.file) };
  } finally {
    await scorer.close();
  }
}
