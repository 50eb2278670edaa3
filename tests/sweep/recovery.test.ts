import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readJsonLinesOf, runIds, runSweep, startSweep, storeDigest, sweepWorkspace, waitFor, type SweepWorkspace } from './helpers.ts';

let reference: Record<string, unknown>;

beforeAll(async () => {
  const ws = await sweepWorkspace();
  const result = await runSweep(ws, ['--no-report']);
  expect(result.exitCode, result.stderr).toBe(0);
  reference = await storeDigest(ws.store);
}, 240_000);

async function firstRunDir(ws: SweepWorkspace): Promise<string> {
  await waitFor('the first run folder', async () => (await runIds(ws.store).catch(() => [])).length > 0);
  return path.join(ws.store, 'sweep-exp', (await runIds(ws.store))[0]!);
}

async function killMidway(ws: SweepWorkspace, env: Record<string, string>, when: (runDir: string) => Promise<boolean>, what: string): Promise<void> {
  const child = startSweep(ws, ['--no-report'], env);
  const runDir = await firstRunDir(ws);
  await waitFor(what, () => when(runDir));
  child.kill('SIGKILL');
  await child;
}

describe('a sweep killed with -9 and started again ends as an uninterrupted sweep does', () => {
  it('during training', async () => {
    const ws = await sweepWorkspace();
    await killMidway(ws, { FIXTURE_STEP_SECONDS: '0.4' }, async (runDir) => (await readJsonLinesOf(path.join(runDir, 'events.jsonl'))).some((e) => e.type === 'checkpoint'), 'a checkpoint of the first run');
    const again = await runSweep(ws, ['--no-report']);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/took over the stale lock/);
    expect(await storeDigest(ws.store)).toEqual(reference);
  });

  it('during sampling', async () => {
    const ws = await sweepWorkspace();
    await killMidway(ws, { FAKE_SAMPLER_HANG: '1' }, async (runDir) => {
      const sets = await readdir(path.join(runDir, 'samples')).catch(() => []);
      for (const set of sets) if ((await readdir(path.join(runDir, 'samples', set))).some((f) => f.endsWith('.png'))) return true;
      return false;
    }, 'the first sample image');
    const again = await runSweep(ws, ['--no-report']);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(await storeDigest(ws.store)).toEqual(reference);
  });

  it('during scoring', async () => {
    const ws = await sweepWorkspace();
    await killMidway(ws, {}, async (runDir) => {
      const status = JSON.parse(await readFile(path.join(runDir, 'status.json'), 'utf8').catch(() => '{}'));
      return status.state === 'scoring';
    }, 'the first run to be scoring');
    const again = await runSweep(ws, ['--no-report']);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(await storeDigest(ws.store)).toEqual(reference);
  });
});

describe('signals and several workers', () => {
  it('SIGTERM stops cleanly (run interrupted, lock released, exit 130); the next sweep resumes it', async () => {
    const ws = await sweepWorkspace();
    const child = startSweep(ws, ['--no-report'], { FIXTURE_STEP_SECONDS: '0.4' });
    const runDir = await firstRunDir(ws);
    await waitFor('a metric of the first run', async () => (await readJsonLinesOf(path.join(runDir, 'events.jsonl'))).some((e) => e.type === 'metric'));
    child.kill('SIGTERM');
    const stopped = await child;
    expect(stopped.exitCode, String(stopped.stderr)).toBe(130);
    expect(String(stopped.stderr)).toMatch(/^\[\d\d:\d\d:\d\d\] SIGTERM: stopping cleanly \(the run in progress is marked interrupted\); press Ctrl-C again to force$/m);
    const status = JSON.parse(await readFile(path.join(runDir, 'status.json'), 'utf8'));
    expect(status).toMatchObject({ state: 'failed', reason: 'interrupted' });
    await expect(stat(path.join(runDir, 'lock.json'))).rejects.toThrow();
    const again = await runSweep(ws, ['--no-report']);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(await storeDigest(ws.store)).toEqual(reference);
  });

  it('two sweeps on one store share the work: every run is trained exactly once', async () => {
    const ws = await sweepWorkspace();
    const [a, b] = await Promise.all([startSweep(ws, ['--no-report'], { FIXTURE_STEP_SECONDS: '0.05' }), startSweep(ws, ['--no-report'], { FIXTURE_STEP_SECONDS: '0.05' })]);
    expect(a.exitCode, String(a.stderr)).toBe(0);
    expect(b.exitCode, String(b.stderr)).toBe(0);
    for (const id of await runIds(ws.store)) {
      const events = await readJsonLinesOf(path.join(ws.store, 'sweep-exp', id, 'events.jsonl'));
      expect(events.filter((e) => e.type === 'start'), id).toHaveLength(1);
    }
    expect(await storeDigest(ws.store)).toEqual(reference);
  });
});
