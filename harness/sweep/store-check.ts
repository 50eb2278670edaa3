// Before any work: the store must be writable and have room, or the sweep stops with a clear error
// instead of failing halfway through a run (a finished run is never touched by this check).
import { mkdir, rm, statfs, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../errors.ts';

export const DEFAULT_MIN_FREE_MB = 2048;

export async function ensureStoreUsable(dir: string, minFreeMb = DEFAULT_MIN_FREE_MB): Promise<{ freeMb: number }> {
  try {
    await mkdir(dir, { recursive: true });
    const probe = path.join(dir, `.write-probe-${process.pid}`);
    await writeFile(probe, 'ok');
    await rm(probe, { force: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new UsageError(
      `the run store ${dir} is not writable (${code})`,
      code === 'ENOSPC' ? 'free some space on that disk, or point --store elsewhere' : 'point --store (or HARNESS_STORE) at a folder you can write, e.g. a mounted Drive folder',
    );
  }
  const stats = await statfs(dir);
  const freeMb = Math.floor((Number(stats.bavail) * Number(stats.bsize)) / (1024 * 1024));
  if (freeMb < minFreeMb) {
    throw new UsageError(
      `only ${freeMb} MiB free under ${dir}; a run needs about ${minFreeMb} MiB (checkpoints, samples)`,
      'free space or point --store elsewhere; HARNESS_MIN_FREE_MB sets the threshold',
    );
  }
  return { freeMb };
}
