// Downloads exactly the files a pipeline needs, at a pinned commit, into the Hugging Face cache
// layout, so Python loads `<cache>/models--org--name/snapshots/<commit>` with HF_HUB_OFFLINE=1.
import { UsageError } from '../errors.ts';
import { cachePaths, linkBlob, sizeIfPresent, writeRef } from './cache.ts';
import { hubContext, type HubContext, type RepoRef, type RepoType } from './client.ts';
import { downloadVerified, verify } from './download.ts';
import type { Selection } from './pipeline-files.ts';
import { cacheEtag, listRemoteFiles, type RemoteFile } from './remote-files.ts';

export interface SnapshotProgress {
  repo: string;
  file: string;
  state: 'checking' | 'downloading' | 'cached' | 'downloaded';
  fileBytes: number;
  fileTotal: number;
  bytesDone: number;
  bytesTotal: number;
  filesDone: number;
  filesTotal: number;
}

export interface SnapshotOptions {
  id: string;
  /** full 40-character commit SHA (pinned) */
  commit: string;
  repoType?: RepoType;
  /** exact paths to fetch … */
  files?: string[];
  /** … or a choice made from the repo's listing at that commit */
  filter?: (paths: string[]) => Selection | string[];
  cacheDir: string;
  hubUrl?: string;
  /** undefined: HF_TOKEN / token file from env; null: anonymous */
  token?: string | null;
  env?: NodeJS.ProcessEnv;
  /** a prepared context (endpoint, token, retrying fetch); wins over hubUrl/token/env */
  ctx?: HubContext;
  onProgress?: (progress: SnapshotProgress) => void;
  /** also record `refs/<ref>` = commit (e.g. "main" right after pinning) */
  ref?: string;
  /** 'size' (default) trusts blobs already in the cache when their size matches; 'full' re-hashes them */
  verify?: 'size' | 'full';
}

export interface SnapshotFile {
  path: string;
  size: number;
  /** cached: already in the snapshot; linked: blob was present; downloaded: fetched now (resumed if partly there) */
  status: 'cached' | 'linked' | 'downloaded';
}

export interface SnapshotResult {
  repo: RepoRef;
  commit: string;
  dir: string;
  files: SnapshotFile[];
  bytesTotal: number;
  bytesDownloaded: number;
}

const COMMIT = /^[0-9a-f]{40}$/;

export async function snapshotModel(options: SnapshotOptions): Promise<SnapshotResult> {
  const repo: RepoRef = { type: options.repoType ?? 'model', id: options.id };
  if (!COMMIT.test(options.commit)) {
    throw new UsageError(`${repo.id}: a snapshot needs a full commit SHA, got ${JSON.stringify(options.commit)}`, 'run `harness pin <experiment>` first');
  }
  const ctx =
    options.ctx ??
    (await hubContext(options.env ?? process.env, {
      ...(options.hubUrl ? { hubUrl: options.hubUrl } : {}),
      ...(options.token !== undefined ? { token: options.token } : {}),
    }));
  const listing = (await listRemoteFiles(ctx, repo, options.commit))!;
  const wanted = chooseFiles(repo, options, listing);
  const paths = cachePaths(options.cacheDir, repo, options.commit);
  const bytesTotal = wanted.reduce((sum, f) => sum + f.size, 0);
  const result: SnapshotResult = { repo, commit: options.commit, dir: paths.snapshot, files: [], bytesTotal, bytesDownloaded: 0 };
  let bytesBefore = 0;
  const report = (file: RemoteFile, state: SnapshotProgress['state'], fileBytes: number) =>
    options.onProgress?.({
      repo: repo.id,
      file: file.path,
      state,
      fileBytes,
      fileTotal: file.size,
      bytesDone: bytesBefore + fileBytes,
      bytesTotal,
      filesDone: result.files.length,
      filesTotal: wanted.length,
    });

  for (const file of wanted) {
    report(file, 'checking', 0);
    const pointer = paths.pointer(file.path);
    const blob = paths.blob(cacheEtag(file));
    let status: SnapshotFile['status'];
    if ((await present(pointer, file, options.verify)) === 'ok') {
      status = 'cached';
    } else {
      if ((await present(blob, file, options.verify)) === 'ok') {
        status = 'linked';
      } else {
        const before = (await sizeIfPresent(`${blob}.incomplete`)) ?? 0;
        await downloadVerified(ctx, repo, options.commit, file, blob, (p) => report(file, 'downloading', p.bytes));
        result.bytesDownloaded += file.size - before;
        status = 'downloaded';
      }
      await linkBlob(blob, pointer);
    }
    result.files.push({ path: file.path, size: file.size, status });
    report(file, status === 'downloaded' ? 'downloaded' : 'cached', file.size);
    bytesBefore += file.size;
  }
  if (options.ref) await writeRef(options.cacheDir, repo, options.ref, options.commit);
  return result;
}

function chooseFiles(repo: RepoRef, options: SnapshotOptions, listing: Map<string, RemoteFile>): RemoteFile[] {
  const paths = [...listing.keys()];
  let chosen: string[];
  let missing: string[] = [];
  if (options.files) {
    chosen = options.files;
    missing = chosen.filter((p) => !listing.has(p));
  } else if (options.filter) {
    const selection = options.filter(paths);
    chosen = Array.isArray(selection) ? selection : selection.files;
    if (!Array.isArray(selection)) missing = selection.missing;
  } else {
    chosen = paths;
  }
  if (missing.length > 0) {
    throw new UsageError(
      `${repo.id}@${options.commit.slice(0, 12)} lacks files the pipeline needs: ${missing.join(', ')}`,
      'check that base.model / base.vae name the right repos, and the `variant` setting (fp16 needs *.fp16.safetensors files in both repos: the script passes --variant to the VAE as well)',
    );
  }
  return chosen.filter((p) => listing.has(p)).map((p) => listing.get(p)!);
}

async function present(file: string, remote: RemoteFile, depth: SnapshotOptions['verify']): Promise<'ok' | 'absent' | 'bad'> {
  const size = await sizeIfPresent(file);
  if (size === null) return 'absent';
  if (size !== remote.size) return 'bad';
  if (depth === 'full' && (await verify(file, remote)) !== null) return 'bad';
  return 'ok';
}
