// Carries run folders between machines through a Hub dataset repo laid out as <experiment>/<run-id>/….
// Push sends every run folder except checkpoints (unless asked), locks and caches; pull adds runs
// and missing files, and never overwrites a local file with different content: that is a conflict.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { isStale, readLock } from '../store/lock.ts';
import { readStatus } from '../store/status.ts';
import type { HubContext, RepoRef } from './client.ts';
import { downloadVerified } from './download.ts';
import type { LocalEntry } from './publish.ts';
import { listRemoteFiles, localIdentity, sameContent, type RemoteFile } from './remote-files.ts';
import { resolveCommit } from './revision.ts';

export interface StoreEntries {
  entries: LocalEntry[];
  runs: string[];
  skipped: { run: string; why: string }[];
}

const NEVER = (rel: string) =>
  rel === 'lock.json' || rel.startsWith('datasets-cache/') || rel.includes('.tmp-') || rel.endsWith('.incomplete') || rel.split('/').some((part) => part.startsWith('.'));
const CHECKPOINT = /^output\/checkpoint-\d+\//;

export async function storeEntries(experimentDir: string, experiment: string, opts: { withCheckpoints?: boolean; runs?: string[] } = {}): Promise<StoreEntries> {
  const out: StoreEntries = { entries: [], runs: [], skipped: [] };
  let names: string[];
  try {
    names = (await readdir(experimentDir, { withFileTypes: true })).filter((d) => d.isDirectory() && !d.name.startsWith('.')).map((d) => d.name).sort();
  } catch {
    return out;
  }
  for (const run of names) {
    if (opts.runs && !opts.runs.includes(run)) continue;
    const dir = path.join(experimentDir, run);
    const lock = await readLock(path.join(dir, 'lock.json')).catch(() => undefined);
    if (lock && !isStale(lock)) {
      out.skipped.push({ run, why: `in progress (locked by pid ${lock.pid}@${lock.host})` });
      continue;
    }
    const files = (await walk(dir)).filter((rel) => !NEVER(rel) && (opts.withCheckpoints || !CHECKPOINT.test(rel)));
    if (files.length === 0) continue;
    out.runs.push(run);
    for (const rel of files) out.entries.push({ path: `${experiment}/${run}/${rel}`, file: path.join(dir, ...rel.split('/')) });
  }
  return out;
}

export interface PullRun {
  run: string;
  state: 'added' | 'merged' | 'up-to-date' | 'conflict' | 'skipped';
  files: number;
  /** files that differ from the local copy (conflicts) */
  conflicts?: string[];
  localState?: string;
  why?: string;
}

export interface PullResult {
  commit: string;
  runs: PullRun[];
  bytesDownloaded: number;
}

export async function pullStore(
  ctx: HubContext,
  repo: RepoRef,
  experiment: string,
  experimentDir: string,
  opts: { withCheckpoints?: boolean; runs?: string[]; dryRun?: boolean } = {},
): Promise<PullResult> {
  const commit = await resolveCommit(ctx, repo);
  const listing = (await listRemoteFiles(ctx, repo, commit, { path: experiment, missingOk: true, action: `listing ${experiment}/` })) ?? new Map<string, RemoteFile>();
  const byRun = new Map<string, { rel: string; remote: RemoteFile }[]>();
  for (const remote of listing.values()) {
    const [head, run, ...rest] = remote.path.split('/');
    const rel = rest.join('/');
    if (head !== experiment || !run || !rel || NEVER(rel) || run.startsWith('.')) continue;
    if (!opts.withCheckpoints && CHECKPOINT.test(rel)) continue;
    if (opts.runs && !opts.runs.includes(run)) continue;
    byRun.set(run, [...(byRun.get(run) ?? []), { rel, remote }]);
  }

  const result: PullResult = { commit, runs: [], bytesDownloaded: 0 };
  for (const [run, files] of [...byRun].sort(([a], [b]) => a.localeCompare(b))) {
    const dir = path.join(experimentDir, run);
    const download = async (target: string, list: typeof files) => {
      for (const { rel, remote } of list) {
        await downloadVerified(ctx, repo, commit, remote, path.join(target, ...rel.split('/')));
        result.bytesDownloaded += remote.size;
      }
    };
    if (!(await exists(dir))) {
      if (!opts.dryRun) {
        // into a hidden folder first, so a half-pulled run never looks like a run
        const temp = path.join(experimentDir, `.pull-${run}-${randomBytes(3).toString('hex')}`);
        await mkdir(temp, { recursive: true });
        try {
          await download(temp, files);
          await rename(temp, dir);
        } catch (error) {
          await rm(temp, { recursive: true, force: true });
          throw error;
        }
      }
      result.runs.push({ run, state: 'added', files: files.length });
      continue;
    }
    const lock = await readLock(path.join(dir, 'lock.json')).catch(() => undefined);
    if (lock && !isStale(lock)) {
      result.runs.push({ run, state: 'skipped', files: 0, why: `in progress here (locked by pid ${lock.pid}@${lock.host})` });
      continue;
    }
    const missing: typeof files = [];
    const conflicts: string[] = [];
    for (const file of files) {
      const local = path.join(dir, ...file.rel.split('/'));
      if (!(await exists(local))) missing.push(file);
      else if (!sameContent(file.remote, await localIdentity(local))) conflicts.push(file.rel);
    }
    const localState = (await readStatus(path.join(dir, 'status.json')).catch(() => undefined))?.state;
    if (conflicts.length > 0) {
      result.runs.push({ run, state: 'conflict', files: 0, conflicts, ...(localState ? { localState } : {}) });
      continue;
    }
    if (missing.length === 0) {
      result.runs.push({ run, state: 'up-to-date', files: 0 });
      continue;
    }
    if (!opts.dryRun) await download(dir, missing);
    result.runs.push({ run, state: 'merged', files: missing.length });
  }
  return result;
}

async function walk(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await walk(path.join(dir, entry.name), rel)));
    else if (entry.isFile()) out.push(rel);
  }
  return out.sort();
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}
