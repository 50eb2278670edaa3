// What most commands start from: the experiment, its dataset fingerprint, the store and the plan.
import { access, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadExperiment, type Experiment } from '../config/load.ts';
import { fingerprintDataset, type DatasetFingerprint } from '../dataset/hash.ts';
import { UsageError } from '../errors.ts';
import { planAsTrained } from '../plan/as-trained.ts';
import { planExperiment, type Plan, type PlanInputs } from '../plan/planner.ts';
import { describeStoreSource, resolveStore, type StoreSource } from '../store/layout.ts';
import { storedRuns } from '../store/runs.ts';
import { nearPath } from '../util/near-path.ts';

export interface ContextOptions {
  experiment: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  store?: string;
  /** overrides the experiment's dataset.dir */
  dataset?: string;
}

/** Where an experiment's runs are stored: --store, HARNESS_STORE, the experiment's `store:`, runs/ (store/layout.ts resolveStore). */
export function experimentStore(experiment: Experiment, options: Pick<ContextOptions, 'store' | 'env' | 'cwd'>): { root: string; source: StoreSource } {
  return resolveStore({ flag: options.store, env: options.env, experimentStore: experiment.config.store, experimentFile: experiment.file, cwd: options.cwd });
}

/**
 * A store path that is a file (or has a file in it) is refused, whatever the use. `read`: commands that only
 * read the store say when it is not there instead of showing every run as planned: a store named with
 * --store or $HARNESS_STORE must exist (a typo, or a Drive that is not mounted); the experiment's store: or
 * the default may simply not have been created yet (a warning). `write`: a missing store is created later.
 */
export async function checkStore(root: string, source: StoreSource, use: 'read' | 'write'): Promise<string[]> {
  const where = `${root} (${describeStoreSource(source)})`;
  const info = await stat(root).catch((error: NodeJS.ErrnoException) => error);
  if (info instanceof Error) {
    const code = (info as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') throw new UsageError(`the run store ${where} is not a folder: a part of the path is a file`, 'point --store at a folder');
    // writers create a missing store (and meet any other error when they write)
    if (use === 'write') return [];
    if (code !== 'ENOENT') throw new UsageError(`cannot read the run store ${where}: ${code}`, 'check its permissions');
    if (source === 'flag' || source === 'env') {
      const near = await nearPath(root, path.dirname(root), { kind: 'folder' });
      throw new UsageError(`the run store ${where} does not exist${near ? ` (did you mean ${near}?)` : ''}`, 'check the path (a typo? a drive that is not mounted?); `harness sweep` and `harness run` create it');
    }
    return [`no run store at ${where} yet: nothing has run, so every run is planned`];
  }
  if (!info.isDirectory()) throw new UsageError(`the run store ${where} is a file, not a folder`, 'point --store at a folder');
  return [];
}

export interface PlanContext {
  experiment: Experiment;
  datasetDir: string;
  dataset: DatasetFingerprint | null;
  storeRoot: string;
  storeSource: StoreSource;
  hubCache: string;
  plan: Plan;
}

export function hubCacheDir(env: NodeJS.ProcessEnv): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  const home = env.HF_HOME ?? path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'huggingface');
  return path.join(home, 'hub');
}

export async function loadPlanContext(options: ContextOptions): Promise<PlanContext> {
  const experiment = await loadExperiment(options.experiment, options.cwd);
  const datasetDir = options.dataset ? path.resolve(options.cwd, options.dataset) : experiment.datasetDir;
  const dataset = (await exists(datasetDir)) ? await fingerprintDataset(datasetDir) : null;
  const { root: storeRoot, source: storeSource } = experimentStore(experiment, options);
  const hubCache = hubCacheDir(options.env);
  const plan = planExperiment(planInputs({ experiment, datasetDir, dataset, storeRoot, hubCache }));
  return { experiment, datasetDir, dataset, storeRoot, storeSource, hubCache, plan };
}

/**
 * What the planner names runs from. `script`: the script actually used (a stand-in or edited one gives
 * other run ids); without it, the pinned script (base.diffusers).
 */
export function planInputs(
  context: Pick<PlanContext, 'experiment' | 'datasetDir' | 'dataset' | 'storeRoot' | 'hubCache'>,
  script?: { sha256: string; path: string },
): PlanInputs {
  return {
    config: context.experiment.config,
    dataset: { dir: context.datasetDir, hash: context.dataset?.hash ?? null, imageCount: context.dataset?.imageCount ?? null },
    storeRoot: context.storeRoot,
    hubCache: context.hubCache,
    ...(script ? { script: { sha256: script.sha256, path: script.path } } : {}),
  };
}

/**
 * The plan as the store's runs were trained (plan/as-trained.ts): what every command that reads the store
 * (status, report, check, sample, push, and a sweep's own report and check) works from, so a run trained
 * with a local --script is seen under its own id. Commands that decide what to train (plan, run, sweep,
 * export) plan with the script they will use.
 */
export async function asTrained(context: PlanContext): Promise<PlanContext> {
  const stored = await storedRuns(context.storeRoot, context.experiment.name);
  return { ...context, plan: planAsTrained(planInputs(context), context.plan, stored) };
}

/**
 * The plan as the store holds its runs (asTrained), for the commands that read or write a store: the store is
 * checked first (`read`: a missing --store is an error, a file in its path too; `write`: created if missing),
 * so a bad path is said as such before any run folder is listed. `storeWarnings`: e.g. no store yet.
 */
export async function loadTrainedContext(options: ContextOptions, use: 'read' | 'write' = 'read'): Promise<PlanContext & { storeWarnings: string[] }> {
  const planned = await loadPlanContext(options);
  const storeWarnings = await checkStore(planned.storeRoot, planned.storeSource, use);
  return { ...(await asTrained(planned)), storeWarnings };
}

/** Anything that trains refuses a missing dataset, with what to do about it. */
export function requireDataset(context: PlanContext): DatasetFingerprint {
  if (context.dataset) return context.dataset;
  throw new UsageError(
    `dataset folder not found: ${context.datasetDir}`,
    'put the training PNGs and metadata.jsonl there (see `harness dataset check --help`), ' +
      'or point to them with --dataset DIR or dataset.dir in the experiment file',
  );
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}
