import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readJson } from '../../harness/store/atomic.ts';
import { tryLock } from '../../harness/store/lock.ts';
import { runLayout, trackingFiles } from '../../harness/store/layout.ts';
import type { WandbSyncState } from '../../harness/tracking/state.ts';
import { harness } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import type { FakeWandb } from '../fixtures/wandb-server/server.ts';
import { expectNoKeyInFiles, expectNoKeyInRequests, FAST_ENV, fakeWandb, historySteps, KEY, KEY_BASIC, ledgerRows } from './helpers.ts';
import { experimentFile, makeRunFolder } from './run-folder.ts';

let server: FakeWandb | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function setUp() {
  const dir = await tempDir();
  const store = path.join(dir, 'store');
  const experiment = await experimentFile(dir);
  const done = await makeRunFolder(store, { runId: 'baseline-1a2b3c4d' });
  const failed = await makeRunFolder(store, { runId: 'lr-low-99aa88bb', variant: 'lr-low', steps: 7, samples: false, state: 'failed' });
  return { dir, store, experiment, done, failed };
}

describe('harness sync', () => {
  it('sends hand-built run folders, then a second sync sends nothing new', async () => {
    server = await fakeWandb();
    const { dir, store, experiment, done, failed } = await setUp();
    const env = { WANDB_API_KEY: KEY, WANDB_BASE_URL: server.url, ...FAST_ENV };
    const first = await harness(['sync', experiment, '--store', store, '--json'], { cwd: dir, env });
    expect(first.stderr).toBe('');
    expect(first.exitCode).toBe(0);
    const result = JSON.parse(first.stdout);
    expect(result).toMatchObject({ schemaVersion: 1, experiment: 'tok-boy', project: 'tok-boy-test', totals: { runs: 2, historySent: 20 + 2 + 1 + 7, filesUploaded: 4 + 4 + 4, completed: 2, failed: 0 } });

    const baseline = server.run('baseline-1a2b3c4d')!;
    expect(baseline.history).toEqual(await ledgerRows(done));
    expect(historySteps(baseline.history)).toEqual([...Array.from({ length: 23 }, (_, i) => i + 1)]);
    expect(baseline).toMatchObject({ group: 'tok-boy', jobType: 'train', tags: ['baseline', 'Tesla P100-PCIE-16GB'], complete: true, exitcode: 0 });
    expect(server.run('lr-low-99aa88bb')).toMatchObject({ complete: true, exitcode: 3 });
    expect(server.run('lr-low-99aa88bb')!.history).toEqual(await ledgerRows(failed));

    const count = server.requests.length;
    const second = await harness(['sync', experiment, '--store', store, '--json'], { cwd: dir, env });
    expect(second.exitCode).toBe(0);
    expect(JSON.parse(second.stdout).totals).toMatchObject({ historySent: 0, filesUploaded: 0, completed: 0 });
    expect(server.requests.length).toBe(count);

    expectNoKeyInRequests(server.requests);
    await expectNoKeyInFiles(dir);
    for (const out of [first.stdout, second.stdout]) expect(out).not.toContain(KEY);
  });

  it('completes runs no process finished: left trained or sampled as ended well (0), left mid-stage as crashed (1)', async () => {
    server = await fakeWandb();
    const dir = await tempDir();
    const store = path.join(dir, 'store');
    const experiment = await experimentFile(dir);
    await makeRunFolder(store, { runId: 'baseline-1a2b3c4d', samples: true, scores: false, state: 'sampled' });
    await makeRunFolder(store, { runId: 'lr-low-99aa88bb', variant: 'lr-low', steps: 5, samples: false, state: 'trained' });
    await makeRunFolder(store, { runId: 'rank-8-77cc66dd', variant: 'rank-8', steps: 2, samples: false, state: 'training' });
    const run = await harness(['sync', experiment, '--store', store, '--json'], { cwd: dir, env: { WANDB_API_KEY: KEY, WANDB_BASE_URL: server.url, ...FAST_ENV } });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(server.run('baseline-1a2b3c4d')).toMatchObject({ complete: true, exitcode: 0 });
    expect(server.run('lr-low-99aa88bb')).toMatchObject({ complete: true, exitcode: 0 });
    expect(server.run('rank-8-77cc66dd')).toMatchObject({ complete: true, exitcode: 1 });
  });

  it('takes the key from ~/.netrc for the API host', async () => {
    server = await fakeWandb();
    const { dir, store, experiment } = await setUp();
    await writeFile(path.join(dir, '.netrc'), `machine elsewhere.example login x password wrong\nmachine 127.0.0.1\n  login user\n  password ${KEY}\n`);
    const run = await harness(['sync', experiment, '--store', store, '--run', 'baseline-1a2b3c4d'], { cwd: dir, env: { HOME: dir, WANDB_API_KEY: undefined, WANDB_BASE_URL: server.url, ...FAST_ENV } });
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/baseline-1a2b3c4d\s+synced\s+23\s+8\s+yes/); // 4 images, 4 run files
    expect(server.run('lr-low-99aa88bb')).toBeUndefined();
    expectNoKeyInRequests(server.requests);
  });

  it('exits 3 when W&B keeps failing, keeping the data pending for the next sync', async () => {
    server = await fakeWandb();
    server.inject({ match: { path: '/file_stream' }, times: Number.POSITIVE_INFINITY, action: { status: 503, retryAfter: '0' } });
    const { dir, store, experiment, done } = await setUp();
    const env = { WANDB_API_KEY: KEY, WANDB_BASE_URL: server.url, ...FAST_ENV };
    const failing = await harness(['sync', experiment, '--store', store, '--json', '--timeout', '1'], { cwd: dir, env });
    expect(failing.exitCode).toBe(3);
    const result = JSON.parse(failing.stdout);
    expect(result.totals.failed).toBe(2);
    expect(result.runs[0].error).toMatch(/^127\.0\.0\.1:\d+: server error \(HTTP 503\) while sending history/);
    const state = (await readJson<WandbSyncState>(trackingFiles(done).wandb))!;
    expect(state).toMatchObject({ historyAcked: 0, completed: null });

    server.clearFaults();
    const retry = await harness(['sync', experiment, '--store', store, '--json'], { cwd: dir, env });
    expect(retry.exitCode).toBe(0);
    expect(server.run('baseline-1a2b3c4d')!.history).toEqual(await ledgerRows(done));
    expect(JSON.stringify(result)).not.toContain(KEY_BASIC);
  });

  it('skips a run that a live process holds (its own mirror ships it)', async () => {
    server = await fakeWandb();
    const { dir, store, experiment, done } = await setUp();
    const lock = await tryLock(runLayout(store, 'tok-boy', path.basename(done)).lock, { purpose: 'test' });
    expect('release' in lock).toBe(true);
    const run = await harness(['sync', experiment, '--store', store], { cwd: dir, env: { WANDB_API_KEY: KEY, WANDB_BASE_URL: server.url, ...FAST_ENV } });
    if ('release' in lock) await lock.release();
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/baseline-1a2b3c4d\s+skipped: in use by pid/);
    expect(server.run('baseline-1a2b3c4d')).toBeUndefined();
    expect(server.run('lr-low-99aa88bb')?.complete).toBe(true);
  });

  it('refuses without a key, saying where to put one', async () => {
    const { dir, store, experiment } = await setUp();
    const run = await harness(['sync', experiment, '--store', store], { cwd: dir, env: { HOME: dir, WANDB_API_KEY: undefined, WANDB_BASE_URL: 'http://127.0.0.1:9' } });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/no W&B API key/);
    expect(run.stderr).toMatch(/WANDB_API_KEY.*netrc/);
  });

  it('names an unknown --run with a suggestion', async () => {
    const { dir, store, experiment } = await setUp();
    const run = await harness(['sync', experiment, '--store', store, '--run', 'baseline-1a2b3c4e'], { cwd: dir, env: { WANDB_API_KEY: KEY, WANDB_BASE_URL: 'http://127.0.0.1:9' } });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/did you mean baseline-1a2b3c4d/);
  });

  it('teaches in --help', async () => {
    const run = await harness(['sync', '--help']);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/idempotent/);
    expect(run.stdout).toMatch(/Examples:/);
  });
});
