// `harness push`: publish one run's LoRA (weights, card, samples, report) to a model repo, or with
// `store`, share the experiment's run folders through a dataset repo. One commit; unchanged files
// are not uploaded, and nothing changed means no commit.
import { readdir, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { UsageError, type Problem } from '../errors.ts';
import { modelCard } from '../hub/card.ts';
import { hubContext, type RepoRef } from '../hub/client.ts';
import { baseModelLicense } from '../hub/license.ts';
import { gatherBundle } from '../hub/model-bundle.ts';
import { publish, type PublishResult } from '../hub/publish.ts';
import { localIdentity } from '../hub/remote-files.ts';
import { storeEntries } from '../hub/store-sync.ts';
import { findRun, type RunSpec } from '../plan/planner.ts';
import { readJson } from '../store/atomic.ts';
import { experimentDir, reportDir, runLayout, SCHEMA_VERSION } from '../store/layout.ts';
import { didYouMean } from '../util/suggest.ts';
import { loadTrainedContext, type ContextOptions } from './context.ts';

export interface PushOptions extends ContextOptions {
  variant?: string;
  /** an explicit run id (when several runs of a variant exist) */
  run?: string;
  repo?: string;
  /** visibility when the repo is created; default: the experiment's hub.private */
  private?: boolean;
  /** share run folders through a dataset repo instead of publishing a LoRA */
  shareStore?: boolean;
  withCheckpoints?: boolean;
  reportDir?: string;
  dryRun?: boolean;
}

export interface PushResult extends Omit<PublishResult, 'repo'> {
  schemaVersion: number;
  mode: 'model' | 'store';
  repo: string;
  repoType: RepoRef['type'];
  runId?: string;
  runs?: string[];
  dryRun: boolean;
  skipped: string[];
  warnings: Problem[];
}

export async function push(options: PushOptions): Promise<PushResult> {
  const context = await loadTrainedContext(options);
  const { experiment } = context;
  const ctx = await hubContext(options.env);
  const isPrivate = options.private ?? experiment.config.hub.private;
  const warnings: Problem[] = [];

  if (options.shareStore) {
    const id = repoId(options.repo ?? experiment.config.hub.runs_repo, '--repo user/runs (or hub.runs_repo in the experiment)');
    const repo: RepoRef = { type: 'dataset', id };
    const found = await storeEntries(experimentDir(context.storeRoot, experiment.name), experiment.name, { withCheckpoints: options.withCheckpoints ?? false });
    if (found.entries.length === 0) {
      throw new UsageError(`no run folders to share in ${experimentDir(context.storeRoot, experiment.name)}`, 'run something first, or point --store / HARNESS_STORE at the store');
    }
    const result = await publish(ctx, {
      repo,
      entries: found.entries,
      private: isPrivate,
      title: `harness: ${found.runs.length} run folder(s) of ${experiment.name} from ${os.hostname()}`,
      ...(options.dryRun ? { dryRun: true } : {}),
    });
    return {
      ...result,
      schemaVersion: SCHEMA_VERSION,
      mode: 'store',
      repo: id,
      repoType: 'dataset',
      runs: found.runs,
      dryRun: Boolean(options.dryRun),
      skipped: found.skipped.map((s) => `${s.run}: ${s.why}`),
      warnings,
    };
  }

  const id = repoId(options.repo ?? experiment.config.hub.model_repo, '--repo user/name (or hub.model_repo in the experiment)');
  const repo: RepoRef = { type: 'model', id };
  const spec = await findRunSpec(context, options);
  const layout = runLayout(context.storeRoot, experiment.name, spec.id);
  if (!(await isFile(layout.weights))) {
    const state = (await readJson<{ state?: string }>(layout.status))?.state ?? 'not started';
    throw new UsageError(`run ${spec.id} has no LoRA weights yet (${layout.weights}; state: ${state})`, `train it first: harness run ${options.experiment} --variant ${spec.variant}`);
  }
  if (spec.provenance.model.commit === null || spec.provenance.vae.commit === null) {
    warnings.push({ file: options.experiment, key: 'base', message: `run ${spec.id} was trained unpinned: the card cannot name the model commits` });
  }
  const bundle = await gatherBundle(layout, spec, { experiment: experiment.name, reportDir: options.reportDir ? path.resolve(options.cwd, options.reportDir) : reportDir(context.storeRoot, experiment.name) });
  const license = await baseModelLicense(ctx, spec.provenance.model);
  if (license.warning) warnings.push({ file: options.experiment, key: 'base.model', message: license.warning });
  const card = modelCard({
    ...bundle.card,
    repoId: id,
    hubUrl: ctx.hubUrl,
    license: license.license,
    weights: { file: bundle.card.weightsFile, sha256: (await localIdentity(layout.weights)).sha256 },
  });
  const result = await publish(ctx, {
    repo,
    entries: [...bundle.entries, { path: 'README.md', content: new TextEncoder().encode(card) }],
    private: isPrivate,
    title: `harness: LoRA ${spec.id} (${experiment.name}, variant ${spec.variant})`,
    // files harness put there earlier for another sample set or report build are removed
    mirrorPrefixes: ['samples/', 'report/', 'training/'],
    ...(options.dryRun ? { dryRun: true } : {}),
  });
  return {
    ...result,
    schemaVersion: SCHEMA_VERSION,
    mode: 'model',
    repo: id,
    repoType: 'model',
    runId: spec.id,
    dryRun: Boolean(options.dryRun),
    skipped: bundle.skipped,
    warnings,
  };
}

function repoId(value: string | undefined, how: string): string {
  if (!value) throw new UsageError('which Hub repo? none given', `pass ${how}`);
  if (!/^[A-Za-z0-9][\w.-]*\/[\w.-]+$/.test(value)) throw new UsageError(`not a Hub repo id: ${JSON.stringify(value)}`, 'repo ids look like "user/name"');
  return value;
}

/** The run to publish: --run, else the planned run of --variant, else the one run of that variant in the store. */
async function findRunSpec(context: Awaited<ReturnType<typeof loadTrainedContext>>, options: PushOptions): Promise<RunSpec> {
  const dir = experimentDir(context.storeRoot, context.experiment.name);
  if (options.run) {
    const spec = await readJson<RunSpec>(runLayout(context.storeRoot, context.experiment.name, options.run).spec);
    if (!spec) throw new UsageError(`no run ${options.run} in ${dir}`, '`harness status <experiment>` lists the runs');
    return spec;
  }
  if (!options.variant) throw new UsageError('which run? pass --variant NAME (or --run ID)', '`harness status <experiment>` lists the runs');
  const planned = findRun(context.plan, options.variant);
  const variants = context.plan.runs.flatMap((r) => [r.variant, ...r.aliases]);
  if (planned) {
    const spec = await readJson<RunSpec>(runLayout(context.storeRoot, context.experiment.name, planned.id).spec);
    if (spec) return spec;
  }
  // the planned id may differ on this machine (no dataset here, or settings changed since): look in the store
  const candidates: RunSpec[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const spec = await readJson<RunSpec>(runLayout(context.storeRoot, context.experiment.name, name).spec).catch(() => undefined);
    if (spec && (spec.variant === options.variant || spec.aliases?.includes(options.variant))) candidates.push(spec);
  }
  const trained = [];
  for (const spec of candidates) if (await isFile(runLayout(context.storeRoot, context.experiment.name, spec.id).weights)) trained.push(spec);
  if (trained.length === 1) return trained[0]!;
  if (trained.length > 1) {
    throw new UsageError(`${trained.length} trained runs of variant ${options.variant} in ${dir}: ${trained.map((s) => s.id).join(', ')}`, 'pick one with --run ID');
  }
  if (candidates.length === 1) return candidates[0]!;
  if (!planned) throw new UsageError(`no variant named "${options.variant}" in ${options.experiment}${didYouMean(options.variant, variants)}`);
  throw new UsageError(`run ${planned.id} (variant ${options.variant}) is not in the store ${dir}`, `train it first: harness run ${options.experiment} --variant ${options.variant}`);
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}
