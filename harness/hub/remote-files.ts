// File listings of a Hub repo and the identity of local files in the Hub's own terms (LFS files are
// named by sha256, regular files by their git blob oid), so "same content" needs no download.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { listFiles } from '@huggingface/hub';
import { libParams, libRepo, statusOf, toRemoteError, type HubContext, type RepoRef } from './client.ts';

export interface RemoteFile {
  path: string;
  size: number;
  /** git blob oid (of the pointer file for LFS files) */
  oid?: string;
  /** sha256 of the content, for LFS files */
  lfsSha256?: string;
  xetHash?: string;
}

export interface LocalIdentity {
  size: number;
  sha256: string;
  gitOid: string;
}

/** Every file at `revision`; null when the repo (or revision) does not exist and `missingOk`. */
export async function listRemoteFiles(
  ctx: HubContext,
  repo: RepoRef,
  revision: string,
  opts: { path?: string; missingOk?: boolean; action?: string } = {},
): Promise<Map<string, RemoteFile> | null> {
  const files = new Map<string, RemoteFile>();
  try {
    for await (const entry of listFiles({ ...libParams(ctx), repo: libRepo(repo), revision, recursive: true, ...(opts.path ? { path: opts.path } : {}) })) {
      if (entry.type !== 'file') continue;
      files.set(entry.path, {
        path: entry.path,
        size: entry.lfs?.size ?? entry.size,
        ...(entry.oid ? { oid: entry.oid } : {}),
        ...(entry.lfs ? { lfsSha256: entry.lfs.oid } : {}),
        ...(entry.xetHash ? { xetHash: entry.xetHash } : {}),
      });
    }
  } catch (error) {
    if (opts.missingOk && statusOf(error) === 404) return null;
    throw toRemoteError(error, ctx, { repo, action: opts.action ?? `listing files at ${revision}` });
  }
  return files;
}

export async function localIdentity(file: string): Promise<LocalIdentity> {
  const { size } = await stat(file);
  const sha256 = createHash('sha256');
  const git = createHash('sha1').update(`blob ${size}\0`);
  for await (const chunk of createReadStream(file)) {
    sha256.update(chunk as Buffer);
    git.update(chunk as Buffer);
  }
  return { size, sha256: sha256.digest('hex'), gitOid: git.digest('hex') };
}

export function identityOf(content: Uint8Array): LocalIdentity {
  return {
    size: content.length,
    sha256: createHash('sha256').update(content).digest('hex'),
    gitOid: createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex'),
  };
}

/** True when the remote file holds exactly this content, whichever way the Hub stored it. */
export function sameContent(remote: RemoteFile | undefined, local: LocalIdentity): boolean {
  if (!remote || remote.size !== local.size) return false;
  if (remote.lfsSha256) return remote.lfsSha256 === local.sha256;
  return remote.oid === local.gitOid;
}

/** The blob name huggingface_hub gives a file in its cache: the LFS sha256, else the git oid. */
export function cacheEtag(remote: RemoteFile): string {
  const etag = remote.lfsSha256 ?? remote.oid;
  if (!etag) throw new Error(`the Hub listing gave no oid for ${remote.path}`);
  return etag;
}
