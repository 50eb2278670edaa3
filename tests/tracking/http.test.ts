import { afterEach, describe, expect, it } from 'vitest';
import { Http, REAL_CLOCK, retryAfterMs, WandbHttpError, type Clock } from '../../harness/tracking/wandb/http.ts';
import { WandbClient } from '../../harness/tracking/wandb/client.ts';
import { Credentials } from '../../harness/tracking/mode.ts';
import type { FakeWandb } from '../fixtures/wandb-server/server.ts';
import { fakeWandb, KEY } from './helpers.ts';

let server: FakeWandb | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Real time for requests, but waits are recorded and taken at once: the backoff decisions are what is tested. */
function recordingClock(): Clock & { waits: number[] } {
  let offset = 0;
  const waits: number[] = [];
  return {
    waits,
    now: () => Date.now() + offset,
    random: () => 0.5,
    sleep: async (ms) => {
      waits.push(ms);
      offset += ms;
    },
    setTimer: REAL_CLOCK.setTimer,
  };
}

const policy = { baseDelayMs: 1_000, maxDelayMs: 8_000, attemptTimeoutMs: 2_000 };
const ref = { entity: 'fake-entity', project: 'p', name: 'r1' };

async function clientWithRun(clock: Clock) {
  server = await fakeWandb();
  const client = new WandbClient(server.url, new Credentials(KEY), new Http(policy, clock));
  await client.upsertRun({ name: 'r1', project: 'p', entity: null, groupName: 'g', displayName: 'r1', jobType: 'train', tags: [], sweep: null, config: {} }, { deadline: clock.now() + 60_000 });
  return client;
}

describe('W&B HTTP: retries', () => {
  it('sends a fresh request per attempt with exponential, jittered backoff on 5xx', async () => {
    const clock = recordingClock();
    const client = await clientWithRun(clock);
    server!.inject({ match: { path: '/file_stream' }, times: 3, action: { status: 500 } });
    await client.fileStream(ref, { files: { 'wandb-history.jsonl': { offset: 0, content: ['{"_step":1}'] } } }, { deadline: clock.now() + 60_000 });
    const attempts = server!.requests.filter((r) => r.path.endsWith('/file_stream'));
    expect(attempts.map((r) => r.status)).toEqual([500, 500, 500, 200]);
    expect(attempts.every((r) => r.body === attempts[0]!.body)).toBe(true);
    expect(clock.waits).toEqual([1_000, 2_000, 4_000]); // doubling, ±25 % at random (0.5: none)
    expect(server!.run('r1')!.history).toEqual(['{"_step":1}']);
  });

  it('honours Retry-After on 429 (seconds and HTTP dates)', async () => {
    const clock = recordingClock();
    const client = await clientWithRun(clock);
    server!.inject({ match: { path: '/file_stream' }, times: 1, action: { status: 429, retryAfter: '7' } });
    await client.fileStream(ref, { complete: true, exitcode: 0 }, { deadline: clock.now() + 60_000 });
    expect(clock.waits).toEqual([7_000]);
    expect(retryAfterMs(new Date(Date.now() + 30_000).toUTCString(), Date.now())).toBeGreaterThan(28_000);
    expect(retryAfterMs('soon', Date.now())).toBeNull();
  });

  it('backs off even when Retry-After says 0: a failing server never gets a hot loop of retries', async () => {
    const clock = recordingClock();
    const client = await clientWithRun(clock);
    server!.inject({ match: { path: '/file_stream' }, times: 3, action: { status: 503, retryAfter: '0' } });
    await client.fileStream(ref, { complete: true, exitcode: 0 }, { deadline: clock.now() + 60_000 });
    expect(clock.waits).toEqual([1_000, 2_000, 4_000]);
    expect(server!.run('r1')!.complete).toBe(true);
  });

  it('gives up instead of waiting past its deadline', async () => {
    const clock = recordingClock();
    const client = await clientWithRun(clock);
    server!.inject({ match: { path: '/file_stream' }, times: 1, action: { status: 503, retryAfter: '120' } });
    const error = await client.fileStream(ref, { complete: true }, { deadline: clock.now() + 60_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WandbHttpError);
    expect((error as WandbHttpError).status).toBe(503);
    expect(clock.waits).toEqual([]);
    expect(server!.run('r1')!.complete).toBe(false);
  });

  it('retries dropped connections and slow answers, and never retries a 400', async () => {
    const clock = recordingClock();
    const client = await clientWithRun(clock);
    server!.inject({ match: { path: '/file_stream' }, times: 1, action: { drop: 'before' } });
    server!.inject({ match: { path: '/file_stream' }, times: 1, action: { delayMs: 2_500 } });
    await client.fileStream(ref, { files: { 'wandb-history.jsonl': { offset: 0, content: ['{"_step":1}'] } } }, { deadline: clock.now() + 60_000 });
    expect(server!.requests.filter((r) => r.path.endsWith('/file_stream')).map((r) => r.fault ?? 'ok')).toEqual(['drop before', 'delay 2500', 'ok']);

    server!.inject({ match: { path: '/file_stream' }, times: 5, action: { status: 400 } });
    const before = server!.requests.length;
    const error = (await client.fileStream(ref, { complete: true }, { deadline: clock.now() + 60_000 }).catch((e: unknown) => e)) as WandbHttpError;
    expect(error.retryable).toBe(false);
    expect(server!.requests.length - before).toBe(1);
  });

  it('turns GraphQL errors into errors that are not retried', async () => {
    const clock = recordingClock();
    const client = await clientWithRun(clock);
    const error = (await client.createRunFiles({ ...ref, name: 'nope' }, ['a.png'], { deadline: clock.now() + 1_000 }).catch((e: unknown) => e)) as WandbHttpError;
    expect(error.message).toMatch(/^127\.0\.0\.1:\d+ refused asking for upload URLs: run .*nope not found$/);
    expect(error.retryable).toBe(false);
  });

  it('retries a 409 on UpsertBucket (the run is still being made), and only there', async () => {
    const clock = recordingClock();
    const client = await clientWithRun(clock);
    server!.inject({ match: { op: 'UpsertBucket' }, times: 1, action: { status: 409 } });
    await client.upsertRun({ name: 'r1', project: 'p', entity: null, groupName: 'g', displayName: 'r1', jobType: 'train', tags: [], sweep: null, config: {} }, { deadline: clock.now() + 60_000 });
    expect(server!.requests.filter((r) => r.op === 'UpsertBucket').map((r) => r.status)).toEqual([200, 409, 200]);
    expect(clock.waits).toEqual([1_000]);

    server!.inject({ match: { path: '/file_stream' }, times: 1, action: { status: 409 } });
    const error = (await client.fileStream(ref, { complete: true }, { deadline: clock.now() + 60_000 }).catch((e: unknown) => e)) as WandbHttpError;
    expect(error.status).toBe(409);
    expect(error.retryable).toBe(false);
  });

  it('sends parallel requests at once: no pacing between them', async () => {
    const clock = recordingClock();
    const client = await clientWithRun(clock);
    const { urls, headers } = await client.createRunFiles(ref, ['a.txt', 'b.txt', 'c.txt'], { deadline: clock.now() + 60_000 });
    await Promise.all([...urls.values()].map((url, i) => client.upload(url, Buffer.from(`file ${i}`), headers, `f${i}`, { deadline: clock.now() + 60_000 })));
    expect(clock.waits).toEqual([]);
    expect(server!.run('r1')!.files.size).toBe(3);
  });

  it('says what went wrong in plain words: the host, what failed, never an operation name', async () => {
    const clock = recordingClock();
    const client = await clientWithRun(clock);
    server!.inject({ match: { path: '/file_stream' }, times: 1, action: { status: 503, retryAfter: '120' } });
    const busy = (await client.fileStream(ref, { complete: true }, { deadline: clock.now() + 60_000 }).catch((e: unknown) => e)) as Error;
    expect(busy.message).toMatch(/^127\.0\.0\.1:\d+: server error \(HTTP 503\) while sending history/);
    const port = new URL(server!.url).port;
    await server!.close();
    const down = (await client.heartbeat(ref, { deadline: clock.now() + 60_000 }).catch((e: unknown) => e)) as Error;
    expect(down.message).toMatch(new RegExp(`^cannot reach 127\\.0\\.0\\.1:${port}: connection (refused \\(ECONNREFUSED\\)|dropped)`));
    const nowhere = new WandbClient('http://nowhere.invalid', new Credentials(KEY), new Http(policy, clock));
    const dns = (await nowhere.heartbeat(ref, { deadline: clock.now() + 60_000 }).catch((e: unknown) => e)) as Error;
    expect(dns.message).toMatch(/^cannot reach nowhere\.invalid: DNS lookup failed/);
    server = undefined;
  });
});
