// Each way a training attempt can end, classified from what the real child processes left behind.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { metricSteps, readEvents, runFixture, workspace } from './helpers.ts';

const statusOf = async (runDir: string) => JSON.parse(await readFile(path.join(runDir, 'status.json'), 'utf8'));

describe('failure classification', () => {
  it('CUDA out of memory → oom, with the log tail', async () => {
    const ws = await workspace();
    const r = await runFixture(ws, { FIXTURE_OOM_AT: '3' });
    expect(r.exitCode).toBe(1);
    expect(r.json).toMatchObject({ outcome: 'failed', reason: 'oom' });
    const status = await statusOf(r.json.runDir);
    expect(status).toMatchObject({ state: 'failed', reason: 'oom', exitCode: 1 });
    expect(status.logTail.join('\n')).toContain('CUDA out of memory');
    expect((await readEvents(r.json.runDir)).at(-1)).toMatchObject({ type: 'end', status: 'oom', step: 2 });
    // the step that failed, and advice that fits: this run already has gradient checkpointing and 8-bit Adam
    expect(r.json.message).toContain('CUDA out of memory during step 3 (after 2 completed steps)');
    expect(r.json.message).not.toMatch(/set gradient_checkpointing|set use_8bit_adam/);
    expect(r.json.message).toContain('lower train_batch_size 2 → 1');
  });

  it('SIGKILL from outside (the kernel OOM killer) → oom, system RAM', async () => {
    const ws = await workspace();
    const r = await runFixture(ws, { FIXTURE_SIGKILL_AT: '3' });
    expect(r.exitCode).toBe(1);
    expect(r.json).toMatchObject({ reason: 'oom', signal: 'SIGKILL' });
    expect(r.json.message).toMatch(/system RAM/);
  });

  it('NaN loss → nan_loss: stopped at once, earlier checkpoints kept as evidence', async () => {
    const ws = await workspace();
    const r = await runFixture(ws, { FIXTURE_NAN_AT: '6' });
    expect(r.exitCode).toBe(1);
    expect(r.json).toMatchObject({ outcome: 'failed', reason: 'nan_loss' });
    expect(r.json.message).toMatch(/step 6/);
    const events = await readEvents(r.json.runDir);
    expect(metricSteps(events)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(events.find((e) => e.step === 6 && e.type === 'metric')).toMatchObject({ loss: null, loss_nonfinite: 'nan' });
    expect((await stat(path.join(r.json.runDir, 'output', 'checkpoint-4', 'optimizer.bin'))).isFile()).toBe(true);
  });

  it('an exception → crashed, with exit code and the last log lines (at most 50) in status.json', async () => {
    const ws = await workspace();
    const r = await runFixture(ws, { FIXTURE_CRASH_AT: '3' });
    expect(r.exitCode).toBe(1);
    const status = await statusOf(r.json.runDir);
    expect(status).toMatchObject({ state: 'failed', reason: 'crashed', exitCode: 1 });
    expect(status.message).toContain('ValueError: fixture crash at step 3');
    expect(status.logTail.length).toBeLessThanOrEqual(50);
    expect(status.logTail.join('\n')).toContain('Traceback (most recent call last)');
  });

  it('weights saved, then the final reload is SIGKILLed → still trained', async () => {
    const ws = await workspace();
    const r = await runFixture(ws, { FIXTURE_RELOAD: 'oom' }, 'baseline', ['--final-reload']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ outcome: 'trained', signal: 'SIGKILL' });
    expect(r.json.message).toMatch(/after the weights were safe/);
    expect((await statusOf(r.json.runDir)).state).toBe('trained');
  });

  it('a LoRA file whose ranks do not match the settings → invalid_weights', async () => {
    const ws = await workspace();
    const r = await runFixture(ws, { FIXTURE_SAVE_RANK: '8' });
    expect(r.exitCode).toBe(1);
    expect(r.json).toMatchObject({ reason: 'invalid_weights' });
    expect(r.json.message).toMatch(/rank 8\/8 \(down\/up\), settings say rank 4/);
  });

  it('preflight refuses missing packages and bf16 on a compute-capability-6.0 card once, before the run folder exists (exit 2)', async () => {
    const ws = await workspace();
    const args = ['run', ws.experiment, '--variant', 'baseline', '--store', ws.store, '--model', ws.model, '--vae', ws.vae, '--script', path.join(ws.root, 'exp.yaml'), '--set', 'mixed_precision=bf16', '--json'];
    const { harness } = await import('../helpers/cli.ts');
    const r = await harness(args, { cwd: ws.root, env: ws.env });
    expect(r.exitCode).toBe(2);
    const json = JSON.parse(r.stdout);
    expect(json.error.exitCode).toBe(2);
    expect(json.error.message).toMatch(/^refused before any run started/);
    expect(json.error.message).toMatch(/missing Python packages: .*diffusers/);
    expect(json.error.message).toContain('pip install -r python/requirements-cuda.txt');
    expect(json.error.message).toMatch(/bf16 on Tesla P100.*compute capability 6\.0/);
    await expect(stat(ws.store)).rejects.toThrow(); // no run folder, no lock, no W&B record
  });
});
