// `harness run` and `harness sweep` as issue 20 wants them: config warnings where a run starts (text and
// --json), --set warned like the file, a user's Ctrl-C reported and counted as interrupted (not failed),
// and a requested sample set that could not be made reported by the run.
import { execa } from 'execa';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, harness } from '../helpers/cli.ts';
import { FIXTURE_SCRIPT, sweepWorkspace } from '../sweep/helpers.ts';
import { runArgs, runFixture, workspace } from './helpers.ts';

describe('config warnings where a run starts', () => {
  it('run shows the experiment\'s warnings and those of --set, on stderr and in --json', async () => {
    const ws = await workspace({ lr_scheduler: 'cosine', lr_warmup_steps: 500 });
    const r = await runFixture(ws, {}, 'baseline', ['--set', 'report_to=wandb']);
    expect(r.exitCode, r.stderr).toBe(0);
    const warmup = 'lr_scheduler cosine warms up for 500 steps (the script\'s default), longer than the whole run of 12 steps';
    const wandb = '--set: baseline: report_to wandb makes the script log to W&B itself';
    expect(r.stderr).toContain(warmup);
    expect(r.stderr).toContain(wandb);
    expect(r.json.warnings.some((w: string) => w.includes(warmup))).toBe(true);
    expect(r.json.warnings.some((w: string) => w.includes(wandb))).toBe(true);
    // without --set, report_to is not mentioned
    const plain = await runFixture(ws, {}, 'accum');
    expect(plain.stderr).not.toContain('report_to');
  }, 120_000);

  it('sweep shows them too, and in --json', async () => {
    const ws = await sweepWorkspace();
    const yaml = await readFile(path.join(ws.root, 'exp.yaml'), 'utf8');
    await writeFile(path.join(ws.root, 'exp.yaml'), yaml.replace('  lr_warmup_steps: 0\n', '  lr_scheduler: cosine\n'));
    const r = await harness([...ws.args(['--max-runs', '0']), '--json'], { cwd: ws.root, env: ws.env });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('lr_scheduler cosine warms up for 500 steps');
    expect(JSON.parse(r.stdout).warnings.some((w: string) => w.includes('lr_scheduler cosine warms up for 500 steps'))).toBe(true);
  }, 120_000);
});

describe('a user\'s Ctrl-C of run', () => {
  it('is reported and counted as interrupted, not failed', async () => {
    const ws = await workspace({ max_train_steps: 200, checkpointing_steps: 50 });
    const args = runArgs(ws).filter((a) => a !== '--json');
    const child = execa(process.execPath, [BIN, ...args], { cwd: ws.root, env: { NO_COLOR: '1', ...ws.env, FIXTURE_STEP_SECONDS: '0.05' }, reject: false });
    const deadline = Date.now() + 60_000;
    let events = '';
    while (Date.now() < deadline && !events.includes('"metric"')) {
      await new Promise((r) => setTimeout(r, 100));
      const runs = await readdir(path.join(ws.store, 'fixture-exp')).catch(() => [] as string[]);
      if (runs[0]) events = await readFile(path.join(ws.store, 'fixture-exp', runs[0], 'events.jsonl'), 'utf8').catch(() => '');
    }
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode).toBe(130);
    expect(r.stdout).toMatch(/^interrupted baseline-[0-9a-f]{8}: /);
    expect(r.stdout).not.toMatch(/^failed/m);
    expect(r.stdout).toContain('run the same command again to resume');
    // status sees the run as it was trained (with the stand-in script): planned, interrupted
    const status = JSON.parse((await harness(['status', ws.experiment, '--store', ws.store, '--json'], { cwd: ws.root })).stdout);
    expect(status.runs.find((row: { variant: string; planned: boolean }) => row.planned && row.variant === 'baseline')).toMatchObject({ state: 'failed', reason: 'interrupted' });
    const text = await harness(['status', ws.experiment, '--store', ws.store], { cwd: ws.root });
    expect(text.stdout).toMatch(/baseline-[0-9a-f]{8}\s+interrupted\s/);
    expect(text.stdout).not.toMatch(/baseline-[0-9a-f]{8}\s+failed/);
    // counted as interrupted, not failed
    const { shownState } = await import('../../harness/commands/status.ts');
    expect(shownState({ state: 'failed', reason: 'interrupted' })).toBe('interrupted');
    expect(shownState({ state: 'failed', reason: 'oom' })).toBe('failed');
  }, 120_000);
});

describe('a sample set the run could not make', () => {
  it('is reported by the run, not silently missing', async () => {
    const ws = await sweepWorkspace();
    const text = await readFile(path.join(ws.root, 'exp.yaml'), 'utf8');
    await writeFile(path.join(ws.root, 'exp.yaml'), text.replace('  control: true\n', '  control: false\n  checkpoints: [4]\n'));
    const base = ['run', 'exp.yaml', '--variant', 'baseline', '--store', ws.store, '--script', FIXTURE_SCRIPT, '--model', 'model', '--vae', 'vae', '--no-preflight', '--device', 'cpu'];
    const trained = await harness([...base, '--until', 'train'], { cwd: ws.root, env: ws.env, timeout: 120_000 });
    expect(trained.exitCode, trained.stderr).toBe(0);
    // checkpoint-4 goes missing before sampling (pruned, or lost with a disk): the run must say so
    const runDir = (await readdir(path.join(ws.store, 'sweep-exp'))).find((n) => n.startsWith('baseline-'))!;
    await rm(path.join(ws.store, 'sweep-exp', runDir, 'output', 'checkpoint-4'), { recursive: true });
    const sampled = await harness([...base, '--until', 'sample'], { cwd: ws.root, env: ws.env, timeout: 120_000 });
    expect(sampled.exitCode, sampled.stderr).toBe(0);
    expect(sampled.stdout).toMatch(/not made baseline-[0-9a-f]{8} checkpoint-4: no complete checkpoint-4/);
    const json = JSON.parse((await harness([...base, '--until', 'sample', '--json'], { cwd: ws.root, env: ws.env, timeout: 120_000 })).stdout);
    expect(json.missingSets).toEqual([expect.objectContaining({ what: expect.stringContaining('checkpoint-4') })]);
  }, 240_000);
});

