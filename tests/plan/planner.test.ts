import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseExperiment } from '../../harness/config/load.ts';
import type { ExperimentFile } from '../../harness/config/schema.ts';
import { fingerprintDataset } from '../../harness/dataset/hash.ts';
import { gridPoints } from '../../harness/plan/expand.ts';
import { planExperiment, runHash, type Plan } from '../../harness/plan/planner.ts';
import { harness } from '../helpers/cli.ts';
import { MINIMAL } from '../helpers/experiment.ts';
import { tempDir } from '../helpers/tmp.ts';

const DATASET = { dir: '/data', hash: 'a'.repeat(64), imageCount: 11 };

function planOf(text: string, dataset: { dir: string; hash: string | null; imageCount: number | null } = DATASET): Plan {
  const { config } = parseExperiment('exp.yaml', text);
  return planExperiment({ config, dataset, storeRoot: '/store', hubCache: '/hub' });
}

function ids(plan: Plan): Record<string, string> {
  return Object.fromEntries(plan.runs.map((r) => [r.variant, r.id]));
}

describe('run ids', () => {
  it('are <variant>-<hash8>', () => {
    expect(ids(planOf(MINIMAL))).toEqual({
      baseline: expect.stringMatching(/^baseline-[0-9a-f]{8}$/),
      'lr-low': expect.stringMatching(/^lr-low-[0-9a-f]{8}$/),
    });
  });

  it('do not change when keys are reordered or numbers are written differently', () => {
    const reordered = MINIMAL.replace('  resolution: 512\n  train_batch_size: 2\n', '  train_batch_size: 2\n  resolution: 512\n')
      .replace('learning_rate: 1.0e-4', 'learning_rate: 0.0001')
      .replace('learning_rate: 5.0e-5', 'learning_rate: 0.00005');
    expect(reordered).not.toBe(MINIMAL);
    expect(ids(planOf(reordered))).toEqual(ids(planOf(MINIMAL)));
  });

  it('hash the same whatever the key order of the objects hashed, at every depth (canonical JSON sorts the keys)', () => {
    // the planner puts settings in a fixed order before hashing; the hash must not depend on that
    const run = planOf(MINIMAL).runs[0]!;
    const reversed = <T extends object>(value: T): T => Object.fromEntries(Object.entries(value).reverse()) as T;
    const settings = reversed(run.settings);
    const provenance = { ...reversed(run.provenance), model: reversed(run.provenance.model), vae: reversed(run.provenance.vae) };
    expect(JSON.stringify(settings)).not.toBe(JSON.stringify(run.settings));
    expect(JSON.stringify(provenance.model)).not.toBe(JSON.stringify(run.provenance.model));
    expect(runHash(settings, provenance)).toBe(run.hash);
    expect(run.id).toBe(`baseline-${run.hash.slice(0, 8)}`);
    // while the values still count
    expect(runHash({ ...settings, seed: 1 }, provenance)).not.toBe(run.hash);
  });

  it('writing out a default the script would pick gives the same run', () => {
    const explicit = MINIMAL.replace('  seed: 0', '  seed: 0\n  gradient_accumulation_steps: 1');
    expect(ids(planOf(explicit))).toEqual(ids(planOf(MINIMAL)));
  });

  it('change with any setting, the dataset, the script and the model commits', () => {
    const base = ids(planOf(MINIMAL)).baseline;
    const changed = [
      planOf(MINIMAL.replace('resolution: 512', 'resolution: 520')),
      planOf(MINIMAL.replace('  seed: 0', '  seed: 1')),
      planOf(MINIMAL.replace('mixed_precision: fp16', 'mixed_precision: "no"')),
      planOf(MINIMAL, { ...DATASET, hash: 'b'.repeat(64) }),
      planOf(MINIMAL.replace('sha256: 88ffa83c', 'sha256: 99ffa83c')),
      planOf(MINIMAL.replace('0123456789abcdef0123456789abcdef01234567', '1123456789abcdef0123456789abcdef01234567')),
      planOf(MINIMAL.replace('89abcdef0123456789abcdef0123456789abcdef', '99abcdef0123456789abcdef0123456789abcdef')),
      planOf(MINIMAL.replace('instance_prompt: a photo of TOK boy', 'instance_prompt: a photo of TOK man').replaceAll('TOK boy', 'TOK man')),
    ].map((p) => ids(p).baseline);
    for (const id of changed) expect(id).not.toBe(base);
    expect(new Set(changed).size).toBe(changed.length);
  });

  it('change when one byte of one dataset file changes, and not with file-system order', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'b.png'), Buffer.from([1, 2, 3]));
    await writeFile(path.join(dir, 'a.png'), Buffer.from([4, 5, 6]));
    await writeFile(path.join(dir, 'metadata.jsonl'), '{"file_name":"a.png","prompt":"x"}\n');
    const first = await fingerprintDataset(dir);
    expect(first.files.map((f) => f.path)).toEqual(['a.png', 'b.png', 'metadata.jsonl']);
    expect(first.imageCount).toBe(2);
    expect((await fingerprintDataset(dir)).hash).toBe(first.hash);
    await writeFile(path.join(dir, 'b.png'), Buffer.from([1, 2, 4]));
    const second = await fingerprintDataset(dir);
    expect(second.hash).not.toBe(first.hash);
    await writeFile(path.join(dir, '.DS_Store'), 'junk');
    expect((await fingerprintDataset(dir)).hash).toBe(second.hash);
  });
});

describe('grid', () => {
  it('expands to the cartesian product, in file order, with readable names', () => {
    expect(gridPoints({ rank: [4, 8], learning_rate: [1e-4, 5e-5] })).toEqual([
      { rank: 4, learning_rate: 1e-4 },
      { rank: 4, learning_rate: 5e-5 },
      { rank: 8, learning_rate: 1e-4 },
      { rank: 8, learning_rate: 5e-5 },
    ]);
    const plan = planOf(MINIMAL.replace('samples:', 'grid:\n  rank: [8, 16]\n  snr_gamma: [5.0]\nsamples:'));
    expect(plan.runs.map((r) => r.variant)).toEqual(['baseline', 'lr-low', 'grid-rank_8-snr_gamma_5', 'grid-rank_16-snr_gamma_5']);
    expect(plan.runs[3]!.overrides).toEqual({ rank: 16, snr_gamma: 5 });
  });

  it('merges a grid point equal to another run into one run with an alias', () => {
    const plan = planOf(MINIMAL.replace('samples:', 'grid:\n  learning_rate: [5.0e-5]\nsamples:'));
    expect(plan.runs.map((r) => r.variant)).toEqual(['baseline', 'lr-low']);
    expect(plan.runs[1]!.aliases).toEqual(['grid-learning_rate_0p00005']);
  });
});

describe('trainer argv', () => {
  it('passes every flag explicitly and never a validation prompt', () => {
    const run = planOf(MINIMAL).runs[0]!;
    const argv = run.argv;
    const value = (flag: string) => argv[argv.indexOf(flag) + 1];
    for (const flag of ['--mixed_precision', '--lr_warmup_steps', '--checkpointing_steps', '--caption_column', '--seed', '--output_dir', '--pretrained_vae_model_name_or_path']) {
      expect(argv).toContain(flag);
    }
    expect(value('--caption_column')).toBe('prompt');
    expect(value('--mixed_precision')).toBe('fp16');
    expect(value('--lr_warmup_steps')).toBe('0');
    expect(value('--output_dir')).toBe(`/store/mini/${run.id}/output`);
    expect(value('--pretrained_model_name_or_path')).toBe('/hub/models--org--base/snapshots/0123456789abcdef0123456789abcdef01234567');
    expect(argv.some((a) => a.includes('validation'))).toBe(false);
    // each flag once
    const flags = argv.filter((a) => a.startsWith('--'));
    expect(new Set(flags).size).toBe(flags.length);
  });

  it('matches the recipe of the series for the tok-boy baseline', async () => {
    const result = await harness(['plan', 'experiments/tok-boy.yaml', '--json']);
    const plan = JSON.parse(result.stdout) as { runs: { variant: string; argv: string[] }[] };
    const argv = plan.runs.find((r) => r.variant === 'baseline')!.argv;
    const pairs = new Map<string, string | true>();
    argv.forEach((arg, i) => {
      if (arg.startsWith('--')) pairs.set(arg, argv[i + 1]?.startsWith('--') || i + 1 === argv.length ? true : argv[i + 1]!);
    });
    expect(Object.fromEntries(pairs)).toMatchObject({
      '--resolution': '512',
      '--train_batch_size': '2',
      '--learning_rate': '0.0001',
      '--max_train_steps': '500',
      '--mixed_precision': 'fp16',
      '--use_8bit_adam': true,
      '--gradient_checkpointing': true,
      '--lr_scheduler': 'constant',
      '--lr_warmup_steps': '0',
      '--rank': '4',
      '--instance_prompt': 'a photo of TOK boy',
      '--caption_column': 'prompt',
    });
  });

  it('estimates epochs like the script does (11 images, batch 2 → 6 batches, 84 epochs)', () => {
    const tok = planOf(MINIMAL.replace('max_train_steps: 20', 'max_train_steps: 500'));
    expect(tok.runs[0]!.steps).toEqual({ images: 11, batchesPerEpoch: 6, stepsPerEpoch: 6, epochs: 84, maxTrainSteps: 500 });
  });
});

describe('harness plan', () => {
  it('prints JSON of the documented shape', async () => {
    const dir = await tempDir();
    await mkdir(path.join(dir, 'data'));
    await writeFile(path.join(dir, 'data', 'a.png'), 'x');
    await writeFile(path.join(dir, 'exp.yaml'), MINIMAL);
    const result = await harness(['plan', 'exp.yaml', '--json'], { cwd: dir });
    expect(result.exitCode).toBe(0);
    const plan = JSON.parse(result.stdout);
    expect(plan).toMatchObject({ schemaVersion: 1, experiment: 'mini', storeRoot: path.join(dir, 'runs') });
    expect(plan.runs).toHaveLength(2);
    for (const run of plan.runs) {
      expect(Object.keys(run)).toEqual(expect.arrayContaining(['id', 'variant', 'settings', 'argv']));
      expect(run.provisional).toBe(false);
    }
    expect(plan.runs[1].overrides).toEqual({ learning_rate: 5e-5 });
  });

  it('still plans without the dataset, marking ids provisional and saying how to fix it', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'exp.yaml'), MINIMAL);
    const result = await harness(['plan', 'exp.yaml'], { cwd: dir });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('(provisional)');
    expect(result.stderr).toContain('dataset folder not found');
  });

  it('honours --store and HARNESS_STORE (flag wins)', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'exp.yaml'), MINIMAL);
    const viaEnv = JSON.parse((await harness(['plan', 'exp.yaml', '--json'], { cwd: dir, env: { HARNESS_STORE: '/tmp/s1' } })).stdout);
    expect(viaEnv.storeRoot).toBe('/tmp/s1');
    const viaFlag = JSON.parse((await harness(['plan', 'exp.yaml', '--json', '--store', '/tmp/s2'], { cwd: dir, env: { HARNESS_STORE: '/tmp/s1' } })).stdout);
    expect(viaFlag.storeRoot).toBe('/tmp/s2');
  });
});

export type { ExperimentFile };
