// `harness run` end to end with the fixture trainer in real child processes.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { metricSteps, readEvents, runFixture, workspace } from './helpers.ts';

describe('harness run (fixture trainer)', () => {
  it('trains a run: events per optimizer step, checkpoints, weights, self-describing run folder', async () => {
    const ws = await workspace();
    const r = await runFixture(ws);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.json.outcome).toBe('trained');
    const runDir = r.json.runDir as string;
    const events = await readEvents(runDir);
    expect(metricSteps(events)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const metric = events.find((e) => e.type === 'metric');
    expect(metric).toMatchObject({ v: 1, step: 1, lr: 0.0001 });
    expect(typeof metric.loss).toBe('number');
    expect(metric.vram_alloc_mb).toBeGreaterThan(0);
    expect(metric.vram_peak_mb).toBeGreaterThanOrEqual(metric.vram_alloc_mb);
    expect(events.filter((e) => e.type === 'checkpoint').map((e) => e.step)).toEqual([4, 8, 12]);
    const saved = events.find((e) => e.type === 'weights_saved');
    expect(saved.path).toBe(path.join(runDir, 'output', 'pytorch_lora_weights.safetensors'));
    expect(saved.bytes).toBe((await stat(saved.path)).size);
    expect(events.at(-1)).toMatchObject({ type: 'end', status: 'success', skipped_reload: true });
    expect(r.json.weights).toMatchObject({ ranks: [4] });
    expect(r.json.summary).toMatchObject({ steps: 12, lastStep: 12 });

    const status = JSON.parse(await readFile(path.join(runDir, 'status.json'), 'utf8'));
    expect(status).toMatchObject({ schemaVersion: 1, state: 'trained', exitCode: 0 });
    expect(status.history.map((h: { state: string }) => h.state)).toEqual(['training', 'trained']);
    const spec = JSON.parse(await readFile(path.join(runDir, 'spec.json'), 'utf8'));
    expect(spec.schemaVersion).toBe(1);
    expect(spec.trainer.argv).toContain('--output_dir');
    expect(spec.trainer.scriptPinned).toBe(false);
    const command = JSON.parse(await readFile(path.join(runDir, 'command.json'), 'utf8'));
    expect(command.args.slice(-2)).toEqual([path.join(process.cwd(), 'python', 'train.py'), path.join(runDir, 'spec.json')]);
    expect(command.env).toMatchObject({ PYTHONUNBUFFERED: '1', HF_HUB_OFFLINE: '1', HARNESS_OWN_GROUP: '1' });
    const env = JSON.parse(await readFile(path.join(runDir, 'env.json'), 'utf8'));
    expect(env.python.python.version).toMatch(/^3\./);
    const log = await readFile(path.join(runDir, 'train.log'), 'utf8');
    expect(log).toContain('***** Running training *****');
    expect(log).toContain('Model weights saved in');

    const again = await runFixture(ws);
    expect(again.exitCode).toBe(0);
    expect(again.json.outcome).toBe('already_trained');
    expect(again.json.message).toMatch(/already trained/);
  });

  it('with gradient accumulation, one metric per optimizer step', async () => {
    const ws = await workspace();
    const r = await runFixture(ws, {}, 'accum');
    expect(r.exitCode, r.stderr).toBe(0);
    const events = await readEvents(r.json.runDir);
    expect(metricSteps(events)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(events.find((e) => e.type === 'start').versions).toMatchObject({ accelerate: '1.15.0+fixture', diffusers: '0.40.0+fixture' });
    const spec = JSON.parse(await readFile(path.join(r.json.runDir, 'spec.json'), 'utf8'));
    expect(spec.trainer.argv.join(' ')).toMatch(/--gradient_accumulation_steps 2/);
  });
});
