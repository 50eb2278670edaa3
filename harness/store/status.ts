// The state of one run, in `status.json`. A stage is done only once its outputs are complete.
import { stat } from 'node:fs/promises';
import { readJson, writeJsonAtomic } from './atomic.ts';
import type { RunLayout } from './layout.ts';

export const RUN_STATES = ['planned', 'training', 'trained', 'sampling', 'sampled', 'scoring', 'done', 'failed'] as const;
export type RunState = (typeof RUN_STATES)[number];

export const FAILURE_REASONS = ['oom', 'nan_loss', 'crashed', 'interrupted', 'invalid_weights', 'preflight', 'sampling_failed', 'scoring_failed'] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

/** The pipeline's stages; each keeps its own outcome (a failed sampling never undoes a finished training). */
export const STAGES = ['train', 'sample', 'score'] as const;
export type Stage = (typeof STAGES)[number];
export type StageOutcome = 'done' | 'failed';

export interface RunStatus {
  schemaVersion: number;
  runId: string;
  variant: string;
  state: RunState;
  reason?: FailureReason;
  message?: string;
  /** last lines of train.log when training failed */
  logTail?: string[];
  exitCode?: number | null;
  signal?: string | null;
  updatedAt: string;
  /** ISO times at which each state was entered */
  history: { state: RunState; at: string; reason?: FailureReason }[];
  /** each stage's own outcome, replayed from the history: `state` says where the run is, this what it has */
  stages?: Partial<Record<Stage, StageOutcome>>;
}

export async function readStatus(file: string): Promise<RunStatus | undefined> {
  return readJson<RunStatus>(file);
}

export async function setStatus(
  file: string,
  base: { runId: string; variant: string },
  state: RunState,
  extra: Partial<Pick<RunStatus, 'reason' | 'message' | 'logTail' | 'exitCode' | 'signal'>> = {},
  now = new Date(),
): Promise<RunStatus> {
  const previous = await readStatus(file);
  const at = now.toISOString();
  const history = [...(previous?.history ?? []), { state, at, ...(extra.reason ? { reason: extra.reason } : {}) }];
  const status: RunStatus = {
    schemaVersion: 1,
    runId: base.runId,
    variant: base.variant,
    state,
    ...extra,
    updatedAt: at,
    history,
    stages: stagesOf(history),
  };
  await writeJsonAtomic(file, status);
  return status;
}

const STAGE_OF: Partial<Record<RunState, Stage>> = { training: 'train', sampling: 'sample', scoring: 'score' };
const DONE_BY: Partial<Record<RunState, Stage>> = { trained: 'train', sampled: 'sample', done: 'score' };

/**
 * Each stage's outcome, replayed from the states a run went through. Starting a stage clears its outcome
 * and those after it (new weights make old samples stale); `failed` belongs to the stage that was running.
 * Pure, and it reads status files written before `stages` existed the same way.
 */
export function stagesOf(history: readonly { state: RunState }[]): Partial<Record<Stage, StageOutcome>> {
  const stages: Partial<Record<Stage, StageOutcome>> = {};
  let running: Stage = 'train';
  for (const { state } of history) {
    const starting = STAGE_OF[state];
    const finished = DONE_BY[state];
    if (starting) {
      running = starting;
      for (const stage of STAGES.slice(STAGES.indexOf(starting))) delete stages[stage];
    } else if (finished) {
      stages[finished] = 'done';
      // `sampled` after an interrupted scoring: scoring is open again, sampling stays done
      for (const stage of STAGES.slice(STAGES.indexOf(finished) + 1)) delete stages[stage];
      running = STAGES[STAGES.indexOf(finished) + 1] ?? finished;
    } else if (state === 'failed') {
      stages[running] = 'failed';
    }
  }
  return stages;
}

const STAGE_DONE: Record<Stage, string> = { train: 'trained', sample: 'sampled', score: 'scored' };

/** The stages that finished well, as words in stage order ("trained", "sampled", "scored"): what a failed run still has. */
export function finishedStages(stages: Partial<Record<Stage, StageOutcome>>): string[] {
  return STAGES.filter((stage) => stages[stage] === 'done').map((stage) => STAGE_DONE[stage]);
}

/** Training finished and was not started again since: the weights are there to sample and score. */
export function trainingDone(status: Pick<RunStatus, 'history'> | undefined): boolean {
  return status !== undefined && stagesOf(status.history ?? []).train === 'done';
}

/**
 * Training is a stage of its own: once it finished, a later stage failing (sampling interrupted, scoring
 * refused) leaves it finished, so a rerun goes on from that stage instead of starting the trainer again
 * (a second load of the model, and rewritten weights that would change every sample set's id). Only the
 * weights file going missing sends a trained run back to training.
 */
export async function finishedTraining(status: RunStatus | undefined, layout: Pick<RunLayout, 'weights'>): Promise<boolean> {
  if (!trainingDone(status)) return false;
  return stat(layout.weights).then((s) => s.isFile(), () => false);
}
