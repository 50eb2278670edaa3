import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseExperiment } from '../../harness/config/load.ts';
import { ConfigError, type Problem } from '../../harness/errors.ts';
import { harness } from '../helpers/cli.ts';
import { MINIMAL } from '../helpers/experiment.ts';
import { tempDir } from '../helpers/tmp.ts';

function problemsOf(text: string): Problem[] {
  try {
    parseExperiment('exp.yaml', text);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

function lineOf(text: string, needle: string): number {
  return text.split('\n').findIndex((line) => line.includes(needle)) + 1;
}

describe('experiment validation', () => {
  it('accepts the minimal experiment and the real tok-boy experiment', async () => {
    expect(parseExperiment('exp.yaml', MINIMAL).name).toBe('mini');
    const real = await harness(['plan', 'experiments/tok-boy.yaml', '--json']);
    expect(real.exitCode).toBe(0);
  });

  it('names an unknown training setting with its line and a did-you-mean', () => {
    const text = MINIMAL.replace('  learning_rate: 1.0e-4', '  learnig_rate: 1.0e-4');
    const [problem, ...rest] = problemsOf(text);
    expect(rest).toHaveLength(0);
    expect(problem).toMatchObject({ file: 'exp.yaml', line: lineOf(text, 'learnig_rate'), col: 3, key: 'baseline.learnig_rate' });
    expect(problem!.message).toContain('did you mean "learning_rate"');
  });

  it('suggests top-level and nested keys too', () => {
    const text = MINIMAL.replace('samples:', 'sampels:');
    const problems = problemsOf(text);
    expect(problems.map((p) => p.message).join('\n')).toContain('did you mean "samples"');
    expect(problems.some((p) => p.key === 'samples' && p.message.includes('required'))).toBe(true);
  });

  it('reports type and range errors, every one at once', () => {
    const text = MINIMAL.replace('learning_rate: 1.0e-4', 'learning_rate: -0.1')
      .replace('train_batch_size: 2', 'train_batch_size: 0')
      .replace('max_train_steps: 20', 'max_train_steps: lots');
    const problems = problemsOf(text);
    const byKey = Object.fromEntries(problems.map((p) => [p.key, p]));
    expect(Object.keys(byKey).sort()).toEqual(['baseline.learning_rate', 'baseline.max_train_steps', 'baseline.train_batch_size']);
    expect(byKey['baseline.learning_rate']!.message).toContain('greater than 0');
    expect(byKey['baseline.train_batch_size']!.message).toContain('at least 1');
    expect(byKey['baseline.max_train_steps']!.message).toContain('expected a number, got the text "lots"');
    expect(byKey['baseline.max_train_steps']!.line).toBe(lineOf(text, 'max_train_steps: lots'));
  });

  it('refuses a resolution that is not a multiple of 8, in a variant, at the variant line', () => {
    const text = MINIMAL.replace('    learning_rate: 5.0e-5', '    resolution: 500');
    const [problem] = problemsOf(text);
    expect(problem).toMatchObject({ key: 'variants.lr-low.resolution', line: lineOf(text, 'resolution: 500') });
    expect(problem!.message).toContain('multiple of 8');
  });

  it('refuses a variant that overrides an unknown setting', () => {
    const text = MINIMAL.replace('    learning_rate: 5.0e-5', '    lerning_rate: 5.0e-5');
    const [problem] = problemsOf(text);
    expect(problem!.key).toBe('variants.lr-low.lerning_rate');
    expect(problem!.message).toContain('did you mean "learning_rate"');
  });

  it('refuses duplicate variant names', () => {
    const text = MINIMAL.replace('samples:', '  lr-low:\n    rank: 8\nsamples:');
    const [problem] = problemsOf(text);
    expect(problem!.message).toContain('duplicate key');
    expect(problem!.line).toBe(lineOf(text, 'rank: 8') - 1);
  });

  it('refuses settings the harness manages, saying why', () => {
    const text = MINIMAL.replace('  seed: 0', '  seed: 0\n  validation_prompt: a photo of TOK boy');
    const [problem] = problemsOf(text);
    expect(problem!.key).toBe('baseline.validation_prompt');
    expect(problem!.message).toContain('set by the harness');
  });

  it('refuses a grid axis with a value of the wrong type', () => {
    const text = MINIMAL.replace('samples:', 'grid:\n  rank: [4, "big"]\nsamples:');
    const [problem] = problemsOf(text);
    expect(problem).toMatchObject({ key: 'grid.rank[1]', line: lineOf(text, 'rank: [4') });
  });

  it('refuses sampling a checkpoint that will never exist', () => {
    const text = MINIMAL.replace('  seeds: [1, 2]', '  seeds: [1, 2]\n  checkpoints: [15]');
    const problems = problemsOf(text);
    expect(problems[0]!.key).toBe('samples.checkpoints[0]');
    expect(problems[0]!.message).toContain('no checkpoint-15');
  });

  it('reports YAML syntax errors with their position', () => {
    const problems = problemsOf('name: x\nbase: [unclosed\n');
    expect(problems[0]!.line).toBeGreaterThanOrEqual(2);
  });

  it('exits 2 through the CLI, printing file:line:col key: message', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'bad.yaml');
    const text = MINIMAL.replace('  learning_rate: 1.0e-4', '  learnig_rate: 1.0e-4');
    await writeFile(file, text);
    const result = await harness(['plan', file], { cwd: dir });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(`bad.yaml:${lineOf(text, 'learnig_rate')}:3 baseline.learnig_rate: unknown training setting (did you mean "learning_rate"?)`);
  });

  it('warns (without failing) about an unpinned model', () => {
    const text = MINIMAL.replace('commit: 0123456789abcdef0123456789abcdef01234567', 'commit: null');
    const experiment = parseExperiment('exp.yaml', text);
    expect(experiment.warnings.map((w) => w.key)).toContain('base.model.commit');
  });
});
