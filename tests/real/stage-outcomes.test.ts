// Issue 18 item 4 (and the sweep's "training" line of item 5): a run's stages keep their own outcome. A run
// whose training finished stays trained when sampling is interrupted (Ctrl-C) or scoring fails, and the next
// run of the pipeline goes straight to the first unfinished stage: the trainer is never started again.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { demoWorkspace, realStack } from './stack.ts';
import { driver, jsonLines, readJsonFile, runDirs, SMALL, trainerStarts, yamlWith } from './drive.ts';
import { waitFor } from '../helpers/wait.ts';

/** A flat grey picture: the real scorer finds no face in it and refuses it as the only reference photo. */
function greyPng(): Buffer {
  const png = new PNG({ width: 64, height: 64 });
  png.data.fill(128);
  return PNG.sync.write(png);
}

describe('stages keep their own outcome (real stack)', () => {
  it('after a Ctrl-C in sampling and then a scoring failure, training is never started again', async () => {
    const stack = await realStack();
    const ws = await demoWorkspace(yamlWith([...SMALL, [['scoring', 'reference'], '../no-face']]));
    await mkdir(path.join(ws.root, 'no-face'), { recursive: true });
    await writeFile(path.join(ws.root, 'no-face', 'grey.png'), greyPng());
    const d = driver(stack, ws);

    // 1. train and sample; Ctrl-C once the sampler has started
    const first = d.spawn(['run', ws.experiment, '--variant', 'baseline']);
    let runDir = '';
    await waitFor('the sampler to start', async () => {
      [runDir = ''] = await runDirs(ws);
      if (!runDir) return false;
      const sets = await readdir(path.join(runDir, 'samples')).catch(() => [] as string[]);
      for (const set of sets) if ((await jsonLines(path.join(runDir, 'samples', set, 'events.jsonl'))).some((e) => e.type === 'start')) return true;
      return false;
    }, 300_000);
    first.kill('SIGINT');
    const interrupted = await first;
    expect(interrupted.exitCode, `${interrupted.stdout}\n${interrupted.stderr}`).toBe(130);
    expect(await trainerStarts(runDir)).toBe(1);
    // what the store and `status` say now is checked below, after the behaviour that matters most
    const afterInterrupt = await readJsonFile<{ state: string; reason?: string; stages?: Record<string, string> }>(path.join(runDir, 'status.json'));
    const status = await d.cli(['status', ws.experiment, '--json']);

    // 2. the sweep resumes at sampling (it says so, never "training"), then scoring fails: no face in the reference
    const second = await d.cli(['sweep', ws.experiment, '--only', 'baseline', '--no-report']);
    expect(second.exitCode, `${second.stdout}\n${second.stderr}`).toBe(1);
    const id = path.basename(runDir);
    expect(`${second.stdout}\n${second.stderr}`).not.toMatch(new RegExp(`${id}: training`));
    expect(`${second.stdout}\n${second.stderr}`).toMatch(new RegExp(`${id}: trained already`));
    expect(await trainerStarts(runDir)).toBe(1);

    // after the Ctrl-C the run was failed (interrupted) in sampling, and still trained; `status` said both
    expect(afterInterrupt.state).toBe('failed');
    expect(afterInterrupt.reason).toBe('interrupted');
    expect(afterInterrupt.stages).toEqual({ train: 'done', sample: 'failed' });
    expect(status.exitCode, status.stderr).toBe(0);
    const row = (JSON.parse(status.stdout) as { runs: { id: string; state: string; stages?: Record<string, string> }[] }).runs.find((r) => r.id === id);
    expect(row?.state).toBe('failed');
    expect(row?.stages?.train).toBe('done');
    const plain = await d.cli(['status', ws.experiment]);
    expect(plain.stdout).toMatch(/failed \(scoring_failed\), trained and sampled/);

    const afterScoring = await readJsonFile<{ state: string; reason?: string; stages?: Record<string, string> }>(path.join(runDir, 'status.json'));
    expect(afterScoring.state).toBe('failed');
    expect(afterScoring.reason).toBe('scoring_failed');
    expect(afterScoring.stages).toMatchObject({ train: 'done', sample: 'done', score: 'failed' });

    // 3. with the reference fixed, the run finishes, still on its one training
    await writeFile(ws.experiment, yamlWith([[['scoring', 'reference'], undefined]])(await readFile(ws.experiment, 'utf8')));
    const third = await d.cli(['sweep', ws.experiment, '--only', 'baseline', '--no-report']);
    expect(third.exitCode, `${third.stdout}\n${third.stderr}`).toBe(0);
    expect(`${third.stdout}\n${third.stderr}`).not.toMatch(new RegExp(`${id}: training`));
    expect(await trainerStarts(runDir)).toBe(1);
    expect((await readJsonFile<{ state: string }>(path.join(runDir, 'status.json'))).state).toBe('done');
  }, 900_000);
});
