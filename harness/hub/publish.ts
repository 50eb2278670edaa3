// Makes a Hub repo hold a set of files in one commit, uploading only what differs from the remote
// (compared by sha256 / git oid first), so a repeated push of the same content makes no commit.
import { openAsBlob } from 'node:fs';
import { commit, createRepo, type CommitOperation } from '@huggingface/hub';
import { UsageError } from '../errors.ts';
import { libParams, libRepo, repoUrl, toRemoteError, type HubContext, type RepoRef } from './client.ts';
import { identityOf, listRemoteFiles, localIdentity, sameContent, type LocalIdentity } from './remote-files.ts';

export interface LocalEntry {
  /** path inside the repo, '/'-separated */
  path: string;
  /** a local file … */
  file?: string;
  /** … or generated content */
  content?: Uint8Array;
}

export interface PublishOptions {
  repo: RepoRef;
  entries: LocalEntry[];
  title: string;
  description?: string;
  /** visibility when the repo has to be created */
  private: boolean;
  /** remote files under these prefixes that are not among the entries are deleted in the same commit */
  mirrorPrefixes?: string[];
  dryRun?: boolean;
}

export interface PublishResult {
  repo: RepoRef;
  url: string;
  created: boolean;
  /** null when nothing changed (no commit made) */
  commit: string | null;
  uploaded: string[];
  unchanged: string[];
  deleted: string[];
}

export async function publish(ctx: HubContext, options: PublishOptions): Promise<PublishResult> {
  const { repo } = options;
  if (!ctx.token) {
    throw new UsageError(
      `pushing to ${repo.id} needs a Hugging Face token with write access`,
      'set HF_TOKEN=hf_… (https://huggingface.co/settings/tokens, "write" role) or run `hf auth login`',
    );
  }
  const remote = await listRemoteFiles(ctx, repo, 'main', { missingOk: true, action: 'reading the remote files' });
  const result: PublishResult = { repo, url: repoUrl(ctx, repo), created: false, commit: null, uploaded: [], unchanged: [], deleted: [] };

  const operations: CommitOperation[] = [];
  const wanted = new Set<string>();
  for (const entry of options.entries) {
    wanted.add(entry.path);
    const identity: LocalIdentity = entry.content ? identityOf(entry.content) : await localIdentity(entry.file!);
    if (remote && sameContent(remote.get(entry.path), identity)) {
      result.unchanged.push(entry.path);
      continue;
    }
    result.uploaded.push(entry.path);
    const content = entry.content ? new Blob([Buffer.from(entry.content)]) : await openAsBlob(entry.file!);
    operations.push({ operation: 'addOrUpdate', path: entry.path, content });
  }
  for (const path of remote?.keys() ?? []) {
    if (!wanted.has(path) && (options.mirrorPrefixes ?? []).some((prefix) => path.startsWith(prefix))) {
      result.deleted.push(path);
      operations.push({ operation: 'delete', path });
    }
  }
  if (operations.length === 0 || options.dryRun) return result;

  if (!remote) {
    try {
      await createRepo({ ...libParams(ctx), accessToken: ctx.token.token, repo: libRepo(repo), private: options.private });
    } catch (error) {
      throw toRemoteError(error, ctx, { repo, action: 'creating the repo', write: true });
    }
    result.created = true;
  }
  try {
    const output = await commit({
      ...libParams(ctx),
      repo: libRepo(repo),
      title: options.title,
      ...(options.description ? { description: options.description } : {}),
      operations,
    });
    result.commit = output?.commit.oid ?? null;
  } catch (error) {
    throw toRemoteError(error, ctx, { repo, action: 'committing', write: true });
  }
  return result;
}
