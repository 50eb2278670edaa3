// `harness pull`: bring run folders shared through a Hub dataset repo into the local run store.
import { hubContext } from '../hub/client.ts';
import { pullStore, type PullRun } from '../hub/store-sync.ts';
import { experimentDir, SCHEMA_VERSION } from '../store/layout.ts';
import { noteIfSlow } from '../util/abort.ts';
import { UsageError } from '../errors.ts';
import { loadExperiment } from '../config/load.ts';
import { checkStore, experimentStore } from './context.ts';

export interface PullOptions {
  experiment: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  store?: string;
  from?: string;
  withCheckpoints?: boolean;
  runs?: string[];
  dryRun?: boolean;
  /** a Hub answer that takes more than a few seconds: what is being waited on */
  onWait?: (message: string) => void;
}

export interface PullCommandResult {
  schemaVersion: number;
  repo: string;
  commit: string;
  storeRoot: string;
  dryRun: boolean;
  runs: PullRun[];
  counts: Record<PullRun['state'], number>;
  bytesDownloaded: number;
}

export async function pull(options: PullOptions): Promise<PullCommandResult> {
  const experiment = await loadExperiment(options.experiment, options.cwd);
  const repo = options.from ?? experiment.config.hub.runs_repo;
  if (!repo) throw new UsageError('which dataset repo? none given', 'pass --from user/runs (or set hub.runs_repo in the experiment)');
  if (!/^[A-Za-z0-9][\w.-]*\/[\w.-]+$/.test(repo)) throw new UsageError(`not a Hub repo id: ${JSON.stringify(repo)}`, 'repo ids look like "user/runs"');
  const { root: storeRoot, source } = experimentStore(experiment, options);
  await checkStore(storeRoot, source, 'write');
  const ctx = await hubContext(options.env);
  const wait = options.onWait;
  const result = await noteIfSlow(
    pullStore(ctx, { type: 'dataset', id: repo }, experiment.name, experimentDir(storeRoot, experiment.name), {
      ...(options.withCheckpoints ? { withCheckpoints: true } : {}),
      ...(options.runs ? { runs: options.runs } : {}),
      ...(options.dryRun ? { dryRun: true } : {}),
    }),
    3000,
    wait && (() => wait(`waiting for ${ctx.hubUrl}: the files of dataset ${repo}`)),
  );
  const counts = { added: 0, merged: 0, 'up-to-date': 0, conflict: 0, skipped: 0 };
  for (const run of result.runs) counts[run.state] += 1;
  return { schemaVersion: SCHEMA_VERSION, repo, commit: result.commit, storeRoot, dryRun: Boolean(options.dryRun), runs: result.runs, counts, bytesDownloaded: result.bytesDownloaded };
}
