// One file from the Hub to disk: resumable (appends to `<dest>.incomplete` with a Range request),
// verified against the size and hash the Hub's listing reports, retried when the stream breaks.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat, truncate } from 'node:fs/promises';
import path from 'node:path';
import { downloadFile } from '@huggingface/hub';
import { HarnessError, RemoteError } from '../errors.ts';
import { libParams, libRepo, toRemoteError, type HubContext, type RepoRef } from './client.ts';
import type { RemoteFile } from './remote-files.ts';

export interface ByteProgress {
  /** bytes of this file on disk so far */
  bytes: number;
  total: number;
}

export class CorruptDownloadError extends RemoteError {}

/** The response body stopped early (connection cut, or the library aborted the stream with a message). */
class StreamBroke extends Error {
  constructor(readonly original: unknown) {
    super(`download stream broke: ${original instanceof Error ? original.message : String(original)}`);
  }
}

/**
 * Downloads `remote` at `revision` to `dest` (atomically: the final name appears only once verified).
 * A partial `<dest>.incomplete` left by an earlier, interrupted call is resumed, not restarted.
 */
export async function downloadVerified(
  ctx: HubContext,
  repo: RepoRef,
  revision: string,
  remote: RemoteFile,
  dest: string,
  onBytes?: (progress: ByteProgress) => void,
): Promise<void> {
  const incomplete = `${dest}.incomplete`;
  await mkdir(path.dirname(dest), { recursive: true });
  let restartedAfterMismatch = false;
  for (;;) {
    await fetchRemaining(ctx, repo, revision, remote, incomplete, onBytes);
    const problem = await verify(incomplete, remote);
    if (!problem) break;
    await rm(incomplete, { force: true });
    // One clean restart covers a server that ignored our Range header; a second mismatch is real.
    if (restartedAfterMismatch) {
      throw new CorruptDownloadError(`${repo.id}@${revision.slice(0, 12)}: ${remote.path} failed verification: ${problem}`, {
        hint: 'the download was deleted; run the command again. If it keeps failing, the mirror (HF_ENDPOINT) or a proxy is altering files',
      });
    }
    restartedAfterMismatch = true;
  }
  await rename(incomplete, dest);
}

async function fetchRemaining(
  ctx: HubContext,
  repo: RepoRef,
  revision: string,
  remote: RemoteFile,
  incomplete: string,
  onBytes?: (progress: ByteProgress) => void,
): Promise<void> {
  let failures = 0;
  for (;;) {
    let have = await sizeOf(incomplete);
    if (have > remote.size) {
      await truncate(incomplete, 0);
      have = 0;
    }
    onBytes?.({ bytes: have, total: remote.size });
    if (have === remote.size) return;
    try {
      // xet: false keeps a plain HTTP blob, whose slices are Range requests (how we resume).
      const blob = await downloadFile({ ...libParams(ctx), repo: libRepo(repo), path: remote.path, revision, xet: false });
      if (!blob) throw new RemoteError(`${repo.id}@${revision.slice(0, 12)} has no file ${remote.path}`, { status: 404 });
      if (blob.size !== remote.size) {
        throw new CorruptDownloadError(`${remote.path}: the Hub serves ${blob.size} bytes but lists ${remote.size}`);
      }
      await appendStream(blob.slice(have).stream(), incomplete, (written) => onBytes?.({ bytes: have + written, total: remote.size }));
      return;
    } catch (error) {
      if (error instanceof HarnessError) throw error;
      if ((error as NodeJS.ErrnoException).syscall) {
        throw new HarnessError(`cannot write ${incomplete}: ${(error as Error).message}`, { hint: 'check free disk space and permissions of the cache folder' });
      }
      const mapped = toRemoteError(error instanceof StreamBroke ? error.original : error, ctx, { repo, action: `downloading ${remote.path}` });
      const transient = error instanceof StreamBroke || (mapped as RemoteError).status === undefined;
      failures += 1;
      // A stream cut mid-file or a dropped connection: keep what arrived and ask for the rest.
      if (!transient || failures > ctx.retries) throw mapped;
      await new Promise((resolve) => setTimeout(resolve, 200 * failures));
    }
  }
}

async function appendStream(stream: ReadableStream<Uint8Array>, file: string, onWritten: (bytes: number) => void): Promise<void> {
  const handle = await open(file, 'a');
  let written = 0;
  try {
    const reader = stream.getReader();
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (error) {
        throw new StreamBroke(error);
      }
      if (chunk.done) break;
      await handle.write(chunk.value);
      written += chunk.value.length;
      onWritten(written);
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** null when the file matches the listing; otherwise what is wrong. */
export async function verify(file: string, remote: RemoteFile): Promise<string | null> {
  const size = await sizeOf(file);
  if (size !== remote.size) return `size ${size}, expected ${remote.size}`;
  if (remote.lfsSha256) {
    const got = await hashFile(file, 'sha256');
    return got === remote.lfsSha256 ? null : `sha256 ${got}, expected ${remote.lfsSha256}`;
  }
  if (remote.oid) {
    const got = await hashFile(file, 'sha1', `blob ${size}\0`);
    return got === remote.oid ? null : `git oid ${got}, expected ${remote.oid}`;
  }
  return 'the Hub listing gave no hash to check against';
}

async function hashFile(file: string, algorithm: 'sha256' | 'sha1', prefix = ''): Promise<string> {
  const hash = createHash(algorithm).update(prefix);
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function sizeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}
