// `harness status`: every planned run with its state in the store, plus store runs no longer planned.
import { resumeEquivalence, resumePhrase } from '../plan/resume-alignment.ts';
import { readJsonLines } from '../store/atomic.ts';
import { readLock, isStale, type LockInfo } from '../store/lock.ts';
import { runLayout } from '../store/layout.ts';
import { readStatus, stagesOf, type FailureReason, type RunState, type Stage, type StageOutcome } from '../store/status.ts';
import { syncState } from '../tracking/state.ts';
import { loadTrainedContext, type ContextOptions } from './context.ts';
import { storedRunIds } from '../store/runs.ts';

export interface RunStatusRow {
  id: string;
  variant: string;
  planned: boolean;
  state: RunState;
  reason?: FailureReason;
  message?: string;
  /** resumed runs: from which steps, and whether that is what an uninterrupted run trains (null: never resumed) */
  resume: (ReturnType<typeof resumeEquivalence> & { summary: string }) | null;
  /** each stage's own outcome: a run that failed in sampling is still trained */
  stages: Partial<Record<Stage, StageOutcome>>;
  updatedAt?: string;
  lock?: { pid: number; host: string; stale: boolean; heartbeatAt: string };
  /** W&B mirror: synced, pending (what `harness sync` would send) or not tracked */
  sync: { label: string; pendingRows: number; pendingFiles: number; lastError: string | null };
}

/** A run's state as shown: the stored state, except that a run stopped by Ctrl-C or SIGTERM is "interrupted", not "failed". */
export type ShownState = RunState | 'interrupted';

export interface StatusResult {
  schemaVersion: number;
  experiment: string;
  storeRoot: string;
  runs: RunStatusRow[];
  counts: Partial<Record<ShownState, number>>;
  warnings: string[];
}

export async function status(options: ContextOptions): Promise<StatusResult> {
  const { plan, storeWarnings: warnings } = await loadTrainedContext(options);
  const rows: RunStatusRow[] = [];
  const plannedIds = new Set(plan.runs.map((r) => r.id));
  for (const run of plan.runs) rows.push(await rowFor(plan.storeRoot, plan.experiment, run.id, run.variant, true));
  for (const id of await storedRunIds(plan.storeRoot, plan.experiment)) {
    if (plannedIds.has(id)) continue;
    const stored = await readStatus(runLayout(plan.storeRoot, plan.experiment, id).status);
    rows.push(await rowFor(plan.storeRoot, plan.experiment, id, stored?.variant ?? id.replace(/-[0-9a-f]{8}$/, ''), false));
  }
  const counts: Partial<Record<ShownState, number>> = {};
  for (const row of rows.filter((r) => r.planned)) {
    const shown = shownState(row);
    counts[shown] = (counts[shown] ?? 0) + 1;
  }
  return { schemaVersion: 1, experiment: plan.experiment, storeRoot: plan.storeRoot, runs: rows, counts, warnings };
}

export function shownState(row: Pick<RunStatusRow, 'state' | 'reason'>): ShownState {
  return row.state === 'failed' && row.reason === 'interrupted' ? 'interrupted' : row.state;
}

async function rowFor(storeRoot: string, experiment: string, id: string, variant: string, planned: boolean): Promise<RunStatusRow> {
  const layout = runLayout(storeRoot, experiment, id);
  const stored = await readStatus(layout.status);
  const lock = await readLock(layout.lock);
  const sync = await syncState(layout.dir);
  return {
    id,
    variant,
    planned,
    state: stored?.state ?? 'planned',
    ...(stored?.reason ? { reason: stored.reason } : {}),
    ...(stored?.message ? { message: stored.message } : {}),
    stages: stagesOf(stored?.history ?? []),
    resume: await resumeOf(layout.events),
    ...(stored?.updatedAt ? { updatedAt: stored.updatedAt } : {}),
    ...(lock ? { lock: lockSummary(lock) } : {}),
    sync: { label: sync.label, pendingRows: sync.history.pending, pendingFiles: sync.files.pending, lastError: sync.lastError },
  };
}

async function resumeOf(eventsFile: string): Promise<RunStatusRow['resume']> {
  const events = await readJsonLines<{ type: string }>(eventsFile).catch(() => []);
  const record = resumeEquivalence(events);
  return record.resumes.length ? { ...record, summary: resumePhrase(record) } : null;
}

function lockSummary(lock: LockInfo) {
  return { pid: lock.pid, host: lock.host, stale: isStale(lock), heartbeatAt: lock.heartbeatAt };
}
