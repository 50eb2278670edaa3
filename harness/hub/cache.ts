// The Hugging Face cache layout (what huggingface_hub writes and reads with HF_HUB_OFFLINE=1):
//   <cache>/models--org--name/blobs/<etag>                 content, named by sha256 (LFS) or git oid
//   <cache>/models--org--name/snapshots/<commit>/<path>   relative symlink to the blob
//   <cache>/models--org--name/refs/<branch>               the commit a branch pointed to
import { copyFile, lstat, mkdir, readlink, rm, stat, symlink } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../store/atomic.ts';
import type { RepoRef } from './client.ts';

export function repoFolder(cacheDir: string, repo: RepoRef): string {
  return path.join(cacheDir, `${repo.type}s--${repo.id.split('/').join('--')}`);
}

export function cachePaths(cacheDir: string, repo: RepoRef, commit: string) {
  const root = repoFolder(cacheDir, repo);
  return {
    root,
    snapshot: path.join(root, 'snapshots', commit),
    blob: (etag: string) => path.join(root, 'blobs', etag),
    pointer: (file: string) => path.join(root, 'snapshots', commit, ...file.split('/')),
    ref: (name: string) => path.join(root, 'refs', ...name.split('/')),
  };
}

/** The size of what a snapshot path points to, or null when it is missing or a broken link. */
export async function sizeIfPresent(file: string): Promise<number | null> {
  try {
    return (await stat(file)).size;
  } catch {
    return null;
  }
}

/** Points `pointer` at `blob` with a relative symlink, as huggingface_hub does (a copy where links are refused). */
export async function linkBlob(blob: string, pointer: string): Promise<void> {
  await mkdir(path.dirname(pointer), { recursive: true });
  const target = path.relative(path.dirname(pointer), blob);
  try {
    if ((await lstat(pointer)).isSymbolicLink() && (await readlink(pointer)) === target) return;
    await rm(pointer, { force: true });
  } catch {
    // no pointer yet
  }
  try {
    await symlink(target, pointer);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw error;
    await copyFile(blob, pointer);
  }
}

export async function writeRef(cacheDir: string, repo: RepoRef, ref: string, commit: string): Promise<void> {
  await writeFileAtomic(cachePaths(cacheDir, repo, commit).ref(ref), commit);
}
