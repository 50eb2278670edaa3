// `harness setup <experiment>`: on the training machine, get what training needs and say what is missing:
// the pinned diffusers script (downloaded, sha256-checked, cached), the Python environment, the models.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { loadExperiment } from '../config/load.ts';
import { variantSettings } from '../plan/expand.ts';
import { snapshotPath } from '../plan/planner.ts';
import { SCHEMA_VERSION } from '../store/layout.ts';
import { envCheck, type EnvCheck } from '../train/envcheck.ts';
import { probeEnv } from '../train/envinfo.ts';
import { prepareMachine } from '../pipeline/prepare.ts';
import { downloadScript, installLocalScript, scriptUrl, type ScriptPin } from '../train/script.ts';
import { RemoteError } from '../errors.ts';
import type { ExperimentFile } from '../config/schema.ts';
import { hubContext } from '../hub/client.ts';
import { snapshotExperiment } from '../hub/experiment-snapshot.ts';
import type { SnapshotProgress } from '../hub/snapshot.ts';
import { hubCacheDir } from './context.ts';
import { runVariants } from './pin.ts';

export interface SetupOptions {
  experiment: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  python?: string;
  model?: string;
  vae?: string;
  /** a local copy of the pinned script (no network): checked against the pin and put into the cache */
  script?: string;
  fetch?: typeof fetch;
  /** false: only report missing snapshots (default: download the pinned ones that are missing) */
  snapshot?: boolean;
  onSnapshotProgress?: (progress: SnapshotProgress) => void;
  /** one-off lines while the Python environment or a built model is made */
  onMessage?: (message: string) => void;
}

export interface ModelReport {
  role: 'model' | 'vae';
  id: string;
  commit: string | null;
  path: string;
  source: 'flag' | 'pinned snapshot' | 'unpinned';
  exists: boolean;
  hint?: string;
}

export interface SetupResult {
  schemaVersion: number;
  experiment: string;
  ok: boolean;
  script: { path: string; sha256: string; source: string; url: string };
  models: ModelReport[];
  environment: EnvCheck;
  /** a download that failed (the snapshot; a failed script download throws): exit 3 */
  downloadError: string | null;
}

export async function setup(options: SetupOptions): Promise<SetupResult> {
  const experiment = await loadExperiment(options.experiment, options.cwd);
  const { config } = experiment;
  const pin: ScriptPin = config.base.diffusers;
  const script = options.script ? await installLocalScript(options.env, pin, options.script, options.cwd) : await downloadScript(options.env, pin, options.fetch);
  const hubCache = hubCacheDir(options.env);
  // the experiment's own Python environment and the models the harness builds are made here, if missing
  const { python } = await prepareMachine({ experiment, hubCache, env: options.env, python: options.python, ...(options.onMessage ? { onProgress: options.onMessage } : {}) });
  const probe = await probeEnv(python, { cwd: options.cwd, env: options.env });
  const settingsList = variantSettings(config).map((v) => v.settings);
  const environment = envCheck(probe, settingsList, config.base.diffusers.release);
  const snapshotError = options.snapshot === false ? null : await snapshotMissing(config, hubCache, options);
  const models = await Promise.all([
    modelReport('model', config.base.model, options.model, hubCache, options),
    modelReport('vae', config.base.vae, options.vae, hubCache, options),
  ]);
  if (snapshotError) for (const model of models) if (!model.exists) model.hint = `${snapshotError}; ${model.hint ?? ''}`.replace(/; $/, '');
  return {
    schemaVersion: SCHEMA_VERSION,
    experiment: experiment.name,
    ok: environment.ok && models.every((m) => m.exists),
    script: { path: script.path, sha256: script.sha256, source: script.source, url: scriptUrl(options.env, pin) },
    models,
    environment,
    downloadError: snapshotError,
  };
}

async function modelReport(
  role: 'model' | 'vae',
  ref: { id: string; commit: string | null },
  flag: string | undefined,
  hubCache: string,
  options: SetupOptions,
): Promise<ModelReport> {
  const flagPath = flag ? path.resolve(options.cwd, flag) : undefined;
  const where = flagPath ?? snapshotPath(hubCache, ref);
  const source = flagPath ? 'flag' : ref.commit ? 'pinned snapshot' : 'unpinned';
  const exists = source === 'unpinned' ? false : await stat(where).then((s) => s.isDirectory(), () => false);
  const report: ModelReport = { role, id: ref.id, commit: ref.commit, path: where, source, exists };
  if (!exists) {
    report.hint =
      source === 'unpinned'
        ? `pin it first: harness pin ${options.experiment} --snapshot`
        : source === 'flag'
          ? `--${role} ${flag}: no such folder`
          : `download it: harness pin ${options.experiment} --snapshot (or pass --${role} DIR to \`harness run\`)`;
  }
  return report;
}

/** Downloads the pinned snapshots that are not in the cache yet (through the Hub module); returns why not, if it failed. */
async function snapshotMissing(config: ExperimentFile, hubCache: string, options: SetupOptions): Promise<string | null> {
  const { model, vae } = config.base;
  if (!model.commit || !vae.commit || options.model || options.vae || model.build || vae.build) return null;
  const present = await Promise.all([model, vae].map((ref) => stat(snapshotPath(hubCache, ref)).then((s) => s.isDirectory(), () => false)));
  if (present.every(Boolean)) return null;
  try {
    await snapshotExperiment({
      config,
      variants: runVariants(config),
      cacheDir: hubCache,
      ctx: await hubContext(options.env),
      ...(options.onSnapshotProgress ? { onProgress: options.onSnapshotProgress } : {}),
    });
    return null;
  } catch (error) {
    if (!(error instanceof RemoteError)) throw error;
    return `snapshot download failed: ${error.message.split('\n')[0]}`;
  }
}
