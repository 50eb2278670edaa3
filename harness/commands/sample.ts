// `harness sample`: fixed prompts × fixed seeds from trained runs (final weights, checkpoints) and the base model.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { prepareForRuns } from '../pipeline/prepare.ts';
import { UsageError } from '../errors.ts';
import { otherRunsOfVariant } from '../plan/as-trained.ts';
import { findRun, type RunSpec } from '../plan/planner.ts';
import { storedRuns } from '../store/runs.ts';
import type { SampleProgress, SetOutcome } from '../samples/render.ts';
import { sampleRun, type SampleRunResult, type SetSelection } from '../samples/run.ts';
import { completeCheckpointSteps } from '../samples/weights.ts';
import { runLayout } from '../store/layout.ts';
import { tryLock, type RunLock } from '../store/lock.ts';
import { closest } from '../util/suggest.ts';
import { loadTrainedContext, type ContextOptions, type PlanContext } from './context.ts';

export interface SampleOptions extends ContextOptions {
  variants?: string[];
  /** each `final`, `all`, `none` or a step number; default: final + the experiment's samples.checkpoints */
  checkpoints?: string[];
  seeds?: number[];
  prompts?: string[];
  /** true: only the control set; false: no control set; undefined: as `samples.control` says */
  control?: boolean;
  python?: string;
  model?: string;
  vae?: string;
  device?: 'cuda' | 'cpu';
  batchSize?: number;
  onProgress?: (progress: SampleProgress) => void;
  /** one-off lines while the machine is made ready (the Python environment, built models) */
  onMessage?: (message: string) => void;
  signal?: AbortSignal;
}

export interface SampleResult {
  schemaVersion: number;
  experiment: string;
  storeRoot: string;
  sets: (SetOutcome & { variant: string | null })[];
  skipped: { what: string; why: string }[];
}

export async function sample(options: SampleOptions): Promise<SampleResult> {
  if (options.control === true && (options.variants?.length || options.checkpoints?.length)) {
    throw new UsageError('--control renders only the base model without LoRA: it takes no --variant or --checkpoint', 'drop --control to sample runs (the control set comes along unless --no-control)');
  }
  // sample writes into the store (the control set), so a missing store is created; one that is a file is refused
  const context = await loadTrainedContext(options, 'write');
  const selection = parseCheckpoints(options.checkpoints, context);
  const controlWanted = options.control ?? context.experiment.config.samples.control;
  const { runs, skipped } = options.control === true ? { runs: [], skipped: [] } : await pickRuns(context, options, selection);

  // The same rule as run and sweep: --python, $HARNESS_PYTHON, the experiment's own environment, python3;
  // the device is --device, else what that Python sees (a CUDA GPU, else the CPU), never cuda by default.
  const machine = runs.length > 0 || controlWanted ? await prepareForRuns(context, options, (message) => options.onMessage?.(message)) : null;
  const common = {
    context,
    filters: { ...(options.seeds ? { seeds: options.seeds } : {}), ...(options.prompts ? { prompts: options.prompts } : {}) },
    ...(machine ? { device: machine.device, python: machine.python } : {}),
    ...(options.batchSize ? { batchSize: options.batchSize } : {}),
    ...(options.model ? { modelDir: path.resolve(options.cwd, options.model) } : {}),
    ...(options.vae ? { vaeDir: path.resolve(options.cwd, options.vae) } : {}),
    env: options.env,
    cwd: options.cwd,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  };
  const results: { variant: string | null; result: SampleRunResult }[] = [];
  for (const [index, run] of runs.entries()) {
    const lock = await lockRun(context, run);
    try {
      // The control set joins the first run's sampler process: one SDXL load for both.
      const sets = { ...selection, control: controlWanted && index === 0 };
      results.push({ variant: run.variant, result: await sampleRun({ ...common, run, sets }) });
    } finally {
      await lock.release();
    }
  }
  if (controlWanted && runs.length === 0) {
    results.push({ variant: null, result: await sampleRun({ ...common, run: null, sets: { final: false, checkpoints: 'none', control: true } }) });
  }
  const sets = results.flatMap(({ variant, result }) => result.sets.map((set) => ({ ...set, variant: set.runId === null ? null : variant })));
  return {
    schemaVersion: 1,
    experiment: context.plan.experiment,
    storeRoot: context.storeRoot,
    // the control set last
    sets: [...sets.filter((set) => set.runId !== null), ...sets.filter((set) => set.runId === null)],
    skipped: [...skipped, ...results.flatMap(({ result }) => result.skipped)],
  };
}

function parseCheckpoints(items: string[] | undefined, context: PlanContext): Omit<SetSelection, 'control'> {
  if (!items || items.length === 0) return { final: true, checkpoints: context.experiment.config.samples.checkpoints };
  let final = false;
  let all = false;
  const steps: number[] = [];
  for (const item of items) {
    if (item === 'final') final = true;
    else if (item === 'all') all = true;
    else if (item === 'none') continue;
    else if (/^\d+$/.test(item) && Number(item) > 0) steps.push(Number(item));
    else throw new UsageError(`--checkpoint ${item}: expected a step number, "all", "final" or "none"`, 'e.g. --checkpoint 200, --checkpoint final,all');
  }
  return { final, checkpoints: all ? 'all' : steps.length > 0 ? steps : 'none' };
}

/** Named variants must exist and be trained; without names, every planned run that has something to sample. */
async function pickRuns(
  context: PlanContext,
  options: Pick<SampleOptions, 'variants' | 'checkpoints'>,
  selection: Omit<SetSelection, 'control'>,
): Promise<{ runs: RunSpec[]; skipped: SampleResult['skipped'] }> {
  const { plan } = context;
  const variants = options.variants;
  if (variants && variants.length > 0) {
    const runs = variants.map((name) => {
      const run = findRun(plan, name);
      if (run) return run;
      const names = plan.runs.flatMap((r) => [r.variant, ...r.aliases]);
      const guess = closest(name, names);
      throw new UsageError(`no variant "${name}" in ${context.experiment.file}${guess ? ` (did you mean "${guess}"?)` : ''}`, `variants: ${names.join(', ')}`);
    });
    if (options.checkpoints?.length) for (const run of runs) await requireCheckpoints(context, run, selection);
    return { runs, skipped: [] };
  }
  const runs: RunSpec[] = [];
  const skipped: SampleResult['skipped'] = [];
  const stored = await storedRuns(context.storeRoot, plan.experiment);
  for (const run of plan.runs) {
    if (await hasWeights(context, run, selection)) runs.push(run);
    else {
      // the real cause when the store has this variant under another id (other dataset, settings, models)
      const others = otherRunsOfVariant(run, stored);
      skipped.push({ what: `${run.id} (${run.variant})`, why: `not trained yet${others.length ? `; the store holds ${others.join('; ')}` : ''}` });
    }
  }
  return { runs, skipped };
}

async function hasWeights(context: PlanContext, run: RunSpec, selection: Omit<SetSelection, 'control'>): Promise<boolean> {
  const layout = runLayout(context.storeRoot, context.plan.experiment, run.id);
  if (selection.final) return Boolean((await stat(layout.weights).catch(() => undefined))?.isFile());
  return (await completeCheckpointSteps(layout.output)).length > 0;
}

async function requireCheckpoints(context: PlanContext, run: RunSpec, selection: Omit<SetSelection, 'control'>): Promise<void> {
  const layout = runLayout(context.storeRoot, context.plan.experiment, run.id);
  const available = await completeCheckpointSteps(layout.output);
  if (Array.isArray(selection.checkpoints)) {
    const absent = selection.checkpoints.filter((step) => !available.includes(step));
    if (absent.length > 0) {
      throw new UsageError(
        `run ${run.id} (${run.variant}) has no complete checkpoint-${absent.join(', checkpoint-')}`,
        `complete checkpoints: ${available.join(', ') || 'none'}; try --checkpoint all`,
      );
    }
  }
}

async function lockRun(context: PlanContext, run: RunSpec): Promise<RunLock> {
  const lock = await tryLock(runLayout(context.storeRoot, context.plan.experiment, run.id).lock, { purpose: 'sample' });
  if ('release' in lock) return lock;
  throw new UsageError(`run ${run.id} is busy: ${lock.heldBy.purpose} by pid ${lock.heldBy.pid} on ${lock.heldBy.host} since ${lock.heldBy.startedAt}`, 'wait for it to finish (harness status shows it), or stop that process');
}
