// Which LoRA files a run has: the final weights and its complete `checkpoint-N/` folders, with their sha256.
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { LORA_WEIGHTS_FILE, runLayout } from '../store/layout.ts';
import { sha256File } from '../util/hash.ts';
import type { WeightsRef } from './types.ts';

/**
 * accelerate's save_state writes the LoRA first (save hook), then optimizer, scheduler and, last, the
 * random states (reference §3 and §9): a folder with all of them is complete. `sampler.bin` is not
 * required: accelerate does not write it for this dataset.
 */
const CHECKPOINT_FILES = [LORA_WEIGHTS_FILE, 'optimizer.bin', 'scheduler.bin', 'random_states_0.pkl'];

export async function completeCheckpointSteps(outputDir: string): Promise<number[]> {
  let entries;
  try {
    entries = await readdir(outputDir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const steps: number[] = [];
  for (const entry of entries) {
    const match = /^checkpoint-(\d+)$/.exec(entry.name);
    if (!entry.isDirectory() || !match) continue;
    if (await isCompleteCheckpoint(path.join(outputDir, entry.name))) steps.push(Number(match[1]));
  }
  return steps.sort((a, b) => a - b);
}

export async function isCompleteCheckpoint(dir: string): Promise<boolean> {
  for (const name of CHECKPOINT_FILES) {
    const info = await stat(path.join(dir, name)).catch(() => undefined);
    if (!info?.isFile() || (name === LORA_WEIGHTS_FILE && info.size === 0)) return false;
  }
  return true;
}

export type WeightsWanted = { kind: 'final' } | { kind: 'checkpoint'; step: number } | { kind: 'control' };

/** The weights' path and sha256, or why they cannot be sampled yet. */
export async function resolveWeights(
  storeRoot: string,
  experiment: string,
  runId: string,
  wanted: Exclude<WeightsWanted, { kind: 'control' }>,
): Promise<WeightsRef | { missing: string }> {
  const layout = runLayout(storeRoot, experiment, runId);
  if (wanted.kind === 'final') {
    const info = await stat(layout.weights).catch(() => undefined);
    if (!info?.isFile() || info.size === 0) return { missing: `no final weights at ${layout.weights}` };
    return { kind: 'final', path: layout.weights, sha256: await sha256File(layout.weights) };
  }
  const dir = layout.checkpoint(wanted.step);
  if (!(await isCompleteCheckpoint(dir))) return { missing: `no complete checkpoint-${wanted.step} in ${layout.output}` };
  const file = path.join(dir, LORA_WEIGHTS_FILE);
  return { kind: 'checkpoint', step: wanted.step, path: file, sha256: await sha256File(file) };
}
