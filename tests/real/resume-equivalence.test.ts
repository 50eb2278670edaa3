// Issue 18 item 3: the script restarts an epoch on resume without skipping the batches it already saw, so a
// run resumed from a checkpoint inside an epoch is not what an uninterrupted run trains. `plan` warns and
// says which value would be aligned; the shipped tok-boy recipe is aligned; a resumed run records whether it
// is equivalent, and `status` and the report show it.
import { copyFile, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.ts';
import { demoWorkspace, realStack } from './stack.ts';
import { driver, jsonLines, REPO, runDirs, SMALL, yamlWith, type Driver } from './drive.ts';
import { waitFor } from '../helpers/wait.ts';

/** `run --until train`, stopped with Ctrl-C once checkpoint-`step` is complete, then run again to the end. */
async function trainInterrupted(d: Driver, args: string[], store: () => Promise<string[]>, step: number): Promise<{ runDir: string; resumed: string }> {
  const first = d.spawn(['run', ...args, '--until', 'train']);
  let runDir = '';
  await waitFor(`checkpoint-${step}`, async () => {
    for (const dir of await store()) {
      if ((await jsonLines(path.join(dir, 'events.jsonl'))).some((e) => e.type === 'checkpoint' && e.step === step)) runDir = dir;
    }
    return runDir !== '';
  }, 300_000);
  first.kill('SIGINT');
  const stopped = await first;
  expect(stopped.exitCode, `${stopped.stdout}\n${stopped.stderr}`).toBe(130);
  const again = await d.cli(['run', ...args, '--until', 'train']);
  expect(again.exitCode, `${again.stdout}\n${again.stderr}`).toBe(0);
  return { runDir, resumed: `${again.stdout}\n${again.stderr}` };
}

describe('resume equivalence (real stack)', () => {
  it('plan warns about checkpoints inside an epoch and names the aligned values; tok-boy ships an aligned one', async () => {
    const stack = await realStack();
    // 6 images, batch 2: 3 steps per epoch, so checkpoint-7 and checkpoint-14 are mid-epoch
    const ws = await demoWorkspace(yamlWith([...SMALL, [['baseline', 'max_train_steps'], 20], [['baseline', 'checkpointing_steps'], 7]]));
    const planned = await driver(stack, ws).cli(['plan', ws.experiment]);
    expect(planned.exitCode, planned.stderr).toBe(0);
    expect(planned.stderr).toMatch(
      /warning .*demo\.yaml baseline\.checkpointing_steps: checkpointing_steps 7 is not a multiple of the 3 steps per epoch \(6 images, batch 2\) of baseline, lr-high: .* 6 or 9 would be epoch-aligned/,
    );

    // the shipped recipe with its 11 images: 6 steps per epoch, and its checkpoints on epoch boundaries
    const data = await tempDir('harness-tok-boy-data-');
    const demo = (await readdir(ws.dataset)).filter((f) => f.endsWith('.png'));
    for (let i = 0; i < 11; i++) await copyFile(path.join(ws.dataset, demo[i % demo.length]!), path.join(data, `tok-${i}.png`));
    const tokBoy = await driver(stack, ws).cli(['plan', path.join(REPO, 'experiments', 'tok-boy.yaml'), '--dataset', data, '--json']);
    expect(tokBoy.exitCode, tokBoy.stderr).toBe(0);
    expect(tokBoy.stderr).not.toMatch(/checkpointing_steps/);
    const runs = (JSON.parse(tokBoy.stdout) as { runs: { variant: string; settings: { checkpointing_steps: number }; steps: { stepsPerEpoch: number } }[] }).runs;
    const baseline = runs.find((r) => r.variant === 'baseline')!;
    expect(baseline.steps.stepsPerEpoch).toBe(6);
    for (const run of runs) expect(run.settings.checkpointing_steps % run.steps.stepsPerEpoch, run.variant).toBe(0);
  }, 240_000);

  it('a run resumed mid-epoch records that it is not equivalent, one resumed on an epoch boundary that it is; status and report say so', async () => {
    const stack = await realStack();
    const ws = await demoWorkspace(yamlWith([...SMALL, [['baseline', 'max_train_steps'], 20], [['baseline', 'checkpointing_steps'], 7]]));
    const d = driver(stack, ws);

    // baseline: checkpoints every 7 steps, epochs of 3: interrupted after checkpoint-7, resumed mid-epoch
    const mid = await trainInterrupted(d, [ws.experiment, '--variant', 'baseline'], () => runDirs(ws), 7);
    expect(mid.resumed).toMatch(/resuming mid-epoch \(step (7|14), epochs of 3 steps\)/);
    const midResume = (await jsonLines(path.join(mid.runDir, 'events.jsonl'))).filter((e) => e.type === 'resume');
    expect(midResume).toEqual([expect.objectContaining({ steps_per_epoch: 3, equivalent: false })]);

    // lr-high with checkpoints every 9 steps: every checkpoint on an epoch boundary
    const before = new Set(await runDirs(ws));
    const aligned = await trainInterrupted(
      d,
      [ws.experiment, '--variant', 'lr-high', '--set', 'checkpointing_steps=9'],
      async () => (await runDirs(ws)).filter((dir) => !before.has(dir)),
      9,
    );
    expect(aligned.resumed).not.toMatch(/mid-epoch/);
    const alignedResume = (await jsonLines(path.join(aligned.runDir, 'events.jsonl'))).filter((e) => e.type === 'resume');
    expect(alignedResume).toEqual([expect.objectContaining({ steps_per_epoch: 3, equivalent: true })]);

    const status = await d.cli(['status', ws.experiment, '--json']);
    expect(status.exitCode, status.stderr).toBe(0);
    const rows = (JSON.parse(status.stdout) as { runs: { id: string; resume: { equivalent: boolean | null; summary: string } | null }[] }).runs;
    expect(rows.find((r) => r.id === path.basename(mid.runDir))?.resume).toMatchObject({ equivalent: false });
    expect(rows.find((r) => r.id === path.basename(aligned.runDir))?.resume).toMatchObject({ equivalent: true });
    const plain = await d.cli(['status', ws.experiment]);
    expect(plain.stdout).toMatch(new RegExp(`${path.basename(mid.runDir)}: resumed mid-epoch \\(step (7|14) of 3-step epochs\\): not what an uninterrupted run trains`));
    expect(plain.stdout).toMatch(new RegExp(`${path.basename(aligned.runDir)}: resumed from step (9|18) \\(epoch-aligned: as an uninterrupted run\\)`));

    const built = await d.cli(['report', ws.experiment, '--out', ws.reports]);
    expect(built.exitCode, built.stderr).toBe(0);
    const markdown = await readFile(path.join(ws.reports, 'report.md'), 'utf8');
    // (the report escapes Markdown's specials: parentheses come as \( and \))
    const plainText = markdown.replace(/\\([()\\-])/g, '$1');
    expect(plainText).toMatch(new RegExp(`- ${path.basename(mid.runDir)}: \\*\\*resumed mid-epoch \\(step (7|14) of 3-step epochs\\): not what an uninterrupted run trains\\*\\*`));
    expect(plainText).toMatch(new RegExp(`- ${path.basename(aligned.runDir)}: resumed from step (9|18) \\(epoch-aligned: as an uninterrupted run\\)`));
  }, 900_000);
});
