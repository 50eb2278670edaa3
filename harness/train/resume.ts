// Resume selection: the newest *complete* checkpoint of this run's own output folder. Complete means the
// tap reported it (python/train.py writes the checkpoint event only after save_state returned) and its
// files are still all there, non-empty, with a readable LoRA header. A folder cut short by a crash or a
// kill is never resumed from, and never `latest` (the script would pick any stale folder).
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../store/atomic.ts';
import { EVENT_VERSION, readEventLog, type TrainEvent } from './events.ts';
import { readSafetensorsHeader } from './safetensors.ts';

export interface CheckpointInfo {
  step: number;
  dir: string;
}

export const CHECKPOINT_FILES = ['pytorch_lora_weights.safetensors', 'optimizer.bin', 'scheduler.bin', 'random_states_0.pkl'];

export function requiredCheckpointFiles(mixedPrecision: string | undefined): string[] {
  // accelerate adds the gradient scaler only under fp16; it logs a sampler.bin it does not write here.
  return mixedPrecision === 'fp16' ? [...CHECKPOINT_FILES, 'scaler.pt'] : CHECKPOINT_FILES;
}

export async function listCheckpoints(outputDir: string): Promise<CheckpointInfo[]> {
  let names: string[];
  try {
    names = await readdir(outputDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return names
    .map((name) => /^checkpoint-(\d+)$/.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ step: Number(m[1]), dir: path.join(outputDir, m[0]) }))
    .sort((a, b) => a.step - b.step);
}

export async function checkpointProblems(dir: string, required: string[]): Promise<string[]> {
  const problems: string[] = [];
  for (const name of required) {
    const info = await stat(path.join(dir, name)).catch(() => undefined);
    if (!info?.isFile()) problems.push(`${name} missing`);
    else if (info.size === 0) problems.push(`${name} empty`);
  }
  if (problems.length === 0) {
    try {
      await readSafetensorsHeader(path.join(dir, 'pytorch_lora_weights.safetensors'));
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  return problems;
}

export interface ResumeChoice {
  checkpoint: CheckpointInfo | null;
  /** folders passed over, newest first, with why */
  skipped: { step: number; dir: string; why: string }[];
}

export async function chooseResumeCheckpoint(outputDir: string, eventsFile: string, mixedPrecision: string | undefined): Promise<ResumeChoice> {
  const reported = new Set<string>();
  for (const event of (await readEventLog(eventsFile)).checkpoints.values()) reported.add(path.resolve(event.path));
  const required = requiredCheckpointFiles(mixedPrecision);
  const skipped: ResumeChoice['skipped'] = [];
  for (const checkpoint of (await listCheckpoints(outputDir)).reverse()) {
    if (!reported.has(path.resolve(checkpoint.dir))) {
      skipped.push({ ...checkpoint, why: 'never reported complete (the save was cut short)' });
      continue;
    }
    const problems = await checkpointProblems(checkpoint.dir, required);
    if (problems.length) {
      skipped.push({ ...checkpoint, why: problems.join('; ') });
      continue;
    }
    return { checkpoint, skipped };
  }
  return { checkpoint: null, skipped };
}

/**
 * Before an attempt that restarts at `fromStep`, drops every event the new attempt will write again
 * (metrics, checkpoints and saved weights after that step), so the step axis has no duplicates, and
 * appends a resume marker. start/end/resume events of earlier attempts stay as the record of what happened.
 */
export async function rewriteEventsForResume(
  eventsFile: string,
  fromStep: number,
  checkpoint: string | null,
  attempt: number,
  /** whether this resume replays what an uninterrupted run trains (plan/resume-alignment.ts) */
  equivalence: { stepsPerEpoch: number | null; equivalent: boolean | null } = { stepsPerEpoch: null, equivalent: null },
): Promise<number> {
  const text = await readFile(eventsFile, 'utf8').catch(() => '');
  const kept: string[] = [];
  let dropped = 0;
  const lines = text.split('\n');
  if (!text.endsWith('\n')) lines.pop();
  for (const line of lines) {
    if (!line) continue;
    let event: TrainEvent;
    try {
      event = JSON.parse(line) as TrainEvent;
    } catch {
      dropped += 1;
      continue;
    }
    const stepped = event.type === 'metric' || event.type === 'checkpoint' || event.type === 'weights_saved';
    if (stepped && (event as { step: number }).step > fromStep) {
      dropped += 1;
      continue;
    }
    kept.push(line);
  }
  const marker = {
    v: EVENT_VERSION,
    type: 'resume',
    t: Date.now() / 1000,
    from_step: fromStep,
    checkpoint,
    dropped,
    attempt,
    steps_per_epoch: equivalence.stepsPerEpoch,
    equivalent: equivalence.equivalent,
  };
  kept.push(JSON.stringify(marker));
  await writeFileAtomic(eventsFile, `${kept.join('\n')}\n`);
  return dropped;
}
