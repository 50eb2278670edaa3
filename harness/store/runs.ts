// Which runs a store holds for an experiment (folders named by run id; `_control`, `_checks`, … are not runs).
import { readdir } from 'node:fs/promises';
import { experimentDir } from './layout.ts';

export async function storedRunIds(storeRoot: string, experiment: string): Promise<string[]> {
  try {
    const entries = await readdir(experimentDir(storeRoot, experiment), { withFileTypes: true });
    return entries.filter((e) => e.isDirectory() && !e.name.startsWith('_') && !e.name.startsWith('.')).map((e) => e.name).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}
