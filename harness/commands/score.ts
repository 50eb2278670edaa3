// `harness score <images> --reference <dir>`: identity and marker scores of any folder of images.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { InterruptedError, UsageError } from '../errors.ts';
import { untilAborted } from '../util/abort.ts';
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
  /** each reference photo read, before the images (the references are scored first, for the ceilings) */
  onReference?: (progress: { done: number; total: number; file: string }) => void;
  signal?: AbortSignal;
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
  const images = await listImages(imagesDir);
  if (images.length === 0) {
    throw new UsageError(`${options.images} has no PNG, JPEG or WebP images`, 'point harness score at the folder the images were written to');
  }
  if (options.workers !== undefined && !(Number.isInteger(options.workers) && options.workers > 0)) {
    throw new UsageError(`--workers must be a positive whole number, got ${options.workers}`);
  }
  // what has been done when Ctrl-C comes: the reference photos first, then the images
  const progress = { phase: 'reference' as 'reference' | 'images', done: 0, total: (await listImages(referenceDir)).length };
  const interrupted = () =>
    new InterruptedError(
      `scoring interrupted after ${progress.done} of ${progress.total} ${progress.phase === 'reference' ? 'reference photos' : 'images'}`,
      options.cache ? 'run the same command again: images already scored come from the --cache folder' : 'run the same command again (add --cache DIR to keep finished images next time)',
    );
  // from the cores and the free memory unless given: a worker holds about WORKER_MEMORY_MB
  const workers = options.workers ?? defaultWorkers();
  const scorerPromise = createScorer({
    referenceDir,
    embeddings: options.embeddings ?? false,
    ...(options.cache ? { cacheDir: path.resolve(options.cwd, options.cache) } : {}),
    workers,
    onImage: (file) => {
      progress.done += 1;
      if (progress.phase === 'reference') options.onReference?.({ done: progress.done, total: progress.total, file: path.basename(file) });
    },
  });
  // interrupted while the references are read: the worker threads go with the process (main exits on 130)
  const scorer = await untilAborted(scorerPromise, options.signal, interrupted);
  Object.assign(progress, { phase: 'images', done: 0, total: images.length });
  try {
    const total = images.length;
    options.onProgress?.({ done: 0, total, workers });
    const report = await untilAborted(
      scorer.scoreDir(imagesDir, { ...(options.onProgress ? { onProgress: (done) => options.onProgress!({ done, total, workers }) } : {}) }),
      options.signal,
      interrupted,
    );
    const out = options.out ? path.resolve(options.cwd, options.out) : null;
    if (out) await writeFileAtomic(out, `${JSON.stringify(report, null, 2)}\n`);
    return { report, out, unreadable: report.images.filter((i) => i.error).map((i) => i.file) };
  } finally {
    await scorer.close();
  }
}
