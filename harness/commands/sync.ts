// `harness sync <experiment>`: send every run's tracking data that W&B has not acknowledged yet.
import { loadExperiment } from '../config/load.ts';
import { UsageError } from '../errors.ts';
import { experimentDir, runLayout } from '../store/layout.ts';
import { checkStore, experimentStore } from './context.ts';
import { isStale, readLock } from '../store/lock.ts';
import { resolveTarget } from '../tracking/mode.ts';
import { syncRun, type RunSyncResult } from '../tracking/sync.ts';
import { WandbClient } from '../tracking/wandb/client.ts';
import { DEFAULT_POLICY, Http, policyFromEnv } from '../tracking/wandb/http.ts';
import { closest } from '../util/suggest.ts';
import { storedRunIds } from '../store/runs.ts';
import { noteIfSlow } from '../util/abort.ts';

export interface SyncOptions {
  experiment: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  store?: string;
  /** only these run ids */
  runs?: string[];
  /** seconds one run may take, retries included */
  timeoutS?: number;
  /** a run whose sending takes more than a few seconds (W&B slow or unreachable): what is being waited on */
  onSlowRun?: (runId: string, index: number, total: number, server: string, timeoutS: number) => void;
}

export interface SyncResult {
  schemaVersion: number;
  experiment: string;
  storeRoot: string;
  server: string;
  project: string;
  runs: RunSyncResult[];
  totals: { runs: number; historySent: number; filesUploaded: number; completed: number; failed: number; skipped: number };
}

export const DEFAULT_SYNC_TIMEOUT_S = 300;

export async function sync(options: SyncOptions): Promise<SyncResult> {
  const experiment = await loadExperiment(options.experiment, options.cwd);
  const { root: storeRoot, source } = experimentStore(experiment, options);
  // Sync is asked for explicitly: WANDB_MODE=offline and `mode: offline` (don't send *live*) don't stop it.
  const wandb = experiment.config.tracking.wandb;
  const tracking = wandb ? { wandb: { ...wandb, mode: wandb.mode === 'disabled' ? ('disabled' as const) : ('auto' as const) } } : {};
  const target = resolveTarget(tracking, { ...options.env, WANDB_MODE: undefined });
  if (target.mode === 'disabled' || !target.project) {
    throw new UsageError(`W&B tracking is off for ${options.experiment}: ${target.why}`, 'set tracking.wandb.project (and mode: auto) in the experiment file');
  }
  if (!target.credentials) {
    throw new UsageError(
      `no W&B API key for ${target.baseUrl}`,
      `set WANDB_API_KEY, or add "machine ${new URL(target.baseUrl).hostname} login user password <key>" to ~/.netrc (\`wandb login\` writes it)`,
    );
  }
  await checkStore(storeRoot, source, 'read');
  const runIds = await storedRunIds(storeRoot, experiment.config.name);
  for (const wanted of options.runs ?? []) {
    if (!runIds.includes(wanted)) {
      const near = closest(wanted, runIds);
      throw new UsageError(`no run ${wanted} in ${experimentDir(storeRoot, experiment.config.name)}`, near ? `did you mean ${near}?` : 'see `harness status` for the run ids');
    }
  }
  const selected = options.runs?.length ? runIds.filter((id) => options.runs!.includes(id)) : runIds;
  const client = new WandbClient(target.baseUrl, target.credentials, new Http({ ...DEFAULT_POLICY, ...policyFromEnv(options.env) }));
  const timeoutMs = (options.timeoutS ?? DEFAULT_SYNC_TIMEOUT_S) * 1000;
  const results: RunSyncResult[] = [];
  for (const [index, id] of selected.entries()) {
    const layout = runLayout(storeRoot, experiment.config.name, id);
    const lock = await readLock(layout.lock);
    if (lock && !isStale(lock)) {
      results.push({ runId: id, name: null, skipped: `in use by pid ${lock.pid}@${lock.host}; its live mirror ships it`, historySent: 0, filesUploaded: 0, summarySent: false, completed: false, after: null });
      continue;
    }
    const slow = options.onSlowRun;
    results.push(
      await noteIfSlow(syncRun({ runDir: layout.dir, client, target, deadline: client.http.clock.now() + timeoutMs }), 3000, slow && (() => slow(id, index, selected.length, target.baseUrl, timeoutMs / 1000))),
    );
  }
  return {
    schemaVersion: 1,
    experiment: experiment.config.name,
    storeRoot,
    server: target.baseUrl,
    project: target.project,
    runs: results,
    totals: {
      runs: results.length,
      historySent: results.reduce((n, r) => n + r.historySent, 0),
      filesUploaded: results.reduce((n, r) => n + r.filesUploaded, 0),
      completed: results.filter((r) => r.completed).length,
      failed: results.filter((r) => r.error).length,
      skipped: results.filter((r) => r.skipped).length,
    },
  };
}
