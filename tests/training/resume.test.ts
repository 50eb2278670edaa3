// Interrupting and resuming through real processes: Ctrl-C, kill -9 of the harness, damaged checkpoints.
import { execa } from 'execa';
import { cp, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { chooseResumeCheckpoint } from '../../harness/train/resume.ts';
import { BIN } from '../helpers/cli.ts';
import { metricSteps, readEvents, runArgs, runFixture, workspace, type Workspace } from './helpers.ts';

const ALL_STEPS = Array.from({ length: 12 }, (_, i) => i + 1);

function startHarness(ws: Workspace, env: Record<string, string>, extra: string[] = []) {
  return execa(process.execPath, [BIN, ...runArgs(ws, 'baseline', extra)], {
    cwd: ws.root,
    env: { NO_COLOR: '1', ...ws.env, ...env },
    reject: false,
    timeout: 120_000,
  });
}

async function runDirOf(ws: Workspace): Promise<string> {
  const dir = path.join(ws.store, 'fixture-exp');
  for (let i = 0; i < 400; i++) {
    const names = await readdir(dir).catch(() => [] as string[]);
    if (names.length) return path.join(dir, names[0]!);
    await sleep(50);
  }
  throw new Error('no run folder appeared');
}

async function waitForStep(runDir: string, step: number): Promise<any[]> {
  for (let i = 0; i < 1200; i++) {
    const events = await readEvents(runDir).catch(() => []);
    if (metricSteps(events).some((s) => s >= step)) return events;
    await sleep(50);
  }
  throw new Error(`step ${step} never reported`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitGone(pid: number, ms = 15_000): Promise<boolean> {
  for (let waited = 0; waited < ms; waited += 100) {
    if (!alive(pid)) return true;
    await sleep(100);
  }
  return false;
}

/** The newest checkpoint the tap reported complete: the one a resume must start from. */
function newestReported(events: any[]): number {
  const steps = events.filter((e) => e.type === 'checkpoint').map((e) => e.step as number);
  expect(steps.length, 'no checkpoint was reported before the interruption').toBeGreaterThan(0);
  return Math.max(...steps);
}

function expectEachStepOnce(events: any[]): void {
  expect(metricSteps(events)).toEqual(ALL_STEPS);
  expect(events.filter((e) => e.type === 'checkpoint').map((e) => e.step)).toEqual([4, 8, 12]);
  expect(events.filter((e) => e.type === 'weights_saved')).toHaveLength(1);
}

describe('interrupt and resume', () => {
  it('Ctrl-C stops the trainer and marks the run interrupted; the next run resumes without duplicate or lost steps', async () => {
    const ws = await workspace();
    const trace = path.join(ws.root, 'trace.txt');
    const child = startHarness(ws, { FIXTURE_STEP_SECONDS: '0.3', FIXTURE_TRACE: trace });
    const runDir = await runDirOf(ws);
    const before = await waitForStep(runDir, 6);
    const trainerPid = before.find((e) => e.type === 'start').pid as number;
    child.kill('SIGINT');
    const first = await child;
    expect(first.exitCode, String(first.stderr)).toBe(130);
    expect(JSON.parse(String(first.stdout))).toMatchObject({ outcome: 'failed', reason: 'interrupted' });
    expect(await waitGone(trainerPid)).toBe(true);
    const status = JSON.parse(await readFile(path.join(runDir, 'status.json'), 'utf8'));
    expect(status).toMatchObject({ state: 'failed', reason: 'interrupted' });
    const interrupted = await readEvents(runDir);
    expect(interrupted.at(-1)).toMatchObject({ type: 'end', status: 'interrupted' });
    const reached = Math.max(...metricSteps(interrupted));

    const second = await runFixture(ws, { FIXTURE_TRACE: trace });
    expect(second.exitCode, second.stderr).toBe(0);
    expect(second.json.outcome).toBe('trained');
    const from = second.json.resumedFrom.step as number;
    expect(from).toBe(newestReported(interrupted));
    expect(second.json.resumedFrom.checkpoint).toBe(path.join(runDir, 'output', `checkpoint-${from}`));
    const events = await readEvents(runDir);
    expectEachStepOnce(events);
    expect(events.filter((e) => e.type === 'resume')).toEqual([expect.objectContaining({ from_step: from, attempt: 2 })]);
    // the steps after the checkpoint really ran twice; the events kept the resumed attempt's values only
    const ran = (await readFile(trace, 'utf8')).trim().split('\n').map(Number);
    expect(ran.filter((s) => s === from + 1)).toHaveLength(2);
    expect(ran.filter((s) => s === 1)).toHaveLength(1);
    expect(reached).toBeGreaterThan(from);
    const spec = JSON.parse(await readFile(path.join(runDir, 'spec.json'), 'utf8'));
    expect(spec.trainer.argv.slice(-2)).toEqual(['--resume_from_checkpoint', path.join(runDir, 'output', `checkpoint-${from}`)]);
  });

  it('kill -9 of the harness: the trainer exits on its own, and the next run takes over the lock and resumes', async () => {
    const ws = await workspace();
    const child = startHarness(ws, { FIXTURE_STEP_SECONDS: '0.3' });
    const runDir = await runDirOf(ws);
    const before = await waitForStep(runDir, 6);
    const trainerPid = before.find((e) => e.type === 'start').pid as number;
    child.kill('SIGKILL');
    await child;
    expect(await waitGone(trainerPid)).toBe(true);
    const orphaned = await readEvents(runDir);
    expect(orphaned.at(-1)).toMatchObject({ type: 'end', status: 'interrupted', reason: 'parent_died' });
    expect(JSON.parse(await readFile(path.join(runDir, 'status.json'), 'utf8')).state).toBe('training');

    const second = await runFixture(ws);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(second.json.outcome).toBe('trained');
    expect(second.json.warnings.join('\n')).toMatch(/took over a stale lock/);
    // checkpoints every 4 steps at 2 steps per epoch: on an epoch boundary, so the resume is equivalent
    expect(second.json.resumedFrom).toEqual({ step: newestReported(orphaned), checkpoint: path.join(runDir, 'output', `checkpoint-${newestReported(orphaned)}`), equivalent: true, stepsPerEpoch: 2 });
    expectEachStepOnce(await readEvents(runDir));
  });

  it('resumes from the newest complete checkpoint, passing over folders that are incomplete or were never reported complete', async () => {
    const ws = await workspace();
    const crashed = await runFixture(ws, { FIXTURE_CRASH_AT: '10' });
    expect(crashed.json.reason).toBe('crashed');
    const output = path.join(crashed.json.runDir, 'output');
    // checkpoints 4 and 8 are both complete: the newer one is chosen
    const events = path.join(crashed.json.runDir, 'events.jsonl');
    expect(await chooseResumeCheckpoint(output, events, 'fp16')).toEqual({ checkpoint: { step: 8, dir: path.join(output, 'checkpoint-8') }, skipped: [] });
    await rm(path.join(output, 'checkpoint-8', 'optimizer.bin'));
    await cp(path.join(output, 'checkpoint-4'), path.join(output, 'checkpoint-9'), { recursive: true });
    const second = await runFixture(ws);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(second.json.resumedFrom.step).toBe(4);
    const warnings = second.json.warnings.join('\n');
    expect(warnings).toMatch(/not resuming from checkpoint-9: never reported complete/);
    expect(warnings).toMatch(/not resuming from checkpoint-8: optimizer.bin missing/);
    expectEachStepOnce(await readEvents(crashed.json.runDir));
  });

  it('with accelerate launch, Ctrl-C stops the launcher and its training child (signals go to the whole group)', async () => {
    const ws = await workspace();
    const child = startHarness(ws, { FIXTURE_STEP_SECONDS: '0.3' }, ['--launcher', 'accelerate']);
    const runDir = await runDirOf(ws);
    const before = await waitForStep(runDir, 2);
    const trainerPid = before.find((e) => e.type === 'start').pid as number;
    child.kill('SIGINT');
    const result = await child;
    expect(result.exitCode).toBe(130);
    expect(await waitGone(trainerPid, 5_000)).toBe(true);
    const command = JSON.parse(await readFile(path.join(runDir, 'command.json'), 'utf8'));
    expect(command.args.slice(0, 4)).toEqual(['-m', 'accelerate.commands.launch', '--config_file', path.join(runDir, 'accelerate.yaml')]);
    expect(await readFile(path.join(runDir, 'accelerate.yaml'), 'utf8')).toMatch(/mixed_precision: fp16/);
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
