// What W&B still lacks of a run, and why, in plain words: what `sweep` and `run` end with, one line per
// run whose mirror is behind, with the command that sends the rest later. Reads only.
import type { ExperimentFile } from '../config/schema.ts';
import { resolveTarget, type TrackingMode } from './mode.ts';
import { syncState, type RunSyncState } from './state.ts';
import { shellQuote } from '../util/shell.ts';

export interface MirrorBacklog {
  mode: TrackingMode;
  /** history rows and media files W&B has not acknowledged */
  rows: number;
  files: number;
  /** the summary or the end of the run (`complete`) is not on W&B yet */
  unfinished: boolean;
  /** why, in plain words: the last failure, or why the run was mirrored offline */
  reason: string;
  /** all of it as one sentence: "23 rows, 4 files and the end of the run not sent: cannot reach api.wandb.ai: …" */
  text: string;
}

/** Null when W&B has everything, or tracking is off for the experiment. */
export async function mirrorBacklog(runDir: string, tracking: ExperimentFile['tracking'] | undefined, env: NodeJS.ProcessEnv): Promise<MirrorBacklog | null> {
  const target = resolveTarget(tracking, env);
  if (target.mode === 'disabled') return null;
  const sync = await syncState(runDir).catch(() => null);
  return sync ? backlogFrom(sync, target.mode, target.why) : null;
}

/** The backlog a sync state shows; `mode`/`why` say how this process mirrors (offline: why). */
export function backlogFrom(sync: RunSyncState, mode: TrackingMode, why: string): MirrorBacklog | null {
  if (sync.label !== 'pending') return null;
  const unfinished = !sync.summarySynced || (sync.finished !== null && sync.completed?.exitCode !== sync.finished.exitCode);
  const reason = sync.lastError ?? (mode === 'offline' ? `mirrored offline (${why})` : 'not sent before the run ended');
  const parts = [sync.history.pending ? `${sync.history.pending} rows` : '', sync.files.pending ? `${sync.files.pending} files` : '', unfinished ? 'the end of the run' : ''].filter(Boolean);
  const what = parts.length > 1 ? `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}` : (parts[0] ?? 'the summary');
  return { mode, rows: sync.history.pending, files: sync.files.pending, unfinished, reason, text: `${what} not sent: ${reason}` };
}

/** The command that sends a run's backlog later, with the experiment file and store as the user named them. */
export function syncCommand(experimentArg: string, runId: string, store?: string): string {
  return shellQuote(['harness', 'sync', experimentArg, '--run', runId, ...(store ? ['--store', store] : [])]);
}
