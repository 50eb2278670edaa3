import { execa } from 'execa';
import { readFile, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { isStale, readLock, tryLock, type LockInfo, type RunLock } from '../../harness/store/lock.ts';
import { REPO } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

const LOCKER = path.join(REPO, 'tests/fixtures/store/locker.ts');

async function race(file: string, count: number, staleMs = 90_000): Promise<{ outcome: string; tookOverFrom?: number | null }[]> {
  // every child is loaded and waiting before the start; the winner holds the lock until all have answered
  const startAt = Date.now() + 2000;
  const children = Array.from({ length: count }, () =>
    execa(process.execPath, ['--import', 'tsx', LOCKER, file, String(staleMs)], { cwd: REPO, env: { START_AT: String(startAt) } }),
  );
  const firstLines = children.map(
    (child) => new Promise<string>((resolve) => child.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString().split('\n')[0]!))),
  );
  const outcomes = (await Promise.all(firstLines)).map((line) => JSON.parse(line));
  await writeFile(`${file}.release`, '');
  await Promise.all(children);
  return outcomes;
}

/** Polls until `check` holds; a real heartbeat lands within a few of its (short) periods. */
async function until(check: () => Promise<boolean>, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function deadLock(overrides: Partial<LockInfo> = {}): LockInfo {
  const now = new Date().toISOString();
  return { schemaVersion: 1, token: 'dead', pid: 999_999, host: os.hostname(), purpose: 'run', startedAt: now, heartbeatAt: now, ...overrides };
}

describe('run locks', () => {
  it('let exactly one of several racing processes win', async () => {
    const dir = await tempDir();
    const outcomes = await race(path.join(dir, 'lock.json'), 4);
    expect(outcomes.filter((o) => o.outcome === 'won')).toHaveLength(1);
    expect(outcomes.filter((o) => o.outcome === 'lost')).toHaveLength(3);
  });

  it('let exactly one of several racing processes take over a stale lock', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'lock.json');
    await writeFile(file, JSON.stringify(deadLock()));
    const outcomes = await race(file, 4);
    const winners = outcomes.filter((o) => o.outcome === 'won');
    expect(winners).toHaveLength(1);
    expect(winners[0]!.tookOverFrom).toBe(999_999);
  });

  it('take over a lock whose holder died on this host', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'lock.json');
    await writeFile(file, JSON.stringify(deadLock()));
    const lock = await tryLock(file);
    if ('heldBy' in lock) throw new Error('expected to take the lock over');
    expect(lock.tookOverFrom?.pid).toBe(999_999);
    expect((await readLock(file))?.pid).toBe(process.pid);
    await lock.release();
    expect(await readLock(file)).toBeUndefined();
  });

  it('take over a lock of another host only when its heartbeat is old', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'lock.json');
    const fresh = deadLock({ host: 'other-host', pid: 1234 });
    await writeFile(file, JSON.stringify(fresh));
    const refused = await tryLock(file);
    expect('heldBy' in refused && refused.heldBy.host).toBe('other-host');
    await writeFile(file, JSON.stringify({ ...fresh, heartbeatAt: new Date(Date.now() - 10 * 60_000).toISOString() }));
    const taken = await tryLock(file);
    expect('heldBy' in taken).toBe(false);
    if (!('heldBy' in taken)) await taken.release();
  });

  it('treat a live holder as live, and an empty lock file as held while young and stale once old', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'lock.json');
    const mine = await tryLock(file);
    if ('heldBy' in mine) throw new Error('expected the lock');
    const second = await tryLock(file);
    expect('heldBy' in second && second.heldBy.pid).toBe(process.pid);
    expect(isStale(mine.info)).toBe(false);
    await mine.release();
    // an empty lock file is being written by its creator: held, for a while
    await writeFile(file, '');
    const whileWritten = await tryLock(file);
    expect('heldBy' in whileWritten && whileWritten.heldBy.incomplete).toBe(true);
    // …and stale once its creator clearly died between creating and writing it
    const past = new Date(Date.now() - 60_000);
    await utimes(file, past, past);
    const afterCrash = await tryLock(file);
    expect('heldBy' in afterCrash).toBe(false);
    if (!('heldBy' in afterCrash)) await afterCrash.release();
  });

  it('never releases a lock that another process took over', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'lock.json');
    const mine = await tryLock(file);
    if ('heldBy' in mine) throw new Error('expected the lock');
    const other = deadLock({ token: 'other', pid: process.pid });
    await writeFile(file, JSON.stringify(other));
    await mine.release();
    expect(JSON.parse(await readFile(file, 'utf8')).token).toBe('other');
  });

  it('take over a stale lock without ever leaving the lock file free for a rival', async () => {
    // Rivals arrive while a takeover is under way; one that arrived in a moment without a lock file
    // would win with a plain create, and the takeover would be lost (the winner reports no tookOverFrom).
    const dir = await tempDir();
    for (let round = 0; round < 50; round++) {
      const file = path.join(dir, `lock-${round}.json`);
      await writeFile(file, JSON.stringify(deadLock()));
      const results = await Promise.all(
        Array.from({ length: 12 }, async (_, i) => {
          await new Promise((r) => setTimeout(r, i * 0.4));
          return tryLock(file);
        }),
      );
      const winners = results.filter((result): result is RunLock => !('heldBy' in result));
      expect(winners.map((w) => w.tookOverFrom?.pid), `round ${round}`).toEqual([999_999]);
      expect((await readLock(file))?.token).toBe(winners[0]!.info.token);
      await winners[0]!.release();
    }
  });

  it('keep a held lock live by its heartbeat, however long the holder runs', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'lock.json');
    let now = Date.now();
    const clock = () => new Date(now);
    const mine = await tryLock(file, { heartbeatMs: 20, now: clock });
    if ('heldBy' in mine) throw new Error('expected the lock');
    // ten minutes on the lock's clock, far past any stale age: only a heartbeat keeps the lock live
    now += 10 * 60_000;
    await until(async () => (await readLock(file))?.heartbeatAt === clock().toISOString(), 'a heartbeat');
    const rival = await tryLock(file, { now: clock });
    expect('heldBy' in rival && rival.heldBy.token).toBe(mine.info.token);
    await mine.release();
    expect(await readLock(file)).toBeUndefined();
  });

  it('by default, beat every 10 s and leave a live holder its lock until it missed about nine beats', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'lock.json');
    let now = Date.now();
    const clock = () => new Date(now);
    const at = (ms: number) => ({ now: () => new Date(now + ms) });
    // only the heartbeat's interval is simulated; the lock file is written and read for real
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      const mine = await tryLock(file, { now: clock }); // the default heartbeat and stale age
      if ('heldBy' in mine) throw new Error('expected the lock');
      for (let beat = 1; beat <= 3; beat++) {
        now += 10_000;
        vi.advanceTimersByTime(10_000);
        await until(async () => (await readLock(file))?.heartbeatAt === clock().toISOString(), `heartbeat ${beat}`);
      }
      // eight beats missed (a long pause, a slow network file system): still the holder's
      const rival = await tryLock(file, at(80_000));
      expect('heldBy' in rival && rival.heldBy.token).toBe(mine.info.token);
      // ten missed: the holder hangs, though its pid is alive; the run is taken over
      const taker = await tryLock(file, at(100_000));
      if ('heldBy' in taker) throw new Error('expected a takeover of the silent holder');
      expect(taker.tookOverFrom?.token).toBe(mine.info.token);
      await mine.release(); // no longer the holder: leaves the taker's lock alone
      expect((await readLock(file))?.token).toBe(taker.info.token);
      await taker.release();
    } finally {
      vi.useRealTimers();
    }
  });
});
