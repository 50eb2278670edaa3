// One process per run: an exclusive lock file with pid, host and heartbeat. Stale locks (dead pid on
// this host, or a heartbeat older than `staleMs` from any host) are taken over, one taker at a time.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from './atomic.ts';
import { SCHEMA_VERSION } from './layout.ts';

export interface LockInfo {
  schemaVersion: number;
  token: string;
  pid: number;
  host: string;
  purpose: string;
  startedAt: string;
  heartbeatAt: string;
  /** the file could not be parsed (being written, or its writer died): heartbeatAt is its mtime */
  incomplete?: boolean;
}

export interface RunLock {
  info: LockInfo;
  /** previous holder when a stale lock was taken over */
  tookOverFrom?: LockInfo;
  release(): Promise<void>;
}

export interface LockOptions {
  purpose?: string;
  staleMs?: number;
  heartbeatMs?: number;
  now?: () => Date;
}

// A holder beats every 10 s; a lock is stale only after nine beats were missed, so a busy event loop
// or a slow network file system never hands a live trainer's run to a second process.
const DEFAULT_HEARTBEAT_MS = 10_000;
const DEFAULT_STALE_MS = 90_000;

export async function tryLock(file: string, options: LockOptions = {}): Promise<RunLock | { heldBy: LockInfo }> {
  await mkdir(path.dirname(file), { recursive: true });
  const first = await createExclusive(file, options);
  if (first) return first;
  const holder = await readLock(file);
  if (holder && !isStale(holder, options)) return { heldBy: holder };
  const taken = await takeOver(file, holder, options);
  if (taken) return taken;
  const current = await readLock(file);
  return { heldBy: current ?? holder ?? unknownHolder() };
}

async function createExclusive(file: string, options: LockOptions): Promise<RunLock | undefined> {
  const info = newLockInfo(options);
  let handle;
  try {
    handle = await open(file, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw error;
  }
  try {
    await handle.writeFile(`${JSON.stringify(info)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return startHeartbeat(file, info, options);
}

function newLockInfo(options: LockOptions): LockInfo {
  const now = clock(options)().toISOString();
  return {
    schemaVersion: SCHEMA_VERSION,
    token: randomBytes(8).toString('hex'),
    pid: process.pid,
    host: os.hostname(),
    purpose: options.purpose ?? 'run',
    startedAt: now,
    heartbeatAt: now,
  };
}

function clock(options: LockOptions): () => Date {
  return options.now ?? (() => new Date());
}

function startHeartbeat(file: string, info: LockInfo, options: LockOptions): RunLock {
  let released = false;
  const beat = async () => {
    if (released) return;
    const current = await readLock(file).catch(() => undefined);
    if (released || current?.token !== info.token) return; // lost it: never overwrite another holder
    info.heartbeatAt = clock(options)().toISOString();
    await writeFileAtomic(file, `${JSON.stringify(info)}\n`).catch(() => undefined);
  };
  const timer = setInterval(() => void beat(), options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS);
  timer.unref();
  return {
    info,
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      const current = await readLock(file).catch(() => undefined);
      if (current?.token === info.token) await rm(file, { force: true });
    },
  };
}

async function takeOver(file: string, stale: LockInfo | undefined, options: LockOptions): Promise<RunLock | undefined> {
  // Two steps make a takeover safe. A short-lived second lock (the gate) lets one taker at a time check
  // that the file still holds the stale lock it judged. The new lock then replaces the stale one by
  // rename (writeFileAtomic), so the lock file exists at every moment: removing it first and creating
  // it again left a window in which a plain tryLock's exclusive create won, and the takeover (and the
  // record of whom it replaced) was lost.
  const gate = `${file}.takeover`;
  let gateHandle;
  try {
    gateHandle = await open(gate, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const age = Date.now() - (await stat(gate).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
    if (age > 30_000) await rm(gate, { force: true }); // a taker died mid-takeover
    return undefined;
  }
  await gateHandle.close();
  try {
    const current = await readLock(file);
    // released since we looked: no takeover, just an ordinary create (which a rival may win)
    if (!current) return await createExclusive(file, options);
    if (current.token !== stale?.token || !isStale(current, options)) return undefined;
    const info = newLockInfo(options);
    await writeFileAtomic(file, `${JSON.stringify(info)}\n`);
    const lock = startHeartbeat(file, info, options);
    lock.tookOverFrom = current;
    return lock;
  } finally {
    await rm(gate, { force: true });
  }
}

export async function readLock(file: string): Promise<LockInfo | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return JSON.parse(text) as LockInfo;
  } catch {
    // Empty or cut short: its writer is between create and write right now, or died there. Its age
    // (the file's mtime) tells which: young, it is held; older than INCOMPLETE_GRACE_MS, it is stale.
    const mtime = await stat(file).then((s) => s.mtime, () => new Date(0));
    return { ...unknownHolder(), heartbeatAt: mtime.toISOString(), incomplete: true };
  }
}

/** How long a lock file may stay empty while its creator writes it. */
const INCOMPLETE_GRACE_MS = 10_000;

export function isStale(info: LockInfo, options: LockOptions = {}): boolean {
  const now = clock(options)().getTime();
  if (info.incomplete) return now - Date.parse(info.heartbeatAt) > INCOMPLETE_GRACE_MS;
  if (now - Date.parse(info.heartbeatAt) > (options.staleMs ?? DEFAULT_STALE_MS)) return true;
  return info.host === os.hostname() && !pidAlive(info.pid);
}

export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function unknownHolder(): LockInfo {
  return { schemaVersion: SCHEMA_VERSION, token: 'unknown', pid: -1, host: 'unknown', purpose: 'unknown', startedAt: '', heartbeatAt: new Date(0).toISOString() };
}
