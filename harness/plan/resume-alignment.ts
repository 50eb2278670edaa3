// Pure: when a resumed run is what an uninterrupted one would be. The diffusers script restarts the epoch of
// the checkpoint it resumes from without skipping the batches that epoch already saw (`first_epoch =
// global_step // num_update_steps_per_epoch`, then the loop starts that epoch from its first batch), so only
// a resume from an epoch boundary is bit-identical to an uninterrupted run (measured on the real stack:
// reference/real-stack-cpu.md). Steps per epoch are the script's own `num_update_steps_per_epoch`:
// ceil(len(train_dataloader) / gradient_accumulation_steps), len(train_dataloader) being ceil(images ×
// repeats / train_batch_size), split across processes by accelerate.
import type { TrainingSettings } from '../config/schema.ts';
import type { StepEstimate } from './planner.ts';

export function stepsPerEpoch(steps: Pick<StepEstimate, 'batchesPerEpoch'>, settings: TrainingSettings, processes = 1): number {
  const accumulation = Math.max(1, Number(settings.gradient_accumulation_steps ?? 1));
  return Math.ceil(Math.ceil(steps.batchesPerEpoch / Math.max(1, processes)) / accumulation);
}

/** A resume from `step` (0: a fresh start) replays exactly what an uninterrupted run trains. */
export function resumeIsEquivalent(step: number, perEpoch: number): boolean {
  return step % perEpoch === 0;
}

export interface Misalignment {
  checkpointingSteps: number;
  stepsPerEpoch: number;
  images: number;
  /** the nearest epoch-aligned values: the multiples of stepsPerEpoch around checkpointingSteps */
  aligned: number[];
}

/**
 * null when every checkpoint the run writes lies on an epoch boundary (or none is written before the end),
 * else the values that would be aligned. Unknown dataset size (no dataset found): null, nothing to say.
 */
export function checkpointMisalignment(settings: TrainingSettings, steps: StepEstimate | null, processes = 1): Misalignment | null {
  if (!steps) return null;
  const every = Number(settings.checkpointing_steps);
  if (!Number.isInteger(every) || every <= 0 || every >= steps.maxTrainSteps) return null;
  const perEpoch = stepsPerEpoch(steps, settings, processes);
  if (every % perEpoch === 0) return null;
  const lower = Math.floor(every / perEpoch) * perEpoch;
  const upper = lower + perEpoch;
  return { checkpointingSteps: every, stepsPerEpoch: perEpoch, images: steps.images, aligned: [lower, upper].filter((v) => v > 0 && v < steps.maxTrainSteps) };
}

export function misalignmentMessage(m: Misalignment, settings: TrainingSettings, runs: string[]): string {
  const how = `${m.images} images, batch ${settings.train_batch_size}${Number(settings.gradient_accumulation_steps ?? 1) > 1 ? `, gradient accumulation ${settings.gradient_accumulation_steps}` : ''}`;
  const instead = m.aligned.length ? `; ${m.aligned.join(' or ')} would be epoch-aligned` : `; no checkpoint before the end would be (an epoch is ${m.stepsPerEpoch} steps)`;
  return (
    `checkpointing_steps ${m.checkpointingSteps} is not a multiple of the ${m.stepsPerEpoch} steps per epoch (${how}) of ${runs.join(', ')}: ` +
    `the script restarts an epoch on resume without skipping the batches it already saw, so a run resumed from checkpoint-${m.checkpointingSteps} ` +
    `is not what an uninterrupted run trains${instead}`
  );
}

export interface ResumeRecord {
  fromStep: number;
  stepsPerEpoch: number | null;
  /** null: the harness that resumed it did not record it */
  equivalent: boolean | null;
}

/**
 * Whether the final weights are those of an uninterrupted run, from the resume markers in events.jsonl.
 * A resume from step s discards whatever happened after s, so earlier resumes from s or later stop
 * counting; the run is equivalent when every resume left standing was from an epoch boundary.
 */
export function resumeEquivalence(events: readonly { type: string; from_step?: unknown; equivalent?: unknown; steps_per_epoch?: unknown }[]): {
  resumes: ResumeRecord[];
  equivalent: boolean | null;
} {
  let standing: ResumeRecord[] = [];
  for (const event of events) {
    if (event.type !== 'resume' || typeof event.from_step !== 'number') continue;
    const fromStep = event.from_step;
    standing = standing.filter((r) => r.fromStep < fromStep);
    if (fromStep === 0) continue; // a fresh start from step 0 is an uninterrupted run
    standing.push({
      fromStep,
      stepsPerEpoch: typeof event.steps_per_epoch === 'number' ? event.steps_per_epoch : null,
      equivalent: typeof event.equivalent === 'boolean' ? event.equivalent : null,
    });
  }
  if (standing.length === 0) return { resumes: [], equivalent: true };
  const equivalent = standing.some((r) => r.equivalent === false) ? false : standing.every((r) => r.equivalent === true) ? true : null;
  return { resumes: standing, equivalent };
}

/** For status and the report: one phrase. Empty for a run that was never resumed. */
export function resumePhrase(record: ReturnType<typeof resumeEquivalence>): string {
  if (record.resumes.length === 0) return '';
  const from = record.resumes.map((r) => r.fromStep).join(', ');
  if (record.equivalent === true) return `resumed from step ${from} (epoch-aligned: as an uninterrupted run)`;
  if (record.equivalent === false) {
    const off = record.resumes.filter((r) => r.equivalent === false).map((r) => `${r.fromStep}${r.stepsPerEpoch ? ` of ${r.stepsPerEpoch}-step epochs` : ''}`);
    return `resumed mid-epoch (step ${off.join(', ')}): not what an uninterrupted run trains`;
  }
  return `resumed from step ${from} (equivalence not recorded)`;
}
