// `harness pin`: resolve base.model and base.vae to commit SHAs and write them into the experiment
// file (only those bytes change); with `snapshot`, download the pipeline files at those commits.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { loadExperiment, parseExperiment } from '../config/load.ts';
import { hubCacheDir } from './context.ts';
import { hubContext } from '../hub/client.ts';
import { snapshotExperiment } from '../hub/experiment-snapshot.ts';
import { applyYamlEdits } from '../hub/pin-file.ts';
import { hubRefs } from '../hub/pin-state.ts';
import { resolveCommit } from '../hub/revision.ts';
import type { SnapshotProgress, SnapshotResult } from '../hub/snapshot.ts';
import { variantSettings } from '../plan/expand.ts';
import { writeFileAtomic } from '../store/atomic.ts';
import { SCHEMA_VERSION } from '../store/layout.ts';
import { noteIfSlow } from '../util/abort.ts';

/** A Hub answer slower than this gets a line saying what is being waited on. */
const SLOW_MS = 3000;

export interface PinOptions {
  experiment: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** re-resolve refs that are already pinned (to the branch's current head) */
  update?: boolean;
  /** branch or tag to resolve (default main) */
  revision?: string;
  dryRun?: boolean;
  snapshot?: boolean;
  verify?: 'size' | 'full';
  onProgress?: (progress: SnapshotProgress) => void;
  /** what the command is waiting on (a Hub request, a retry after no answer): long waits are never silent */
  onWait?: (message: string) => void;
}

export interface PinnedRef {
  key: string;
  id: string;
  before: string | null;
  commit: string;
  changed: boolean;
}

export interface PinResult {
  schemaVersion: number;
  file: string;
  hubUrl: string;
  refs: PinnedRef[];
  written: boolean;
  cacheDir: string;
  snapshots: { id: string; commit: string; dir: string; files: number; bytesTotal: number; bytesDownloaded: number; downloaded: number; cached: number }[];
  variants: (string | null)[];
}

export async function pin(options: PinOptions): Promise<PinResult> {
  const experiment = await loadExperiment(options.experiment, options.cwd);
  const wait = options.onWait;
  const ctx = await hubContext(options.env, {
    retry: {
      onRetry: (info) =>
        wait?.(`no answer from ${new URL(info.url).host} (${info.error ?? `HTTP ${info.status}`}); try ${info.attempt + 1} in ${(info.delayMs / 1000).toFixed(0)} s`),
    },
  });
  const revision = options.revision ?? 'main';
  const refs: PinnedRef[] = [];
  for (const ref of hubRefs(experiment.config)) {
    const commit =
      ref.commit && !options.update
        ? ref.commit
        : await noteIfSlow(resolveCommit(ctx, { type: ref.type, id: ref.id }, revision), SLOW_MS, wait && (() => wait(`waiting for ${ctx.hubUrl} to resolve ${ref.id}@${revision}`)));
    refs.push({ key: ref.path.join('.'), id: ref.id, before: ref.commit, commit, changed: commit !== ref.commit });
  }

  const changed = refs.filter((r) => r.changed);
  let written = false;
  let config = experiment.config;
  if (changed.length > 0 && !options.dryRun) {
    const text = await readFile(experiment.file, 'utf8');
    const next = applyYamlEdits(text, changed.map((r) => ({ path: r.key.split('.'), value: r.commit })));
    // the edited file must still be a valid experiment before it replaces the user's
    config = parseExperiment(path.relative(options.cwd, experiment.file), next, experiment.file).config;
    await writeFileAtomic(experiment.file, next);
    written = true;
  }

  const cacheDir = hubCacheDir(options.env);
  const variants = runVariants(config);
  const result: PinResult = {
    schemaVersion: SCHEMA_VERSION,
    file: path.relative(options.cwd, experiment.file) || experiment.file,
    hubUrl: ctx.hubUrl,
    refs,
    written,
    cacheDir,
    snapshots: [],
    variants,
  };
  if (options.snapshot && !options.dryRun) {
    // each Hub model at the commit just resolved (models the harness builds have no Hub ref and keep theirs)
    const commitOf = (which: 'model' | 'vae') => refs.find((r) => r.key === `base.${which}.commit`)?.commit ?? config.base[which].commit;
    const pinnedConfig = { base: { ...config.base, model: { ...config.base.model, commit: commitOf('model') }, vae: { ...config.base.vae, commit: commitOf('vae') } } };
    const snapshots = await noteIfSlow(snapshotExperiment({
      config: pinnedConfig,
      variants,
      cacheDir,
      ctx,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.verify ? { verify: options.verify } : {}),
      refMain: revision === 'main' && refs.some((r) => r.changed),
    }), SLOW_MS, wait && (() => wait(`waiting for ${ctx.hubUrl}: the file lists and downloads of ${refs.map((r) => r.id).join(' and ')} (progress shows once bytes arrive)`)));
    result.snapshots = snapshots.map(summarise);
  }
  return result;
}

/** Which weight variants the runs load: the `variant` training setting (unset = full precision). */
export function runVariants(config: Parameters<typeof variantSettings>[0]): (string | null)[] {
  return [...new Set(variantSettings(config).map(({ settings }) => (typeof settings.variant === 'string' ? settings.variant : null)))];
}

function summarise(s: SnapshotResult): PinResult['snapshots'][number] {
  return {
    id: s.repo.id,
    commit: s.commit,
    dir: s.dir,
    files: s.files.length,
    bytesTotal: s.bytesTotal,
    bytesDownloaded: s.bytesDownloaded,
    downloaded: s.files.filter((f) => f.status === 'downloaded').length,
    cached: s.files.filter((f) => f.status !== 'downloaded').length,
  };
}
