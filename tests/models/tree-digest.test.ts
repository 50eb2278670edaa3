import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { treeDigest } from '../../harness/models/built.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('treeDigest', () => {
  it('digests a Hub cache snapshot (files linked to blobs) as the same files written out, and no two contents alike', async () => {
    const root = await tempDir();
    const files = { 'config.json': '{"a": 1}', 'unet/weights.safetensors': 'weights', '.gitattributes': 'hidden' };
    const plain = path.join(root, 'plain');
    const linked = path.join(root, 'snapshots', 'abc');
    const blobs = path.join(root, 'blobs');
    await mkdir(blobs, { recursive: true });
    for (const [name, text] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(plain, name)), { recursive: true });
      await writeFile(path.join(plain, name), text);
      await writeFile(path.join(blobs, name.replace('/', '_')), text);
      await mkdir(path.dirname(path.join(linked, name)), { recursive: true });
      await symlink(path.join(blobs, name.replace('/', '_')), path.join(linked, name));
    }
    const digest = await treeDigest(plain);
    expect(digest).toMatch(/^[0-9a-f]{40}$/);
    expect(await treeDigest(linked)).toBe(digest);
    const empty = path.join(root, 'empty');
    await mkdir(empty);
    expect(await treeDigest(empty)).not.toBe(digest);
    await writeFile(path.join(plain, 'config.json'), '{"a": 2}');
    expect(await treeDigest(plain)).not.toBe(digest);
    const edited = await treeDigest(plain);
    await writeFile(path.join(plain, '.gitattributes'), 'changed'); // hidden files are left out
    expect(await treeDigest(plain)).toBe(edited);
  });
});
