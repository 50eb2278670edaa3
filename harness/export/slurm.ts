// An sbatch script for a SLURM job array over the planned runs: task i runs `harness run --index i` on a
// shared run store; preempted tasks are requeued and resume from their last complete checkpoint. Pure.
import { UsageError } from '../errors.ts';
import type { Plan } from '../plan/planner.ts';
import { shellQuoteArg as quote } from '../util/shell.ts';

export interface SlurmOptions {
  experimentPath: string;
  storeRoot: string;
  /** the folder the job runs in (the harness checkout with node_modules) */
  workdir: string;
  partition?: string;
  gpusPerTask: number;
  maxParallel?: number;
  time?: string;
  cpusPerTask?: number;
  mem?: string;
  account?: string;
  /** the harness command to run: ['npx', 'harness'] by default */
  harnessCommand?: string[];
  extraEnv?: Record<string, string>;
  /** appended verbatim to each task's `harness run` (e.g. "--python /opt/venv/bin/python") */
  runArgs?: string;
}

export function slurmScript(plan: Plan, options: SlurmOptions): string {
  if (plan.runs.length === 0) throw new UsageError('the experiment plans no runs');
  if (options.gpusPerTask < 0 || !Number.isInteger(options.gpusPerTask)) throw new UsageError('--gpus-per-task takes a whole number');
  const last = plan.runs.length - 1;
  const array = `0-${last}${options.maxParallel ? `%${options.maxParallel}` : ''}`;
  const harness = (options.harnessCommand ?? ['npx', 'harness']).map(quote).join(' ');
  const lines = [
    '#!/bin/bash',
    `# harness: ${plan.runs.length} runs of ${plan.experiment}, one array task each (task i = run i of \`harness plan\`).`,
    ...plan.runs.map((run, i) => `#   ${i}: ${run.id}`),
    `#SBATCH --job-name=harness-${plan.experiment}`,
    `#SBATCH --array=${array}`,
    '#SBATCH --requeue',
    // SIGTERM reaches the harness 120 s before the time limit: it stops the trainer and marks the run interrupted.
    '#SBATCH --signal=B:TERM@120',
    '#SBATCH --open-mode=append',
    `#SBATCH --output=${options.storeRoot}/${plan.experiment}/_slurm/%A_%a.out`,
    ...(options.partition ? [`#SBATCH --partition=${options.partition}`] : []),
    ...(options.gpusPerTask > 0 ? [`#SBATCH --gpus-per-task=${options.gpusPerTask}`] : []),
    `#SBATCH --ntasks=1`,
    ...(options.cpusPerTask ? [`#SBATCH --cpus-per-task=${options.cpusPerTask}`] : []),
    ...(options.mem ? [`#SBATCH --mem=${options.mem}`] : []),
    ...(options.time ? [`#SBATCH --time=${options.time}`] : []),
    ...(options.account ? [`#SBATCH --account=${options.account}`] : []),
    '',
    'set -euo pipefail',
    `cd ${quote(options.workdir)}`,
    `export HARNESS_STORE=${quote(options.storeRoot)}`,
    ...Object.entries(options.extraEnv ?? {}).map(([k, v]) => `export ${k}=${quote(v)}`),
    '# exec: the harness itself receives SLURM\'s signals and stops its trainer cleanly',
    `exec ${harness} run ${quote(options.experimentPath)} --index "$SLURM_ARRAY_TASK_ID"${options.runArgs ? ` ${options.runArgs}` : ''}`,
    '',
  ];
  return lines.join('\n');
}

