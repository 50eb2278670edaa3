// `harness sync` for one run: bring the ledger up to date with the store, then ship everything W&B
// has not acknowledged. Offsets make it idempotent: a second sync sends nothing new.
import { configFrom } from './derive.ts';
import { identityFor } from './identity.ts';
import { Ledger, readEnvInfo, readRunStatus, readSpec } from './local.ts';
import type { TrackingTarget } from './mode.ts';
import { pendingFromStore } from './replay.ts';
import { attachState, readWandbState, syncState, writeWandbState, type RunSyncState } from './state.ts';
import type { WandbClient } from './wandb/client.ts';
import { ship, type ShipResult } from './wandb/ship.ts';

export interface SyncRunInput {
  runDir: string;
  client: WandbClient;
  target: TrackingTarget;
  /** absolute deadline (client clock) for this run's requests */
  deadline: number;
  signal?: AbortSignal;
}

export interface RunSyncResult extends ShipResult {
  runId: string;
  name: string | null;
  skipped?: string;
  error?: string;
  after: RunSyncState | null;
}

const EMPTY: ShipResult = { historySent: 0, filesUploaded: 0, summarySent: false, completed: false };

/**
 * The exit status to report for a run no process holds (the caller skips locked runs): done → 0,
 * failed → its code; a run left trained or sampled (`run --until`, an interrupted scoring) ended its last
 * stage well → 0; a run left mid-stage belongs to a process that died → 1. A later `harness run`
 * resumes it, and W&B with it.
 */
async function exitCodeOf(runDir: string): Promise<number | null> {
  const status = await readRunStatus(runDir);
  if (!status) return null;
  if (status.state === 'failed') return typeof status.exitCode === 'number' && status.exitCode !== 0 ? status.exitCode : 1;
  if (status.state === 'done' || status.state === 'trained' || status.state === 'sampled') return 0;
  if (status.state === 'training' || status.state === 'sampling' || status.state === 'scoring') return 1;
  return null;
}

export async function syncRun(input: SyncRunInput): Promise<RunSyncResult> {
  const { runDir, target } = input;
  const spec = await readSpec(runDir);
  const runId = runDir.split(/[\\/]/).filter(Boolean).pop() ?? runDir;
  if (!spec) return { ...EMPTY, runId, name: null, skipped: 'no spec.json', after: null };
  const ledger = await Ledger.open(runDir);
  await ledger.append((await pendingFromStore(runDir, ledger.lines)).lines);
  const envInfo = await readEnvInfo(runDir);
  const existing = await readWandbState(runDir);
  // The name (and sweep) the live mirror chose wins: a sweep trial stays the trial it was.
  const derived = identityFor({ spec, envInfo, target, env: {} });
  const identity = existing && existing.run.project === derived.project ? { ...derived, name: existing.run.name, sweep: existing.run.sweep, group: existing.run.group } : derived;
  const state = attachState(existing, identity, target.baseUrl, existing?.mode ?? 'offline');
  if (!state.finished) {
    const exitCode = await exitCodeOf(runDir);
    if (exitCode !== null) state.finished = { exitCode, at: new Date().toISOString() };
  }
  const save = () => writeWandbState(runDir, state);
  let result: ShipResult = EMPTY;
  let error: string | undefined;
  try {
    result = await ship({
      runDir,
      client: input.client,
      ledger: ledger.lines,
      config: configFrom(spec, envInfo),
      state,
      save,
      send: { deadline: input.deadline, ...(input.signal ? { signal: input.signal } : {}) },
      complete: true,
    });
    state.lastError = null;
  } catch (caught) {
    error = (caught as Error).message;
    state.lastError = { message: error, at: new Date().toISOString() };
  }
  await save();
  return { ...result, runId: spec.id, name: state.run.name, ...(error ? { error } : {}), after: await syncState(runDir) };
}
