// Messages that show the user's own value, and config warnings wherever a run is started (issue 20 A5,
// A6, B5): what a typo or a trap looks like, said where it is, with what was written.
import { describe, expect, it } from 'vitest';
import { parseExperiment } from '../../harness/config/load.ts';
import type { Problem } from '../../harness/errors.ts';
import { parseSetOverrides } from '../../harness/pipeline/set-overrides.ts';
import { MINIMAL, problemsOf } from '../helpers/experiment.ts';


const byKey = (problems: Problem[]) => Object.fromEntries(problems.map((p) => [p.key, p.message]));

describe('messages that show the value written', () => {
  it('says what was written for a wrong type or a value outside the choices, not "is required" or "undefined"', () => {
    const text = MINIMAL.replace('train_batch_size: 2', 'train_batch_size: "two"').replace('mixed_precision: fp16', 'mixed_precision: fp8');
    const messages = byKey(problemsOf(text));
    expect(messages['baseline.train_batch_size']).toBe('expected a number, got the text "two"');
    expect(messages['baseline.mixed_precision']).toBe('must be one of "no", "fp16", "bf16"; got the text "fp8"');
    expect(Object.values(messages).join('\n')).not.toMatch(/undefined|is required/);
  });

  it('still says "is required" for a key that is really missing', () => {
    const messages = byKey(problemsOf(MINIMAL.replace('  instance_prompt: a photo of TOK boy\n', '')));
    expect(messages['dataset.instance_prompt']).toMatch(/^is required/);
  });

  it('names the duplicate key', () => {
    const [problem] = problemsOf(MINIMAL.replace('  seed: 0\n', '  seed: 0\n  seed: 1\n'));
    expect(problem!.message).toContain('duplicate key "seed"');
  });

  it('suggests the setting a misspelt grid axis meant, and shows a grid value that is not allowed', () => {
    const typo = problemsOf(`${MINIMAL}grid:\n  learnig_rate: [1.0e-4, 5.0e-5]\n`);
    expect(typo[0]!.message).toBe('unknown training setting (did you mean "learning_rate"?)');
    const choice = problemsOf(`${MINIMAL}grid:\n  mixed_precision: [fp16, fp8]\n`);
    expect(choice[0]!.message).toBe('must be one of "no", "fp16", "bf16"; got "fp8"');
  });

  it('shows the --set value as typed, never NaN', () => {
    expect(() => parseSetOverrides(['learning_rate=abc'])).toThrow('--set learning_rate=abc: expected a number, got "abc"');
    expect(() => parseSetOverrides(['mixed_precision=fp8'])).toThrow('--set mixed_precision=fp8: must be one of "no", "fp16", "bf16"; got "fp8"');
    expect(() => parseSetOverrides(['learning_rate=abc'])).not.toThrow(/NaN/);
  });
});

describe('config warnings and checkpoint limits', () => {
  it('says how far the learning rate gets when a scheduler warms up for longer than the run (the script default 500)', () => {
    const text = MINIMAL.replace('  lr_warmup_steps: 0\n', '').replace('max_train_steps: 20', 'max_train_steps: 8').replace('checkpointing_steps: 10', 'checkpointing_steps: 4').replace('seed: 0', 'seed: 0\n  lr_scheduler: cosine');
    const warnings = parseExperiment('exp.yaml', text).warnings.map((w) => w.message);
    expect(warnings).toContain(
      "baseline: lr_scheduler cosine warms up for 500 steps (the script's default), longer than the whole run of 8 steps: the learning rate reaches at most 1.6% of 0.0001 (0.0000016); set lr_warmup_steps below 8, e.g. 0",
    );
  });

  it('warns that report_to wandb logs twice', () => {
    const warnings = parseExperiment('exp.yaml', MINIMAL.replace('seed: 0', 'seed: 0\n  report_to: wandb')).warnings.map((w) => w.message);
    expect(warnings.some((w) => w.includes('report_to wandb makes the script log to W&B itself'))).toBe(true);
  });

  it('refuses a checkpoints_total_limit that deletes a checkpoint samples: asks for, and warns about a limit of 1', () => {
    const text = MINIMAL.replace('max_train_steps: 20', 'max_train_steps: 8').replace('checkpointing_steps: 10', 'checkpointing_steps: 4\n  checkpoints_total_limit: 1').replace('  seeds: [1, 2]', '  seeds: [1, 2]\n  checkpoints: [4]');
    const problems = problemsOf(text);
    expect(problems.map((p) => p.message)).toContain(
      'baseline: checkpoints_total_limit 1 makes the script delete checkpoint-4 before training ends (it keeps only checkpoint-8), so its sample set cannot be made; raise the limit to 2 or drop 4 from samples.checkpoints',
    );
    const limitOne = parseExperiment('exp.yaml', text.replace('  checkpoints: [4]', '  checkpoints: [8]'));
    expect(limitOne.warnings.map((w) => w.message).some((w) => w.includes('checkpoints_total_limit 1: the script deletes the only checkpoint before it writes the next one'))).toBe(true);
    // a limit that keeps what is asked for is fine
    expect(parseExperiment('exp.yaml', text.replace('checkpoints_total_limit: 1', 'checkpoints_total_limit: 2')).warnings.map((w) => w.message).join('\n')).not.toContain('checkpoints_total_limit');
  });
});
