// The unmodified diffusers script (v0.40.0, sha256-pinned) trained by `harness run` on the tiny SDXL, on this
// CPU: what the harness records must be what the script did, and a run killed with -9 must resume to the
// very same LoRA an uninterrupted run gives.
import { execa } from 'execa';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, harness } from '../helpers/cli.ts';
import { sha256File } from '../../harness/util/hash.ts';
import { demoWorkspace, realStack } from './stack.ts';
import { killTree, processesWith } from './kill.ts';
import { waitFor } from '../helpers/wait.ts';

const TIMEOUT = 300_000;

interface MetricEvent {
  type: 'metric';
  step: number;
  loss: number;
  lr: number;
}

async function events(runDir: string): Promise<Array<{ type: string; step?: number; path?: string; loss?: number; lr?: number }>> {
  const text = await readFile(path.join(runDir, 'events.jsonl'), 'utf8');
  return text.trim().split('\n').map((line) => JSON.parse(line));
}

/** The script's own TensorBoard scalars (tag → step → value), read by TensorBoard's reader in the real env. */
async function tensorboardScalars(python: string, logDir: string): Promise<Record<string, Record<string, number>>> {
  const code = [
    'import json, sys',
    'from tensorboard.backend.event_processing.event_accumulator import EventAccumulator',
    'acc = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0}); acc.Reload()',
    'print(json.dumps({tag: {str(e.step): e.value for e in acc.Scalars(tag)} for tag in acc.Tags()["scalars"]}))',
  ].join('\n');
  const result = await execa(python, ['-c', code, logDir]);
  return JSON.parse(result.stdout);
}

async function tensorboardDir(runDir: string): Promise<string> {
  const logs = path.join(runDir, 'output', 'logs');
  const [project] = await readdir(logs);
  return path.join(logs, project!);
}

describe('training through the real script', () => {
  it('records every optimizer step once, with the loss and lr the script logged to TensorBoard; checkpoints and the LoRA', { timeout: TIMEOUT }, async () => {
    const stack = await realStack();
    const ws = await demoWorkspace();
    const r = await harness(['run', ws.experiment, '--variant', 'baseline', '--until', 'train', '--store', ws.store, '--json'], { cwd: ws.root, env: stack.env, timeout: TIMEOUT });
    expect(r.exitCode, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.outcome).toBe('trained');
    const runDir: string = result.runDir;

    const all = await events(runDir);
    const metrics = all.filter((e): e is MetricEvent => e.type === 'metric');
    expect(metrics.map((m) => m.step)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    const scalars = await tensorboardScalars(stack.python, await tensorboardDir(runDir));
    expect(Object.keys(scalars.loss ?? {})).toHaveLength(12);
    for (const m of metrics) {
      // TensorBoard stores float32; the tap records the same tensor's value as a Python float
      expect(Math.fround(m.loss)).toBe(scalars.loss![String(m.step)]);
      expect(Math.fround(m.lr)).toBe(scalars.lr![String(m.step)]);
    }
    // checkpointing_steps 6 of 12: checkpoint-6 and checkpoint-12, each complete when recorded
    const checkpoints = all.filter((e) => e.type === 'checkpoint');
    expect(checkpoints.map((c) => c.step)).toEqual([6, 12]);
    for (const c of checkpoints) expect((await readdir(c.path!)).sort()).toEqual(expect.arrayContaining(['optimizer.bin', 'pytorch_lora_weights.safetensors', 'scheduler.bin']));
    const saved = all.find((e) => e.type === 'weights_saved');
    expect(saved?.path).toBe(path.join(runDir, 'output', 'pytorch_lora_weights.safetensors'));
    expect(result.weights.tensors).toBeGreaterThan(0);
    expect(new Set(result.weights.ranks)).toEqual(new Set([4]));
    const spec = JSON.parse(await readFile(path.join(runDir, 'spec.json'), 'utf8'));
    expect(spec.trainer.scriptSha256).toBe('88ffa83ccf7f45fb79fb7fc7fd23bf49ba87a5ba8b011ae295dd0b57fdd5ddfa');
    expect(spec.trainer.scriptPinned).toBe(true);
  });

  it('kill -9 of harness and trainer mid-training, then a rerun: resumes from its own checkpoint, each step once, the same losses and LoRA as an uninterrupted run', { timeout: TIMEOUT }, async () => {
    const stack = await realStack();
    // 18 steps of 3 per epoch, a checkpoint every 6: every checkpoint is on an epoch boundary
    const ws = await demoWorkspace((yaml) => yaml.replace('max_train_steps: 12', 'max_train_steps: 18'));
    const args = ['run', ws.experiment, '--variant', 'baseline', '--until', 'train', '--json'];

    const clean = await harness([...args, '--store', path.join(ws.root, 'clean')], { cwd: ws.root, env: stack.env, timeout: TIMEOUT });
    expect(clean.exitCode, clean.stderr).toBe(0);
    const cleanDir: string = JSON.parse(clean.stdout).runDir;

    const store = path.join(ws.root, 'killed');
    const runDir = path.join(store, 'demo', path.basename(cleanDir));
    const child = execa(process.execPath, [BIN, ...args, '--store', store], { cwd: ws.root, env: { ...stack.env, NO_COLOR: '1' }, reject: false });
    // the first checkpoint is complete, and training goes on
    await waitFor('a checkpoint event', async () => (await events(runDir).catch(() => [])).some((e) => e.type === 'checkpoint'), 240_000);
    const trainers = await processesWith(path.join(runDir, 'spec.json'));
    expect(trainers.length).toBeGreaterThan(0);
    killTree([child.pid!, ...trainers]);
    await child;
    const before = await events(runDir);
    expect(before.some((e) => e.type === 'weights_saved')).toBe(false);
    const lastCheckpoint = Math.max(...before.filter((e) => e.type === 'checkpoint').map((e) => e.step!));
    expect(lastCheckpoint % 3).toBe(0);

    const rerun = await harness([...args, '--store', store], { cwd: ws.root, env: stack.env, timeout: TIMEOUT });
    expect(rerun.exitCode, rerun.stderr).toBe(0);
    const resumed = JSON.parse(rerun.stdout);
    expect(resumed.resumedFrom).toMatchObject({ step: lastCheckpoint, checkpoint: path.join(runDir, 'output', `checkpoint-${lastCheckpoint}`) });

    const after = (await events(runDir)).filter((e): e is MetricEvent => e.type === 'metric');
    const uninterrupted = (await events(cleanDir)).filter((e): e is MetricEvent => e.type === 'metric');
    expect(after.map((m) => m.step)).toEqual(Array.from({ length: 18 }, (_, i) => i + 1));
    expect(after.map((m) => [m.step, m.loss, m.lr])).toEqual(uninterrupted.map((m) => [m.step, m.loss, m.lr]));
    expect(await sha256File(path.join(runDir, 'output', 'pytorch_lora_weights.safetensors'))).toBe(
      await sha256File(path.join(cleanDir, 'output', 'pytorch_lora_weights.safetensors')),
    );
  });
});
