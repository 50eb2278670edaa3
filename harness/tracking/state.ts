// Per-run W&B sync state (`tracking/wandb.json`): which W&B run this is and what the server has
// acknowledged. Never holds the key. `syncState()` is what `harness status` shows.
import { readJson, writeJsonAtomic } from '../store/atomic.ts';
import { trackingFiles } from '../store/layout.ts';
import { hashObject } from '../util/hash.ts';
import { summaryFrom } from './derive.ts';
import { Ledger, readRunStatus, runEndSeconds } from './local.ts';
import type { TrackingMode } from './mode.ts';
import { pendingFromStore } from './replay.ts';
import type { LedgerLine, TrackedRunIdentity } from './types.ts';

export function summaryHash(lines: LedgerLine[], endT: number | null): string {
  return hashObject(summaryFrom(lines, endT));
}

export interface WandbSyncState {
  schemaVersion: number;
  /** the W&B API it was sent to; another server starts from zero */
  server: string;
  run: TrackedRunIdentity;
  /** mode of the last live mirror */
  mode: TrackingMode;
  /** the entity the server put the run in (may differ from run.entity when that was empty) */
  entity: string | null;
  /** hash of the run identity + config the server acknowledged; a change means upsert again */
  upserted: string | null;
  /** history lines acknowledged: the file_stream offset of the next line */
  historyAcked: number;
  /** hash of the summary the server acknowledged */
  summaryAcked: string | null;
  /** media paths uploaded */
  uploaded: string[];
  /** run files uploaded (wandb-metadata.json, requirements.txt, config.yaml, output.log, wandb-summary.json): name → sha256 */
  runFiles?: Record<string, string>;
  /** files uploaded but not yet named in a file_stream `uploaded` list the server acknowledged */
  unannounced?: string[];
  /** the run's exit status, recorded locally when it finished */
  finished: { exitCode: number; at: string } | null;
  /** `complete` acknowledged by the server */
  completed: { exitCode: number; at: string } | null;
  lastError: { message: string; at: string } | null;
  updatedAt: string;
}

export async function readWandbState(runDir: string): Promise<WandbSyncState | undefined> {
  return readJson<WandbSyncState>(trackingFiles(runDir).wandb).catch(() => undefined);
}

export async function writeWandbState(runDir: string, state: WandbSyncState): Promise<void> {
  state.updatedAt = new Date().toISOString();
  const { schemaVersion: _v, ...rest } = state;
  await writeJsonAtomic(trackingFiles(runDir).wandb, rest);
}

/** Keeps what the server acknowledged when it is the same run on the same server; else starts over. */
export function attachState(existing: WandbSyncState | undefined, run: TrackedRunIdentity, server: string, mode: TrackingMode): WandbSyncState {
  const same = existing && existing.server === server && existing.run.name === run.name && existing.run.project === run.project;
  if (same) return { ...existing, run, mode };
  return {
    schemaVersion: 1,
    server,
    run,
    mode,
    entity: null,
    upserted: null,
    historyAcked: 0,
    summaryAcked: null,
    uploaded: [],
    runFiles: {},
    unannounced: [],
    finished: existing?.finished ?? null,
    completed: null,
    lastError: null,
    updatedAt: new Date().toISOString(),
  };
}

export interface RunSyncState {
  schemaVersion: number;
  tracked: boolean;
  mode: TrackingMode | null;
  name: string | null;
  project: string | null;
  entity: string | null;
  sweep: string | null;
  server: string | null;
  history: { local: number; acked: number; pending: number };
  files: { local: number; uploaded: number; pending: number };
  summarySynced: boolean;
  completed: { exitCode: number } | null;
  finished: { exitCode: number } | null;
  lastError: string | null;
  /** one word for a table: synced | pending | offline | not tracked */
  label: 'synced' | 'pending' | 'not tracked';
}

/**
 * What of a run W&B has: rows and files in the store (mirrored or not yet), what was acknowledged.
 * Reads only; safe while the run is live.
 */
export async function syncState(runDir: string): Promise<RunSyncState> {
  const state = await readWandbState(runDir);
  const ledger = await Ledger.peek(runDir);
  const more = await pendingFromStore(runDir, ledger);
  const all = [...ledger, ...more.lines];
  const files = new Set(all.flatMap((line) => (line.files ?? []).map((f) => f.path)));
  const uploaded = new Set(state?.uploaded ?? []);
  const acked = Math.min(state?.historyAcked ?? 0, all.length);
  const filesUploaded = [...files].filter((f) => uploaded.has(f)).length;
  const pending = all.length - acked + (files.size - filesUploaded);
  const completedOk = !state?.finished || state.completed?.exitCode === state.finished.exitCode;
  const summarySynced = all.length === 0 || state?.summaryAcked === summaryHash(all, runEndSeconds(await readRunStatus(runDir)));
  return {
    schemaVersion: 1,
    tracked: state !== undefined,
    mode: state?.mode ?? null,
    name: state?.run.name ?? null,
    project: state?.run.project ?? null,
    entity: state?.entity ?? state?.run.entity ?? null,
    sweep: state?.run.sweep ?? null,
    server: state?.server ?? null,
    history: { local: all.length, acked, pending: all.length - acked },
    files: { local: files.size, uploaded: filesUploaded, pending: files.size - filesUploaded },
    summarySynced,
    completed: state?.completed ? { exitCode: state.completed.exitCode } : null,
    finished: state?.finished ? { exitCode: state.finished.exitCode } : null,
    lastError: state?.lastError?.message ?? null,
    label: state === undefined && all.length === 0 ? 'not tracked' : pending === 0 && completedOk && summarySynced ? 'synced' : 'pending',
  };
}
