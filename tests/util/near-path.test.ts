import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nearPath } from '../../harness/util/near-path.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('nearPath', () => {
  it('names the closest file or folder, written as the user wrote the path, and nothing when none is near', async () => {
    const root = await tempDir();
    await mkdir(path.join(root, 'experiments'));
    await mkdir(path.join(root, 'data', 'tok-boy'), { recursive: true });
    for (const name of ['demo.yaml', 'tok-boy.yaml', 'notes.txt']) await writeFile(path.join(root, 'experiments', name), '');
    const yaml = { kind: 'file' as const, extensions: ['.yaml', '.yml'] };
    expect(await nearPath('experiments/demo.yml', root, yaml)).toBe('experiments/demo.yaml');
    expect(await nearPath('experiments/tokboy.yaml', root, yaml)).toBe('experiments/tok-boy.yaml');
    expect(await nearPath('expermients/dmeo.yaml', root, yaml)).toBe('experiments/demo.yaml');
    expect(await nearPath(path.join(root, 'experiments', 'demo.yml'), '/', yaml)).toBe(path.join(root, 'experiments', 'demo.yaml'));
    expect(await nearPath('experiments/notes.yaml', root, yaml)).toBeUndefined(); // notes.txt is not an experiment file
    expect(await nearPath('experiments/zzzzzzzz.yaml', root, yaml)).toBeUndefined();
    expect(await nearPath('nowhere/at/all.yaml', root, yaml)).toBeUndefined();
    expect(await nearPath('data/tokboy/', root, { kind: 'folder' })).toBe('data/tok-boy');
    expect(await nearPath('data/tok-boy.yaml', root, yaml)).toBeUndefined(); // a folder is not a file
  });
});
