import { afterEach, describe, expect, it } from 'vitest';
import { Http, retryAfterMs, WandbHttpError, type Clock } from '../../harness/tracking/wandb/http.ts';
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
  };
}

const policy = { baseDelayMs: 1_000, maxDelayMs: 8_000, attemptTimeoutMs: 2_000, minGapMs: 0 };
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
    expect(clock.waits).toEqual([750, 1_500, 3_000]); // half fixed + half random (0.5) of 1 s, 2 s, 4 s
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
    expect(error.message).toMatch(/CreateRunFiles: run .*nope not found/);
    expect(error.retryable).toBe(false);
  });

  it('keeps a pace between requests', async () => {
    const clock = recordingClock();
    server = await fakeWandb();
    const http = new Http({ ...policy, minGapMs: 300 }, clock);
    const client = new WandbClient(server.url, new Credentials(KEY), http);
    const upsert = () => client.upsertRun({ name: 'r1', project: 'p', entity: null, groupName: 'g', displayName: 'r1', jobType: 'train', tags: [], sweep: null, config: {} }, { deadline: clock.now() + 60_000 });
    await Promise.all([upsert(), upsert(), upsert()]);
    expect(clock.waits.length).toBe(2);
    expect(clock.waits.every((w) => w > 0 && w <= 600)).toBe(true);
  });
});
