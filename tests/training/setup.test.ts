// `harness setup` against a loopback server standing in for GitHub's raw files, `harness doctor`, and the
// baseline argv of the real experiment checked against the script's flags.
import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sha256 } from '../../harness/util/hash.ts';
import { harness, REPO } from '../helpers/cli.ts';
import { FIXTURE_DIR, FIXTURE_SITE, pinnedWorkspace, useRawScriptServer, runFixture, workspace } from './helpers.ts';

const raw = useRawScriptServer();

describe('harness setup', () => {
  it('downloads the pinned script, verifies and caches it, reports what the environment lacks; run then uses the cached script', async () => {
    const ws = await pinnedWorkspace(raw.body);
    const env = { ...ws.env, HARNESS_SCRIPT_BASE_URL: raw.url };
    const first = await harness(['setup', ws.experiment, '--json'], { cwd: ws.root, env });
    expect(first.exitCode, first.stderr).toBe(1);
    const result = JSON.parse(first.stdout);
    expect(result.script).toMatchObject({ sha256: sha256(raw.body), source: 'download' });
    expect(result.script.path.startsWith(path.join(ws.root, 'cache', 'harness'))).toBe(true);
    expect(await readFile(result.script.path)).toEqual(raw.body);
    expect(result.environment.missing).toEqual(expect.arrayContaining(['diffusers', 'accelerate', 'transformers']));
    expect(result.environment.installCommand).toBe('pip install -r python/requirements-cuda.txt');
    expect(result.models.map((m: { source: string; exists: boolean }) => [m.source, m.exists])).toEqual([['unpinned', false], ['unpinned', false]]);

    const count = raw.requests.length;
    const second = await harness(['setup', ws.experiment, '--model', ws.model, '--vae', ws.vae], { cwd: ws.root, env });
    expect(raw.requests.length).toBe(count);
    expect(second.stdout).toMatch(/script .*cached/);
    expect(second.stdout).toMatch(/missing Python packages: .*diffusers/);
    expect(second.stdout).toContain('fix: pip install -r python/requirements-cuda.txt');

    const run = await harness(['run', ws.experiment, '--variant', 'baseline', '--store', ws.store, '--model', ws.model, '--vae', ws.vae, '--no-preflight', '--until', 'train', '--json'], { cwd: ws.root, env });
    expect(run.exitCode, run.stderr).toBe(0);
    const spec = JSON.parse(await readFile(path.join(JSON.parse(run.stdout).runDir, 'spec.json'), 'utf8'));
    expect(spec.trainer).toMatchObject({ script: result.script.path, scriptSha256: sha256(raw.body), scriptPinned: true });
  });

  it('refuses a download whose sha256 differs from the pin, naming both hashes, and caches nothing', async () => {
    const ws = await pinnedWorkspace(raw.body);
    const r = await harness(['setup', ws.experiment], { cwd: ws.root, env: { ...ws.env, HARNESS_SCRIPT_BASE_URL: `${raw.url}/tampered` } });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`expected ${sha256(raw.body)}`);
    expect(r.stderr).toContain(`got ${sha256(Buffer.concat([raw.body, Buffer.from('\n# edited\n')]))}`);
    await expect(readFile(path.join(ws.root, 'cache', 'harness', 'diffusers-scripts', sha256(raw.body), 'train_dreambooth_lora_sdxl.py'))).rejects.toThrow();
  });

  it('run without a cached script says to run setup', async () => {
    const ws = await workspace();
    // no mirror of upstream files either (the default ../shared/mirror holds the pinned script)
    const r = await harness(['run', ws.experiment, '--variant', 'baseline', '--store', ws.store, '--unpinned'], { cwd: ws.root, env: { ...ws.env, HARNESS_MIRROR: '' } });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/not in the cache/);
    expect(r.stderr).toMatch(/harness setup/);
  });
});

describe('harness doctor', () => {
  it('reports the GPU and torch build it finds and what is missing', async () => {
    const ws = await workspace();
    const r = await harness(['doctor', '--json'], { cwd: ws.root, env: ws.env });
    expect(r.exitCode).toBe(1);
    const json = JSON.parse(r.stdout);
    expect(json.environment.gpus[0]).toMatchObject({ capability: '6.0', memoryMb: 16384 });
    expect(json.environment.torch.archList).toContain('sm_60');
    expect(json.environment.errors.map((e: { message: string }) => e.message).join('\n')).toMatch(/missing Python packages/);
  });
});

describe('the baseline argv', () => {
  it('has every seed-recipe value explicit, never --validation_prompt, and the script flags accept it', async () => {
    const r = await harness(['plan', 'experiments/tok-boy.yaml', '--json'], { cwd: REPO });
    expect(r.exitCode, r.stderr).toBe(0);
    const baseline = JSON.parse(r.stdout).runs.find((run: { variant: string }) => run.variant === 'baseline');
    const argv: string[] = baseline.argv;
    const value = (flag: string) => argv[argv.indexOf(flag) + 1];
    const expected: Record<string, string> = {
      '--resolution': '512', '--train_batch_size': '2', '--gradient_accumulation_steps': '1', '--learning_rate': '0.0001',
      '--lr_scheduler': 'constant', '--lr_warmup_steps': '0', '--max_train_steps': '500', '--rank': '4', '--mixed_precision': 'fp16',
      '--seed': '0', '--checkpointing_steps': '102', '--caption_column': 'prompt', '--image_column': 'image',
      '--instance_prompt': 'a photo of TOK boy', '--report_to': 'tensorboard', '--optimizer': 'AdamW',
    };
    for (const [flag, v] of Object.entries(expected)) expect([flag, value(flag)]).toEqual([flag, v]);
    expect(argv).toContain('--use_8bit_adam');
    expect(argv).toContain('--gradient_checkpointing');
    expect(path.isAbsolute(value('--output_dir')!)).toBe(true);
    expect(argv).not.toContain('--validation_prompt');
    expect(argv).not.toContain('--revision');
    const parse = `import sys; sys.path.insert(0, ${JSON.stringify(FIXTURE_DIR)}); import train_dreambooth_lora_sdxl as t; a = t.parse_args(sys.argv[1:]); print(a.mixed_precision, a.lr_warmup_steps, a.checkpointing_steps)`;
    const ok = await execa('python3', ['-c', parse, ...argv], { env: { PYTHONPATH: FIXTURE_SITE }, reject: false });
    expect(ok.stdout.trim()).toBe('fp16 0 102');
    const bad = await execa('python3', ['-c', parse, ...argv, '--not_a_flag', '1'], { env: { PYTHONPATH: FIXTURE_SITE }, reject: false });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/unrecognized arguments: --not_a_flag/);
  });

  it('--set changes the run id; the same --set gives the same id', async () => {
    const ws = await workspace();
    const plain = await runFixture(ws, {}, 'baseline');
    const changed = await runFixture(ws, {}, 'baseline', ['--set', 'max_train_steps=8']);
    expect(changed.exitCode, changed.stderr).toBe(0);
    expect(changed.json.runId).not.toBe(plain.json.runId);
    expect(changed.json.overrides).toEqual({ max_train_steps: 8 });
    expect(changed.json.summary.lastStep).toBe(8);
    const again = await runFixture(ws, {}, 'baseline', ['--set', 'max_train_steps=8']);
    expect(again.json).toMatchObject({ runId: changed.json.runId, outcome: 'already_trained' });
  });
});
