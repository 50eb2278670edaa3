import { appendFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readJson } from '../../harness/store/atomic.ts';
import { runLayout, trackingFiles } from '../../harness/store/layout.ts';
import { syncState, type WandbSyncState } from '../../harness/tracking/state.ts';
import { tempDir } from '../helpers/tmp.ts';
import type { FakeRun, FakeWandb } from '../fixtures/wandb-server/server.ts';
import { expectNoKeyInFiles, expectNoKeyInRequests, fakeWandb, historySteps, KEY, ledgerRows, startMirror } from './helpers.ts';
import { EXPERIMENT, makeRunFolder, metricEvent, scoreReport, T0, writeEvents, writeSampleSet } from './run-folder.ts';
import { writeJsonAtomic } from '../../harness/store/atomic.ts';

let server: FakeWandb | undefined;

function mediaFiles(run: FakeRun): string[] {
  return [...run.files.keys()].filter((name) => name.startsWith('media/'));
}
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A run as sweep drives it: spec and env first, then events in batches, a sample set, scores, finish. */
async function driveRun(storeRoot: string, runId: string, env: NodeJS.ProcessEnv, mode = 'auto') {
  const runDir = await makeRunFolder(storeRoot, { runId, steps: 0, samples: false, state: 'training' });
  const mirror = await startMirror(runDir, env, mode);
  const batches = [[{ v: 1, type: 'start', t: T0 }, ...[1, 2, 3, 4, 5].map((s) => metricEvent(s))], [6, 7, 8, 9, 10].map((s) => metricEvent(s)), [11, 12].map((s) => metricEvent(s))];
  for (const batch of batches) {
    await writeEvents(runDir, batch);
    mirror.onEvents(batch);
    await new Promise((resolve) => setTimeout(resolve, 30));
  }
  const { manifest, dir } = await writeSampleSet(runDir, runId);
  mirror.onSampleSet(manifest, dir);
  const report = scoreReport(0.71);
  await writeJsonAtomic(runLayout(storeRoot, EXPERIMENT, runId).scores(manifest.setId), report);
  mirror.onScores(report, manifest.setId);
  const outcome = await mirror.finish(0);
  return { runDir, outcome, mirror };
}

describe('live mirror to a W&B server', () => {
  it('creates the run with config, group and tags, streams history on the step, uploads images, sends summary and complete', async () => {
    server = await fakeWandb();
    const store = await tempDir();
    const { runDir, outcome } = await driveRun(store, 'baseline-1a2b3c4d', { WANDB_API_KEY: KEY, WANDB_BASE_URL: server.url });
    expect(outcome.mode).toBe('online');
    expect(outcome.error).toBeNull();

    const upsert = server.requests.find((r) => r.op === 'UpsertBucket')!;
    expect(upsert.variables).toMatchObject({ name: 'baseline-1a2b3c4d', project: 'tok-boy-test', groupName: EXPERIMENT, jobType: 'train', displayName: 'baseline-1a2b3c4d', sweep: null });
    expect(upsert.variables!.tags).toEqual(['baseline', 'Tesla P100-PCIE-16GB']);
    const config = JSON.parse(upsert.variables!.config as string) as Record<string, { value: unknown }>;
    expect(config.learning_rate).toEqual({ value: 1e-4 });
    expect(config.resolution).toEqual({ value: 512 });
    expect(config.provenance!.value).toMatchObject({ scriptSha256: expect.stringMatching(/^[0-9a-f]{64}$/), datasetHash: 'ab'.repeat(32), model: { commit: expect.any(String) } });
    expect(config.env!.value).toMatchObject({ host: 'gpu-box', python: { packages: { torch: '2.5.1' } } });
    // each charted key is defined against its step metric (the last upsert knows every key)
    const last = JSON.parse(server.requests.filter((r) => r.op === 'UpsertBucket').at(-1)!.variables!.config as string) as Record<string, { value: { m: { '1': string }[] } }>;
    expect(last._wandb!.value.m.map((m) => m['1'])).toEqual(expect.arrayContaining(['train/step', 'train/loss', 'samples/weights_step', 'samples/02-forest-haze', 'scores/identity']));

    const run = server.run('baseline-1a2b3c4d')!;
    // Offsets: each file_stream continues exactly where the last acknowledged one ended.
    let expected = 0;
    for (const body of server.fileStreamBodies()) {
      const history = (body.files as Record<string, { offset: number; content: string[] }> | undefined)?.['wandb-history.jsonl'];
      if (!history) continue;
      expect(history.offset).toBe(expected);
      expected += history.content.length;
    }
    expect(server.fileStreamBodies().length).toBeGreaterThan(1); // live: several batches, not one at the end
    expect(run.history).toEqual(await ledgerRows(runDir));
    const rows = run.history.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(historySteps(run.history)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    expect(rows[11]).toMatchObject({ _step: 12, 'train/loss': 0.5 / 12, 'train/lr': 1e-4, 'perf/s_per_it': 1.5 });

    // Images: one key per prompt, uploaded under the path the history value names, byte for byte.
    const image = rows[12]!['samples/02-forest-haze'] as Record<string, unknown>;
    expect(image).toMatchObject({ _type: 'image-file', format: 'png', caption: 'a photo of TOK boy, standing in a forest in thick haze · seed 7' });
    const onDisk = await readFile(path.join(runDir, 'samples', 'final-abc123', '02-forest-haze__s7.png'));
    expect(run.files.get(image.path as string)?.equals(onDisk)).toBe(true);
    expect(mediaFiles(run)).toHaveLength(4);
    expect([...run.files.keys()].filter((name) => !name.startsWith('media/')).sort()).toEqual(['config.yaml', 'requirements.txt', 'wandb-metadata.json', 'wandb-summary.json']);
    expect(JSON.parse(run.files.get('wandb-metadata.json')!.toString())).toMatchObject({ host: 'gpu-box', python: 'CPython 3.11.7', gpu: 'Tesla P100-PCIE-16GB', cudaVersion: '12.4', startedAt: new Date(T0 * 1000).toISOString() });
    expect(run.files.get('requirements.txt')!.toString()).toBe('accelerate==1.2.1\ndiffusers==0.40.0\ntorch==2.5.1\n');
    // every uploaded file was named in an acknowledged `uploaded` list
    expect([...run.announced].sort()).toEqual([...run.files.keys()].sort());
    expect(server.requests.filter((r) => r.method === 'PUT').every((r) => r.headers['x-upload-check'] === 'yes')).toBe(true);

    expect(rows[14]).toMatchObject({ 'scores/identity': 0.71, 'scores/weights_step': 12 });
    expect(run.summary).toMatchObject({ 'train/loss_min': 0.5 / 12, 'scores/identity': 0.71, _step: 15, _wandb: { runtime: expect.any(Number) } });
    expect(run.complete).toBe(true);
    expect(run.exitcode).toBe(0);
    expect(server.fileStreamBodies().at(-1)).toMatchObject({ complete: true, exitcode: 0, uploaded: expect.arrayContaining(['config.yaml', 'wandb-summary.json']) });

    const state = await syncState(runDir);
    expect(state).toMatchObject({ label: 'synced', history: { local: 15, acked: 15, pending: 0 }, files: { uploaded: 4, pending: 0 }, completed: { exitCode: 0 } });
    expectNoKeyInRequests(server.requests);
    await expectNoKeyInFiles(store);
  });

  it('loses nothing and duplicates nothing through 500s, 429s, slow answers and dropped connections', async () => {
    server = await fakeWandb();
    server.inject({ match: { op: 'UpsertBucket' }, times: 1, action: { status: 429, retryAfter: '0' } });
    server.inject({ match: { path: '/file_stream' }, times: 2, action: { status: 503 } });
    server.inject({ match: { path: '/file_stream' }, times: 1, action: { drop: 'after' } });
    server.inject({ match: { path: '/file_stream' }, times: 1, action: { delayMs: 1_500 } }); // past the 1 s attempt limit
    server.inject({ match: { path: '/file_stream' }, times: 1, action: { drop: 'before' } });
    server.inject({ match: { op: 'CreateRunFiles' }, times: 1, action: { status: 500 } });
    server.inject({ match: { method: 'PUT' }, times: 1, action: { drop: 'before' } });
    server.inject({ match: { method: 'PUT' }, times: 1, action: { status: 502 } });
    const store = await tempDir();
    const { runDir, outcome } = await driveRun(store, 'baseline-1a2b3c4d', { WANDB_API_KEY: KEY, WANDB_BASE_URL: server.url });
    expect(outcome.error).toBeNull();
    expect(server.requests.filter((r) => r.fault).length).toBe(9);

    const run = server.run('baseline-1a2b3c4d')!;
    const ledger = await ledgerRows(runDir);
    expect(run.history).toEqual(ledger);
    const steps = historySteps(run.history);
    expect(new Set(steps).size).toBe(steps.length);
    // Every metric event of the store is there, once.
    const metricSteps = (await readFile(path.join(runDir, 'events.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.type === 'metric').map((e) => e.step);
    expect(steps.slice(0, metricSteps.length)).toEqual(metricSteps);
    expect(mediaFiles(run)).toHaveLength(4);
    expect(run.complete).toBe(true);
    expect((await syncState(runDir)).label).toBe('synced');
  });

  it('does not retry a 400, keeps the data pending and still finishes the run', async () => {
    server = await fakeWandb();
    server.inject({ match: { path: '/file_stream' }, times: 100, action: { status: 400, body: '{"error":"bad request"}' } });
    const store = await tempDir();
    const { runDir, outcome } = await driveRun(store, 'baseline-1a2b3c4d', { WANDB_API_KEY: KEY, WANDB_BASE_URL: server.url });
    expect(outcome.error).toMatch(/^15 rows and the end of the run not sent: 127\.0\.0\.1:\d+: the request was rejected \(HTTP 400\) while sending history/);
    expect(outcome.sync).toMatchObject({ label: 'pending', history: { acked: 0, pending: 15 } });
    // One request per shipment attempt, never a retry loop on the same 400.
    const streams = server.requests.filter((r) => r.path.endsWith('/file_stream'));
    expect(streams.length).toBeLessThanOrEqual(4);
    const state = (await readJson<WandbSyncState>(trackingFiles(runDir).wandb))!;
    expect(state.finished).toMatchObject({ exitCode: 0 });
    expect(state.lastError?.message).toMatch(/400/);
  });

  it('names the run after WANDB_RUN_ID and joins WANDB_SWEEP_ID, and records a failed exit status', async () => {
    server = await fakeWandb();
    const store = await tempDir();
    const runDir = await makeRunFolder(store, { runId: 'lr-low-99aa88bb', variant: 'lr-low', steps: 3, samples: false, state: 'training' });
    const mirror = await startMirror(runDir, { WANDB_API_KEY: KEY, WANDB_BASE_URL: server.url, WANDB_RUN_ID: 'trial7xy', WANDB_SWEEP_ID: 'swp123' });
    const outcome = await mirror.finish(1);
    expect(outcome.error).toBeNull();
    const upsert = server.requests.find((r) => r.op === 'UpsertBucket')!;
    expect(upsert.variables).toMatchObject({ name: 'trial7xy', sweep: 'swp123', displayName: 'lr-low-99aa88bb', tags: ['lr-low', 'Tesla P100-PCIE-16GB'] });
    const run = server.run('trial7xy')!;
    expect(historySteps(run.history)).toEqual([1, 2, 3]); // what was in the store before the mirror started
    expect(run.exitcode).toBe(1);
  });

  it('offline (no key, or WANDB_MODE=offline) sends nothing and keeps what sync needs', async () => {
    server = await fakeWandb();
    const store = await tempDir();
    const noKey = await driveRun(store, 'baseline-1a2b3c4d', { WANDB_BASE_URL: server.url, HOME: store });
    const offline = await driveRun(store, 'lr-low-99aa88bb', { WANDB_API_KEY: KEY, WANDB_BASE_URL: server.url, WANDB_MODE: 'offline' });
    expect(server.requests).toEqual([]);
    for (const { outcome, runDir } of [noKey, offline]) {
      expect(outcome.mode).toBe('offline');
      expect(outcome.sync).toMatchObject({ label: 'pending', history: { local: 15, acked: 0 }, files: { local: 4, uploaded: 0 }, finished: { exitCode: 0 } });
      expect(await ledgerRows(runDir)).toHaveLength(15);
    }
    await expectNoKeyInFiles(store);
  });

  it('disabled writes nothing at all', async () => {
    const store = await tempDir();
    const runDir = await makeRunFolder(store, { runId: 'baseline-1a2b3c4d', steps: 2, samples: false });
    const mirror = await startMirror(runDir, { WANDB_API_KEY: KEY }, 'disabled');
    mirror.onEvents([metricEvent(3)]);
    expect(await mirror.finish(0)).toMatchObject({ mode: 'disabled', sync: null });
    expect(await readJson(trackingFiles(runDir).wandb)).toBeUndefined();
    expect(await readJson(trackingFiles(runDir).history).catch(() => 'absent')).toBeUndefined();
  });
});

describe('a restarted run', () => {
  it('continues the same W&B run from the acknowledged offset after a crash, with no duplicate steps', async () => {
    server = await fakeWandb();
    const store = await tempDir();
    const env = { WANDB_API_KEY: KEY, WANDB_BASE_URL: server.url };
    const runDir = await makeRunFolder(store, { runId: 'baseline-1a2b3c4d', steps: 0, samples: false, state: 'training' });
    const first = await startMirror(runDir, env);
    const before = [{ v: 1, type: 'start', t: T0 }, ...[1, 2, 3, 4, 5].map((s) => metricEvent(s))];
    await writeEvents(runDir, before);
    first.onEvents(before);
    await vi.waitFor(() => expect(server!.run('baseline-1a2b3c4d')?.history.length).toBe(5));
    // The process dies mid-append: the ledger ends in half a line; training resumes from checkpoint 3.
    await appendFile(trackingFiles(runDir).history, '{"src":"m:6","row":{"_st');
    const resumed = [{ v: 1, type: 'start', t: T0 + 600 }, ...[4, 5, 6, 7, 8].map((s) => metricEvent(s, T0 + 600 + s))];
    await writeEvents(runDir, resumed);
    const second = await startMirror(runDir, env);
    second.onEvents(resumed);
    expect((await second.finish(0)).error).toBeNull();
    const run = server.run('baseline-1a2b3c4d')!;
    expect(historySteps(run.history)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(run.history).toEqual(await ledgerRows(runDir));
    // creation, the metric definitions of the first rows, and the restarted process upserting the run
    // again (how W&B resumes a run, as the official client does): always the same run
    const upserts = server.requests.filter((r) => r.op === 'UpsertBucket');
    expect(upserts.map((r) => r.variables!.name)).toEqual(['baseline-1a2b3c4d', 'baseline-1a2b3c4d', 'baseline-1a2b3c4d']);
  });
});

describe('an unreachable server', () => {
  it('leaves the run successful with the data pending, bounded in time; a later sync delivers it', async () => {
    const placeholder = await fakeWandb();
    const port = Number(new URL(placeholder.url).port);
    await placeholder.close(); // nothing listens there now
    const store = await tempDir();
    const env = { WANDB_API_KEY: KEY, WANDB_BASE_URL: `http://127.0.0.1:${port}` };
    const { runDir, outcome } = await driveRun(store, 'baseline-1a2b3c4d', env);
    expect(outcome.mode).toBe('online');
    expect(outcome.error).toMatch(/^15 rows, 4 files and the end of the run not sent: cannot reach 127\.0\.0\.1:\d+: connection refused/);
    expect(outcome.sync).toMatchObject({ label: 'pending', history: { local: 15, acked: 0, pending: 15 }, files: { pending: 4 } });

    server = await fakeWandb(port);
    const { syncRun } = await import('../../harness/tracking/sync.ts');
    const { WandbClient } = await import('../../harness/tracking/wandb/client.ts');
    const { Http } = await import('../../harness/tracking/wandb/http.ts');
    const { resolveTarget } = await import('../../harness/tracking/mode.ts');
    const target = resolveTarget({ wandb: { project: 'tok-boy-test', mode: 'auto' } }, env);
    const client = new WandbClient(target.baseUrl, target.credentials!, new Http({ baseDelayMs: 5, maxDelayMs: 40, attemptTimeoutMs: 1000 }));
    const first = await syncRun({ runDir, client, target, deadline: Date.now() + 10_000 });
    expect(first).toMatchObject({ historySent: 15, filesUploaded: 4 + 4, completed: true }); // 4 images, 4 run files
    expect(server.run('baseline-1a2b3c4d')!.history).toEqual(await ledgerRows(runDir));
    const requests = server.requests.length;
    const second = await syncRun({ runDir, client, target, deadline: Date.now() + 10_000 });
    expect(second).toMatchObject({ historySent: 0, filesUploaded: 0, summarySent: false, completed: false });
    expect(server.requests.length).toBe(requests);
    await vi.waitFor(async () => expect((await syncState(runDir)).label).toBe('synced'));
  });
});
