// A W&B sweep configuration over the experiment's runs: W&B's agents (any GPU box with a key) then call
// `harness run … --params-json-file ${args_json_file}` for each trial. Pure: data in, data out.
import type { ExperimentFile } from '../config/schema.ts';
import { UsageError } from '../errors.ts';
import { BASELINE, expandVariants } from '../plan/expand.ts';

export type SweepMethod = 'grid' | 'random' | 'bayes';
export type SweepOver = 'runs' | 'grid';

export interface SweepConfig {
  program: string;
  name: string;
  description: string;
  method: SweepMethod;
  metric: { name: string; goal: 'maximize' | 'minimize' };
  parameters: Record<string, { values: (string | number | boolean)[] } | { value: string | number | boolean }>;
  command: string[];
  run_cap?: number;
}

/**
 * Summary keys the W&B sink writes (harness/tracking/derive.ts): the mean identity of the final weights'
 * samples (scored after any checkpoint sets, so the summary's last value is the final one) and the last loss.
 */
export const SWEEP_METRICS = {
  identity: { name: 'scores/identity', goal: 'maximize' },
  loss: { name: 'train/loss', goal: 'minimize' },
} as const;

export interface SweepOptions {
  experimentPath: string;
  method: SweepMethod;
  metric: keyof typeof SWEEP_METRICS;
  /** runs: one categorical `variant` parameter over every planned run; grid: the grid's axes as parameters */
  over: SweepOver;
  runCap?: number;
}

export function wandbSweepConfig(config: ExperimentFile, options: SweepOptions): SweepConfig {
  const parameters: SweepConfig['parameters'] = {};
  if (options.over === 'grid') {
    if (!config.grid || Object.keys(config.grid).length === 0) {
      throw new UsageError('the experiment has no grid: to sweep its named runs, use --over runs');
    }
    for (const [key, values] of Object.entries(config.grid)) parameters[key] = { values };
  } else {
    parameters.variant = { values: expandVariants(config).map((v) => v.name) };
  }
  if (options.method === 'grid' && options.runCap !== undefined) {
    throw new UsageError('--run-cap applies to random and bayes sweeps; a grid sweep runs every point once');
  }
  return {
    program: 'harness',
    name: `${config.name}${options.over === 'grid' ? '-grid' : ''}`,
    description: `harness sweep of ${config.name} (${options.over === 'grid' ? 'grid axes over the baseline' : `runs: ${BASELINE}, variants and grid points`})`,
    method: options.method,
    metric: { ...SWEEP_METRICS[options.metric] },
    parameters,
    // ${args_json_file} gives typed JSON; ${args} would render Python reprs (False, 1e-05)
    command: ['npx', 'harness', 'run', options.experimentPath, '--params-json-file', '${args_json_file}'],
    ...(options.runCap === undefined ? {} : { run_cap: options.runCap }),
  };
}
