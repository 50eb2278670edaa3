import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseExperiment } from '../../harness/config/load.ts';
import { ConfigError } from '../../harness/errors.ts';
import { slurmScript } from '../../harness/export/slurm.ts';
import { wandbSweepConfig } from '../../harness/export/wandb-sweep.ts';
import { runFromParams } from '../../harness/plan/params.ts';
import { planExperiment, type PlanInputs } from '../../harness/plan/planner.ts';
import { harness } from '../helpers/cli.ts';
import { MINIMAL } from '../helpers/experiment.ts';
import { tempDir } from '../helpers/tmp.ts';

// Top-level and parameter keys of W&B's documented sweep configuration ("sweep configuration keys").
const SWEEP_KEYS = ['program', 'method', 'parameters', 'metric', 'early_terminate', 'command', 'run_cap', 'name', 'description', 'project', 'entity'];
const PARAMETER_KEYS = ['value', 'values', 'min', 'max', 'distribution', 'probabilities', 'mu', 'sigma', 'q', 'parameters'];

const WITH_GRID = MINIMAL.replace('samples:', 'grid:\n  rank: [8, 16]\n  learning_rate: [5.0e-5, 2.0e-4]\nsamples:');

function inputsOf(text: string): PlanInputs {
  const { config } = parseExperiment('exp.yaml', text);
  return { config, dataset: { dir: '/d', hash: 'c'.repeat(64), imageCount: 4 }, storeRoot: '/s', hubCache: '/h' };
}

describe('W&B sweep export', () => {
  it('uses only documented keys, typed values and the args_json_file macro', () => {
    const inputs = inputsOf(WITH_GRID);
    for (const over of ['runs', 'grid'] as const) {
      const sweep = wandbSweepConfig(inputs.config, { experimentPath: 'exp.yaml', method: 'bayes', metric: 'identity', over });
      for (const key of Object.keys(sweep)) expect(SWEEP_KEYS).toContain(key);
      for (const spec of Object.values(sweep.parameters)) for (const key of Object.keys(spec)) expect(PARAMETER_KEYS).toContain(key);
      expect(sweep.command).toEqual(['npx', 'harness', 'run', 'exp.yaml', '--params-json-file', '${args_json_file}']);
      expect(sweep.metric).toEqual({ name: 'scores/identity', goal: 'maximize' });
    }
    const grid = wandbSweepConfig(inputs.config, { experimentPath: 'exp.yaml', method: 'grid', metric: 'loss', over: 'grid' });
    expect(grid.parameters).toEqual({ rank: { values: [8, 16] }, learning_rate: { values: [5e-5, 2e-4] } });
  });

  it('round-trips: a trial parameter file gives the same run id as the equivalent run', () => {
    const inputs = inputsOf(WITH_GRID);
    const plan = planExperiment(inputs);
    // W&B writes ${args_json_file} with its own key order
    const fromGrid = runFromParams(inputs, plan, JSON.parse('{"learning_rate": 0.0002, "rank": 16}'));
    expect(fromGrid.id).toBe(plan.runs.find((r) => r.variant === 'grid-rank_16-learning_rate_0p0002')!.id);
    expect(runFromParams(inputs, plan, { variant: 'lr-low' }).id).toBe(plan.runs.find((r) => r.variant === 'lr-low')!.id);
    expect(runFromParams(inputs, plan, { learning_rate: 5e-5 }).id).toBe(plan.runs.find((r) => r.variant === 'lr-low')!.id);
    expect(runFromParams(inputs, plan, {}).id).toBe(plan.runs[0]!.id);
    const novel = runFromParams(inputs, plan, { rank: 64, learning_rate: 1e-5 });
    expect(novel.id).toMatch(/^sweep-learning_rate_0p00001-rank_64-[0-9a-f]{8}$/);
    expect(runFromParams(inputs, plan, { learning_rate: 1e-5, rank: 64 }).id).toBe(novel.id);
  });

  it('refuses unknown settings and runs in a parameter file, with suggestions', () => {
    const inputs = inputsOf(WITH_GRID);
    const plan = planExperiment(inputs);
    try {
      runFromParams(inputs, plan, { variant: 'lr-lo', learnig_rate: 1, output_dir: '/x', rank: 'big' });
      throw new Error('expected a ConfigError');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const text = (error as ConfigError).message;
      expect(text).toContain('did you mean "lr-low"');
      expect(text).toContain('did you mean "learning_rate"');
      expect(text).toContain('output_dir: is set by the harness');
      expect(text).toContain('rank');
    }
  });

  it('writes sweep.yaml through the CLI', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'exp.yaml'), WITH_GRID);
    const result = await harness(['export', 'wandb-sweep', 'exp.yaml', '--method', 'random', '--run-cap', '3', '--json'], { cwd: dir });
    expect(result.exitCode).toBe(0);
    const written = parse(await readFile(path.join(dir, 'mini.sweep.yaml'), 'utf8'));
    expect(written).toMatchObject({ method: 'random', run_cap: 3, parameters: { variant: { values: expect.arrayContaining(['baseline', 'lr-low']) } } });
    expect(written.parameters.variant.values).toHaveLength(6);
    const refused = await harness(['export', 'wandb-sweep', 'exp.yaml', '--method', 'grid', '--run-cap', '3'], { cwd: dir });
    expect(refused.exitCode).toBe(2);
  });
});

describe('SLURM export', () => {
  it('writes a requeueable array with one task per planned run', () => {
    const inputs = inputsOf(MINIMAL);
    const plan = planExperiment(inputs);
    const script = slurmScript(plan, { experimentPath: '/x/exp.yaml', storeRoot: '/shared/runs', workdir: '/x', gpusPerTask: 1, maxParallel: 1, partition: 'gpu', harnessCommand: ['node', '/x/bin/harness.js'] });
    expect(script).toContain('#SBATCH --array=0-1%1');
    expect(script).toContain('#SBATCH --requeue');
    expect(script).toContain('#SBATCH --partition=gpu');
    expect(script).toContain('#SBATCH --gpus-per-task=1');
    expect(script).toContain('export HARNESS_STORE=/shared/runs');
    expect(script).toContain('exec node /x/bin/harness.js run /x/exp.yaml --index "$SLURM_ARRAY_TASK_ID"');
    expect(script.split('\n')[0]).toBe('#!/bin/bash');
  });
});
