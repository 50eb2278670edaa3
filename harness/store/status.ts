// The state of one run, in `status.json`. A stage is done only once its outputs are complete.
import { readJson, writeJsonAtomic } from './atomic.ts';

export const RUN_STATES = ['planned', 'training', 'trained', 'sampling', 'sampled', 'scoring', 'done', 'failed'] as const;
export type RunState = (typeof RUN_STATES)[number];

export const FAILURE_REASONS = ['oom', 'nan_loss', 'crashed', 'interrupted', 'invalid_weights', 'preflight', 'sampling_failed', 'scoring_failed'] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

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
  const status: RunStatus = {
    schemaVersion: 1,
    runId: base.runId,
    variant: base.variant,
    state,
    ...extra,
    updatedAt: at,
    history: [...(previous?.history ?? []), { state, at, ...(extra.reason ? { reason: extra.reason } : {}) }],
  };
  await writeJsonAtomic(file, status);
  return status;
}
