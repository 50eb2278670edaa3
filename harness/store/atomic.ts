// Crash-safe writes: a reader sees the old file or the new one, never half of one.
import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SCHEMA_VERSION } from './layout.ts';

export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  try {
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  await syncDir(path.dirname(file));
}

/**
 * Temp name and rename, without the fsyncs: for derived data (previews) that is checked when read and made
 * again when lost. A reader still never sees half a file.
 */
export async function replaceFile(file: string, data: string | Uint8Array): Promise<void> {
  const temp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(temp, data);
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Some file systems (e.g. a mounted Google Drive) cannot fsync a folder; the rename is still atomic.
  }
}

/** Writes JSON with `schemaVersion` first. */
export async function writeJsonAtomic(file: string, value: object): Promise<void> {
  const body = { schemaVersion: SCHEMA_VERSION, ...value };
  await writeFileAtomic(file, `${JSON.stringify(body, null, 2)}\n`);
}

export async function readJson<T>(file: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return JSON.parse(text) as T;
}

/** Appends one JSON line and flushes it to disk. */
export async function appendJsonLine(file: string, value: object): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await appendFile(file, `${JSON.stringify(value)}\n`, { flush: true } as Parameters<typeof appendFile>[2]);
}

/**
 * Reads a JSON-lines file, skipping a final line cut short by a crash (it has no newline yet).
 * A malformed line in the middle is an error: it means the file was corrupted, not interrupted.
 */
export function parseJsonLines<T>(text: string, file = 'events.jsonl'): T[] {
  const lines = text.split('\n');
  const complete = text.endsWith('\n') ? lines.slice(0, -1) : lines.slice(0, -1);
  const out: T[] = [];
  complete.forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      throw new Error(`${file}:${i + 1}: not a JSON line`);
    }
  });
  return out;
}

export async function readJsonLines<T>(file: string): Promise<T[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return parseJsonLines<T>(text, file);
}
