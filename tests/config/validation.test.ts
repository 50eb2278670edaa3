import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseExperiment } from '../../harness/config/load.ts';
import { harness } from '../helpers/cli.ts';
import { MINIMAL, problemsOf } from '../helpers/experiment.ts';
import { tempDir } from '../helpers/tmp.ts';


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

  it('refuses a variant written twice (the YAML parser\'s duplicate key)', () => {
    const text = MINIMAL.replace('samples:', '  lr-low:\n    rank: 8\nsamples:');
    const [problem] = problemsOf(text);
    expect(problem!.message).toContain('duplicate key');
    expect(problem!.line).toBe(lineOf(text, 'rank: 8') - 1);
  });

  it('refuses two runs that resolve to one name: a variant named like a grid point, or "baseline"', () => {
    const text = MINIMAL.replace('  lr-low:\n    learning_rate: 5.0e-5', '  grid-rank_8:\n    rank: 8').replace('samples:', 'grid:\n  rank: [8, 16]\nsamples:');
    // no duplicate key anywhere: the names collide only once the grid is expanded
    expect(text.match(/grid-rank_8/g)).toHaveLength(1);
    const problems = problemsOf(text);
    expect(problems.map((p) => [p.key, p.message])).toEqual([['grid', 'two runs would be named "grid-rank_8"']]);
    expect(problems[0]!.line).toBe(lineOf(text, 'grid:'));
    // the same grid beside a variant of another name is fine
    expect(parseExperiment('exp.yaml', text.replace('  grid-rank_8:', '  rank-8:')).name).toBe('mini');

    const baseline = MINIMAL.replace('  lr-low:', '  baseline:');
    const [named] = problemsOf(baseline);
    expect(named).toMatchObject({ key: 'variants.baseline', line: lineOf(baseline, '  baseline:') });
    expect(named!.message).toBe('"baseline" is the name of the baseline run itself');
  });

  it('refuses duplicate prompt ids (their sample files would collide) and repeated seeds', () => {
    const text = MINIMAL.replace('  seeds: [1, 2]', '    - id: portrait\n      prompt: a photo of TOK boy, smiling\n  seeds: [1, 2, 1]');
    const problems = problemsOf(text);
    expect(problems.map((p) => [p.key, p.message])).toEqual([
      ['samples.prompts[1].id', 'duplicate prompt id "portrait"'],
      ['samples.seeds', 'seeds repeat'],
    ]);
    expect(problems[0]!.line).toBe(lineOf(text, 'prompt: a photo of TOK boy, smiling') - 1);
    expect(parseExperiment('exp.yaml', text.replace(/- id: portrait\n(\s+prompt: a photo of TOK boy, smiling)/, '- id: smiling\n$1').replace('[1, 2, 1]', '[1, 2, 3]')).name).toBe('mini');
  });

  it('refuses a regression variant that no run is named', () => {
    const text = `${MINIMAL}regression:\n  variant: lr-lo\n`;
    const problems = problemsOf(text);
    expect(problems.map((p) => [p.key, p.message])).toEqual([['regression.variant', 'no run named "lr-lo" (runs: baseline, lr-low)']]);
    expect(problems[0]!.line).toBe(lineOf(text, 'variant: lr-lo'));
    expect(parseExperiment('exp.yaml', text.replace('lr-lo\n', 'lr-low\n')).config.regression.variant).toBe('lr-low');
  });

  it('refuses snr_gamma in a run that trains EDM-style, at the line that sets it', () => {
    const text = MINIMAL.replace('  seed: 0', '  seed: 0\n  do_edm_style_training: true').replace('    learning_rate: 5.0e-5', '    snr_gamma: 5.0');
    const problems = problemsOf(text);
    expect(problems.map((p) => [p.key, p.message])).toEqual([['variants.lr-low.snr_gamma', 'the script refuses snr_gamma together with do_edm_style_training']]);
    expect(problems[0]!.line).toBe(lineOf(text, 'snr_gamma: 5.0'));
    // either alone is fine
    expect(parseExperiment('exp.yaml', text.replace('  do_edm_style_training: true', '  do_edm_style_training: false')).warnings).toEqual([]);
  });

  it('warns when a scheduler\'s warm-up lasts the whole run, and not when it ends before', () => {
    const text = MINIMAL.replace('  lr_warmup_steps: 0', '  lr_warmup_steps: 20\n  lr_scheduler: cosine');
    const experiment = parseExperiment('exp.yaml', text);
    expect(experiment.warnings.map((w) => [w.key, w.message])).toEqual([
      ['baseline.lr_warmup_steps', 'baseline: lr_scheduler cosine warms up for 20 steps, as long as the whole run of 20 steps: the learning rate reaches at most 100% of 0.0001 (0.0001); set lr_warmup_steps below 20, e.g. 0'],
      ['baseline.lr_warmup_steps', 'lr-low: lr_scheduler cosine warms up for 20 steps, as long as the whole run of 20 steps: the learning rate reaches at most 100% of 0.00005 (0.00005); set lr_warmup_steps below 20, e.g. 0'],
    ]);
    expect(experiment.warnings[0]!.line).toBe(lineOf(text, 'lr_warmup_steps: 20'));
    expect(parseExperiment('exp.yaml', text.replace('lr_warmup_steps: 20', 'lr_warmup_steps: 19')).warnings).toEqual([]);
    // a constant schedule has no warm-up to speak of
    expect(parseExperiment('exp.yaml', text.replace('lr_scheduler: cosine', 'lr_scheduler: constant')).warnings).toEqual([]);
  });

  it('warns about optimizer combinations the script ignores or that log twice', () => {
    const text = MINIMAL.replace('  seed: 0', '  seed: 0\n  optimizer: prodigy\n  use_8bit_adam: true').replace('    learning_rate: 5.0e-5', '    learning_rate: 1.0\n    use_8bit_adam: false\n    report_to: wandb');
    const warnings = parseExperiment('exp.yaml', text).warnings;
    expect(warnings.map((w) => [w.key, w.message])).toEqual([
      ['baseline.use_8bit_adam', 'baseline: the script ignores use_8bit_adam with the prodigy optimizer'],
      ['baseline.learning_rate', 'baseline: prodigy expects learning_rate around 1.0'],
      ['variants.lr-low.report_to', 'lr-low: report_to wandb makes the script log to W&B itself, but the harness already mirrors every metric to W&B (tracking:): the run would be logged twice; keep report_to: tensorboard'],
    ]);
    expect(warnings[2]!.line).toBe(lineOf(text, 'report_to: wandb'));
    // AdamW with 8-bit Adam and a small learning rate is the recipe itself
    expect(parseExperiment('exp.yaml', MINIMAL.replace('  seed: 0', '  seed: 0\n  use_8bit_adam: true')).warnings).toEqual([]);
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
