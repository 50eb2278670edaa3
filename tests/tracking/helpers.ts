// Shared set-up of the tracking tests: a fake W&B, fast retry options, a virtual clock, leak checks.
import path from 'node:path';
import { expect } from 'vitest';
import { FakeWandb, type RecordedRequest } from '../fixtures/wandb-server/server.ts';
import { mirrorRun, type MirrorOptions } from '../../harness/tracking/mirror.ts';
import { readSpec } from '../../harness/tracking/local.ts';
import { readJsonLines } from '../../harness/store/atomic.ts';
import { trackingFiles } from '../../harness/store/layout.ts';
import type { LedgerLine } from '../../harness/tracking/types.ts';
import type { Clock } from '../../harness/tracking/wandb/http.ts';
import { allFileText, EXPERIMENT } from './run-folder.ts';

export const KEY = 'local-test-key-0123456789abcdef0123456789abcdef';
export const KEY_BASIC = Buffer.from(`api:${KEY}`).toString('base64');

/** Retries in milliseconds instead of seconds; production defaults are untouched. */
export const FAST: MirrorOptions = {
  policy: { baseDelayMs: 5, maxDelayMs: 40, attemptTimeoutMs: 1_000 },
  sink: { flushIntervalMs: 10, liveDeadlineMs: 3_000, finishTimeoutMs: 10_000, degradedFinishTimeoutMs: 3_000 },
};

export const FAST_ENV = { HARNESS_WANDB_BACKOFF_MS: '5', HARNESS_WANDB_MAX_BACKOFF_MS: '40', HARNESS_WANDB_ATTEMPT_TIMEOUT_MS: '1000' };

/**
 * Time that moves only when the code under test waits (a backoff sleep passes at once and is recorded)
 * or the test advances it; timers fire when their time comes. Requests still go over real sockets, so
 * a test of "a heartbeat every 30 s" or "a retry 2 s after a 409" takes milliseconds.
 */
export interface VirtualClock extends Clock {
  /** every backoff the code slept, in ms */
  waits: number[];
  /** moves time forward, firing each timer at its time, and lets the work it starts begin */
  advance(ms: number): Promise<void>;
}

export function virtualClock(start = Date.now()): VirtualClock {
  let now = start;
  const waits: number[] = [];
  const timers: { at: number; fn: () => void; cancelled: boolean }[] = [];
  const fireDue = () => {
    for (;;) {
      const due = timers.filter((t) => !t.cancelled && t.at <= now).sort((a, b) => a.at - b.at)[0];
      if (!due) return;
      due.cancelled = true;
      due.fn();
    }
  };
  const clock: VirtualClock = {
    waits,
    now: () => now,
    random: () => 0.5,
    sleep: async (ms, signal) => {
      if (signal?.aborted) throw signal.reason;
      waits.push(ms);
      now += Math.max(0, ms);
      fireDue();
    },
    setTimer: (fn, ms) => {
      const timer = { at: now + Math.max(0, ms), fn, cancelled: false };
      // "at once" needs no advancing: it runs on the next turn of the event loop, as setTimeout(fn, 0)
      if (ms <= 0) setImmediate(() => !timer.cancelled && ((timer.cancelled = true), fn()));
      else timers.push(timer);
      return { cancel: () => (timer.cancelled = true) };
    },
    async advance(ms) {
      const end = now + ms;
      for (;;) {
        const next = timers.filter((t) => !t.cancelled && t.at <= end).sort((a, b) => a.at - b.at)[0];
        if (!next) break;
        now = Math.max(now, next.at);
        fireDue();
        await new Promise((resolve) => setImmediate(resolve));
      }
      now = Math.max(now, end);
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
  return clock;
}

export async function fakeWandb(port = 0): Promise<FakeWandb> {
  return new FakeWandb({ apiKey: KEY, uploadHeaders: ['X-Upload-Check:yes'] }).start(port);
}

export async function startMirror(runDir: string, env: NodeJS.ProcessEnv, mode = 'auto', options: MirrorOptions = FAST) {
  const spec = (await readSpec(runDir))!;
  return mirrorRun({
    runDir,
    spec,
    experimentConfig: { name: EXPERIMENT, tracking: { wandb: { project: 'tok-boy-test', mode: mode as 'auto' } } },
    env,
    options,
  });
}

export async function ledgerRows(runDir: string): Promise<string[]> {
  return (await readJsonLines<LedgerLine>(trackingFiles(runDir).history)).map((line) => JSON.stringify(line.row));
}

/** The key appears only as the Authorization header of API requests: never in a URL, a body or an upload. */
export function expectNoKeyInRequests(requests: RecordedRequest[]): void {
  expect(requests.length).toBeGreaterThan(0);
  for (const request of requests) {
    const { authorization, ...otherHeaders } = request.headers;
    const text = `${request.path}\n${request.body}\n${JSON.stringify(otherHeaders)}`;
    expect(text).not.toContain(KEY);
    expect(text).not.toContain(KEY_BASIC);
    if (request.method === 'PUT') expect(authorization).toBeUndefined();
  }
}

export async function expectNoKeyInFiles(dir: string): Promise<void> {
  const text = await allFileText(dir);
  expect(text.length).toBeGreaterThan(0);
  expect(text).not.toContain(KEY);
  expect(text).not.toContain(KEY_BASIC);
}

export function historySteps(lines: string[]): number[] {
  return lines.map((line) => (JSON.parse(line) as { _step: number })._step);
}

export { path };
