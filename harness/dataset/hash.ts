// Dataset content hash used by run ids: every file's bytes (images and metadata.jsonl), stable across
// file-system order. Hidden entries (.DS_Store, .ipynb_checkpoints) are not part of the dataset.
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { sha256, sha256File } from '../util/hash.ts';
import { IMAGE_FILE, compareNames, isHidden } from './files.ts';

export interface DatasetFingerprint {
  hash: string;
  files: { path: string; bytes: number; sha256: string }[];
  imageCount: number;
}

export async function listDatasetFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(rel: string): Promise<void> {
    const entries = await readdir(path.join(dir, rel), { withFileTypes: true });
    for (const entry of entries) {
      if (isHidden(entry.name)) continue;
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(child);
      else if (entry.isFile() || entry.isSymbolicLink()) out.push(child);
    }
  }
  await walk('');
  return out.sort(compareNames);
}

export async function fingerprintDataset(dir: string): Promise<DatasetFingerprint> {
  const names = await listDatasetFiles(dir);
  const files = [];
  for (const name of names) {
    const file = path.join(dir, name);
    const info = await stat(file);
    files.push({ path: name, bytes: info.size, sha256: await sha256File(file) });
  }
  const hash = sha256(files.map((f) => `${f.path}\0${f.bytes}\0${f.sha256}\n`).join(''));
  return { hash, files, imageCount: names.filter((n) => IMAGE_FILE.test(n)).length };
}
