import { createHash } from 'node:crypto';
import { appendFile, cp, mkdir, readdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fingerprintDataset, listDatasetFiles } from '../../harness/dataset/hash.ts';
import { tempDir } from '../helpers/tmp.ts';
import { cleanDataset } from './helpers.ts';

describe('fingerprintDataset', () => {
  it('is the same for the same content whatever order the files were created in', async () => {
    const root = await tempDir('harness-hash-');
    const a = await cleanDataset(4, path.join(root, 'a'));
    // b gets the same files created in reverse order (directory order differs on most file systems)
    const b = path.join(root, 'b');
    await mkdir(b);
    for (const name of (await readdir(a)).reverse()) await cp(path.join(a, name), path.join(b, name));
    const [fa, fb] = [await fingerprintDataset(a), await fingerprintDataset(b)];
    expect(fa.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(fb.hash).toBe(fa.hash);
    expect(fa.imageCount).toBe(4);
    expect(fa.files.map((f) => f.path)).toEqual(['01.png', '02.png', '03.png', '04.png', 'metadata.jsonl']);
  });

  it('changes with any byte of an image or of metadata.jsonl, and with a rename', async () => {
    const dir = await cleanDataset(3);
    const base = (await fingerprintDataset(dir)).hash;
    await appendFile(path.join(dir, '02.png'), Buffer.from([0]));
    const image = (await fingerprintDataset(dir)).hash;
    expect(image).not.toBe(base);
    await appendFile(path.join(dir, 'metadata.jsonl'), ' ');
    const metadata = (await fingerprintDataset(dir)).hash;
    expect(metadata).not.toBe(image);
    await rename(path.join(dir, '03.png'), path.join(dir, '09.png'));
    expect((await fingerprintDataset(dir)).hash).not.toBe(metadata);
  });

  it('ignores hidden files (harness records, .DS_Store) but not stray visible ones', async () => {
    const dir = await cleanDataset(3);
    const base = (await fingerprintDataset(dir)).hash;
    await writeFile(path.join(dir, '.harness-captions.json'), '{}');
    await writeFile(path.join(dir, '.DS_Store'), 'x');
    expect((await fingerprintDataset(dir)).hash).toBe(base);
    await writeFile(path.join(dir, 'notes.txt'), 'x');
    expect((await fingerprintDataset(dir)).hash).not.toBe(base);
  });

  it('keeps its documented formula (run ids depend on it): sha256 over "path\\0bytes\\0sha256\\n" per file', async () => {
    const dir = await tempDir('harness-hash-formula-');
    await writeFile(path.join(dir, 'metadata.jsonl'), '{"file_name":"a.png","prompt":"p"}\n');
    await writeFile(path.join(dir, 'a.png'), 'fake image bytes');
    const sha = (data: string) => createHash('sha256').update(data).digest('hex');
    const lines = [
      ['a.png', 'fake image bytes'],
      ['metadata.jsonl', '{"file_name":"a.png","prompt":"p"}\n'],
    ].map(([name, body]) => `${name}\0${Buffer.byteLength(body!)}\0${sha(body!)}\n`);
    expect((await fingerprintDataset(dir)).hash).toBe(sha(lines.join('')));
  });

  it('lists files in code-unit order, independent of locale', async () => {
    const dir = await tempDir('harness-hash-order-');
    for (const name of ['b.png', 'B.png', 'a.png', '_x.png', '10.png', '9.png']) await writeFile(path.join(dir, name), name);
    expect(await listDatasetFiles(dir)).toEqual(['10.png', '9.png', 'B.png', '_x.png', 'a.png', 'b.png']);
  });
});
