// `harness export`: hand a sweep to an engine that already exists (W&B sweep agents, SLURM job arrays).
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import { slurmScript, type SlurmOptions } from '../export/slurm.ts';
import { wandbSweepConfig, type SweepMethod, type SweepOver, SWEEP_METRICS } from '../export/wandb-sweep.ts';
import { fileURLToPath } from 'node:url';
import { planExperiment } from '../plan/planner.ts';
import { submitSbatch } from '../runner/sbatch.ts';
import { localScript } from '../train/script.ts';
import { shellQuote } from '../util/shell.ts';
import { loadPlanContext, planInputs, type ContextOptions } from './context.ts';

export interface WandbSweepOptions extends ContextOptions {
  method: SweepMethod;
  metric: keyof typeof SWEEP_METRICS;
  over: SweepOver;
  runCap?: number;
  out?: string;
}

export async function exportWandbSweep(options: WandbSweepOptions) {
  const context = await loadPlanContext(options);
  const config = wandbSweepConfig(context.experiment.config, {
    experimentPath: path.relative(options.cwd, context.experiment.file) || context.experiment.file,
    method: options.method,
    metric: options.metric,
    over: options.over,
    ...(options.runCap === undefined ? {} : { runCap: options.runCap }),
  });
  const out = path.resolve(options.cwd, options.out ?? `${context.experiment.name}.sweep.yaml`);
  await writeFile(out, `# W&B sweep written by \`harness export wandb-sweep\`; see README (Beyond one machine).\n${stringify(config)}`);
  const project = context.experiment.config.tracking.wandb?.project ?? context.experiment.name;
  return {
    schemaVersion: 1,
    file: out,
    sweep: config,
    trials: options.over === 'grid' ? Object.values(context.experiment.config.grid ?? {}).reduce((n, v) => n * v.length, 1) : context.plan.runs.length,
    next: [
      `wandb sweep --project ${project} ${path.relative(options.cwd, out) || out}`,
      `wandb agent <entity>/${project}/<sweep-id>   # on each GPU box, in a harness checkout after npm ci`,
      `harness pull ${path.relative(options.cwd, context.experiment.file)} --from <user>/<runs-repo> && harness report ${path.relative(options.cwd, context.experiment.file)}`,
    ],
  };
}

/** The job's own settings are the sbatch script's (SlurmOptions); the rest comes from the plan and the store. */
export interface SlurmExportOptions
  extends ContextOptions,
    Pick<SlurmOptions, 'partition' | 'gpusPerTask' | 'maxParallel' | 'time' | 'cpusPerTask' | 'mem' | 'account' | 'harnessCommand' | 'runArgs'> {
  out?: string;
  submit?: boolean;
  /** a local copy of the training script, passed on to every task's `harness run` */
  script?: string;
}

export async function exportSlurm(options: SlurmExportOptions) {
  const context = await loadPlanContext(options);
  // With a local script, the tasks train (and so name) their runs with its sha256: plan the same way.
  const local = options.script ? await localScript(options.script, options.cwd, context.experiment.config.base.diffusers) : null;
  const plan = local ? planExperiment(planInputs(context, local)) : context.plan;
  const runArgs = [local ? `--script ${shellQuote([local.path])}` : '', options.runArgs ?? ''].filter(Boolean).join(' ');
  const script = slurmScript(plan, {
    experimentPath: context.experiment.file,
    storeRoot: context.storeRoot,
    workdir: options.cwd,
    gpusPerTask: options.gpusPerTask,
    // this checkout's entry point, by absolute path: tasks need not start in the checkout
    harnessCommand: options.harnessCommand ?? ['node', fileURLToPath(new URL('../../bin/harness.js', import.meta.url))],
    ...(runArgs ? { runArgs } : {}),
    ...pick(options, ['partition', 'maxParallel', 'time', 'cpusPerTask', 'mem', 'account']),
  });
  const out = path.resolve(options.cwd, options.out ?? `${context.experiment.name}.sbatch`);
  await writeFile(out, script, { mode: 0o755 });
  await mkdir(path.join(context.storeRoot, context.experiment.name, '_slurm'), { recursive: true });
  const jobId = options.submit ? await submitSbatch(out, options.env) : undefined;
  return {
    schemaVersion: 1,
    file: out,
    tasks: plan.runs.map((run, index) => ({ index, id: run.id, variant: run.variant })),
    ...(jobId ? { jobId } : {}),
  };
}

function pick<T extends object, K extends keyof T>(object: T, keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const key of keys) if (object[key] !== undefined) out[key] = object[key];
  return out;
}
