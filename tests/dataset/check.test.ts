import { copyFile, mkdir, symlink, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { checkDataset, type CheckOptions } from '../../harness/dataset/check.ts';
import { harness } from '../helpers/cli.ts';
import { MINIMAL } from '../helpers/experiment.ts';
import { tempDir } from '../helpers/tmp.ts';
import { PREFIX, SIZE, cleanDataset, line, writeMetadata, writePng } from './helpers.ts';

const options: CheckOptions = { imageSize: SIZE, minImages: 3, captionPrefix: PREFIX };
const check = (dir: string, extra: CheckOptions = {}) => checkDataset(dir, { ...options, ...extra });
const codes = (items: { code: string }[]) => items.map((item) => item.code);

describe('checkDataset', () => {
  it('passes a clean dataset and describes its images', async () => {
    const dir = await cleanDataset(4);
    const result = await check(dir);
    expect(result.problems).toEqual([]);
    expect(result.warnings).toEqual([]);
    expect(result.images.map((i) => [i.name, i.line, i.info?.format, i.info?.width])).toEqual([
      ['01.png', 1, 'png', SIZE],
      ['02.png', 2, 'png', SIZE],
      ['03.png', 3, 'png', SIZE],
      ['04.png', 4, 'png', SIZE],
    ]);
  });

  it('reports an image that does not decode', async () => {
    const dir = await cleanDataset(4);
    await writeFile(path.join(dir, '02.png'), 'not a png at all');
    const result = await check(dir);
    expect(result.problems).toEqual([expect.objectContaining({ code: 'not-decodable', name: '02.png', file: path.join(dir, '02.png') })]);
  });

  it('reports a JPEG, also one hiding behind a .png name', async () => {
    const dir = await cleanDataset(3);
    await sharp({ create: { width: SIZE, height: SIZE, channels: 3, background: '#123456' } }).jpeg().toFile(path.join(dir, '04.jpg'));
    await sharp({ create: { width: SIZE, height: SIZE, channels: 3, background: '#654321' } }).jpeg().toFile(path.join(dir, '05.png'));
    await writeMetadata(dir, ['01.png', '02.png', '03.png', '04.jpg', '05.png'].map((n) => line(n)));
    const result = await check(dir);
    const notPng = result.problems.filter((p) => p.code === 'not-png');
    expect(notPng.map((p) => p.name)).toEqual(['04.jpg', '05.png']);
    expect(notPng[1]!.message).toMatch(/JPEG with a \.png name/);
    expect(codes(result.problems)).toEqual(['not-png', 'not-png']);
  });

  it('reports a non-square image and a wrong size separately', async () => {
    const dir = await cleanDataset(4);
    await writePng(path.join(dir, '02.png'), 42, SIZE, SIZE / 2);
    await writePng(path.join(dir, '03.png'), 43, SIZE * 2);
    const result = await check(dir);
    expect(result.problems.map((p) => [p.code, p.name, p.message])).toEqual([
      ['not-square', '02.png', `is ${SIZE}×${SIZE / 2}, not square: crop it with \`harness dataset prepare\``],
      ['wrong-size', '02.png', `is ${SIZE}×${SIZE / 2}, expected ${SIZE}×${SIZE}`],
      ['wrong-size', '03.png', `is ${SIZE * 2}×${SIZE * 2}, expected ${SIZE}×${SIZE}`],
    ]);
  });

  it('expects 1024×1024 by default', async () => {
    const dir = await cleanDataset(3);
    const result = await checkDataset(dir, { minImages: 3, captionPrefix: PREFIX });
    expect(result.settings.imageSize).toBe(1024);
    expect(codes(result.problems)).toEqual(['wrong-size', 'wrong-size', 'wrong-size']);
  });

  it('reports fewer images than needed', async () => {
    const dir = await cleanDataset(2);
    const result = await check(dir);
    expect(result.problems).toEqual([expect.objectContaining({ code: 'too-few-images', name: '.', file: dir })]);
    expect(result.problems[0]!.message).toMatch(/2 usable images, the experiment needs at least 3/);
  });

  it('reports a missing metadata.jsonl once', async () => {
    const dir = await cleanDataset(3);
    await unlink(path.join(dir, 'metadata.jsonl'));
    const result = await check(dir);
    expect(codes(result.problems)).toEqual(['metadata-missing']);
  });

  it('reports metadata lines that are not JSON objects, with their line numbers', async () => {
    const dir = await cleanDataset(3);
    await writeMetadata(dir, [line('01.png'), '{"file_name": "02.png", "prompt": ', line('03.png'), '[1, 2]']);
    const result = await check(dir);
    expect(result.problems.map((p) => [p.code, p.file, p.line])).toEqual([
      ['metadata-not-json', path.join(dir, 'metadata.jsonl'), 2],
      ['metadata-not-json', path.join(dir, 'metadata.jsonl'), 4],
      ['image-without-metadata', path.join(dir, '02.png'), undefined],
    ]);
  });

  it('reports lines lacking file_name or prompt', async () => {
    const dir = await cleanDataset(3);
    await writeMetadata(dir, [line('01.png'), JSON.stringify({ prompt: `${PREFIX}a boy` + ' smiling at the sea' }), JSON.stringify({ file_name: '02.png' }), line('03.png', '')]);
    const result = await check(dir);
    expect(result.problems.map((p) => [p.code, p.line, p.key])).toEqual([
      ['metadata-missing-key', 2, 'file_name'],
      ['metadata-missing-key', 3, 'prompt'],
      ['metadata-missing-key', 4, 'prompt'],
    ]);
  });

  it('reports a line naming a missing file, and an image without a line', async () => {
    const dir = await cleanDataset(3);
    await writeMetadata(dir, [line('01.png'), line('02.png'), line('04.png')]);
    const result = await check(dir);
    expect(result.problems.map((p) => [p.code, p.name, p.line])).toEqual([
      ['metadata-missing-file', 'metadata.jsonl', 3],
      ['image-without-metadata', '03.png', undefined],
    ]);
  });

  it('refuses file names that leave the folder: ../, absolute paths, escaping symlinks', async () => {
    const root = await tempDir('harness-escape-');
    const dir = await cleanDataset(3, path.join(root, 'data'));
    await writePng(path.join(root, 'outside.png'), 99);
    await symlink(path.join(root, 'outside.png'), path.join(dir, 'link.png'));
    await writeMetadata(dir, [line('../outside.png'), line('01.png'), line('02.png'), line('03.png'), line(path.join(root, 'outside.png')), line('link.png'), line('sub/../../outside.png')]);
    const result = await check(dir);
    expect(result.problems.map((p) => [p.code, p.name, p.line])).toEqual([
      ['path-escape', 'link.png', undefined],
      ['metadata-path-escape', 'metadata.jsonl', 1],
      ['metadata-path-escape', 'metadata.jsonl', 5],
      ['metadata-path-escape', 'metadata.jsonl', 7],
    ]);
    expect(result.problems[0]!.message).toContain('outside the dataset folder');
  });

  it('accepts a symlink that stays inside the folder', async () => {
    const dir = await cleanDataset(3);
    await unlink(path.join(dir, '03.png'));
    await mkdir(path.join(dir, '.store'));
    await writePng(path.join(dir, '.store', 'x.png'), 77);
    await symlink(path.join(dir, '.store', 'x.png'), path.join(dir, '03.png'));
    const result = await check(dir);
    expect(result.problems).toEqual([]);
  });

  it('reports a file named twice', async () => {
    const dir = await cleanDataset(3);
    await writeMetadata(dir, [line('01.png'), line('02.png'), line('02.png'), line('03.png')]);
    const result = await check(dir);
    expect(result.problems).toEqual([expect.objectContaining({ code: 'metadata-duplicate', line: 3 })]);
    expect(result.problems[0]!.message).toContain('line 2');
  });

  it('reports a prompt without the trigger prefix, and warns when the trigger is not leading', async () => {
    const dir = await cleanDataset(3);
    await writeMetadata(dir, [line('01.png'), line('02.png', 'a boy with curly hair on a beach'), line('03.png', 'smiling, a photo of TOK boy on a beach')]);
    const result = await check(dir);
    expect(result.problems.map((p) => [p.code, p.line])).toEqual([['prompt-without-trigger', 2]]);
    expect(result.warnings.map((w) => [w.code, w.line])).toEqual([['prefix-not-leading', 3]]);
  });

  it('uses the given prefix and instance prompt', async () => {
    const dir = await cleanDataset(3);
    await writeMetadata(dir, ['01.png', '02.png', '03.png'].map((n) => line(n, 'photo of sks person, a child standing in a field')));
    expect(codes((await check(dir)).problems)).toEqual(['prompt-without-trigger', 'prompt-without-trigger', 'prompt-without-trigger']);
    expect((await check(dir, { captionPrefix: 'photo of sks person, ' })).problems).toEqual([]);
  });

  it('reports duplicate images by pixels, whatever the file bytes', async () => {
    const dir = await cleanDataset(4);
    // same pixels, different encoding (compression level changes the bytes, not the picture)
    await sharp(path.join(dir, '01.png')).png({ compressionLevel: 0 }).toFile(path.join(dir, '03.png'));
    const result = await check(dir);
    expect(result.problems).toEqual([expect.objectContaining({ code: 'duplicate-image', name: '03.png' })]);
    expect(result.problems[0]!.message).toContain('01.png');
  });

  it('reports metadata out of sorted order once, at the first line out of place', async () => {
    const dir = await cleanDataset(4);
    await writeMetadata(dir, [line('01.png'), line('03.png'), line('02.png'), line('04.png')]);
    const result = await check(dir);
    expect(result.problems).toEqual([expect.objectContaining({ code: 'metadata-unsorted', line: 3 })]);
  });

  it('warns (without failing) about short captions, EXIF rotation and stray files', async () => {
    const dir = await cleanDataset(3);
    await writeMetadata(dir, [line('01.png', `${PREFIX}boy`), line('02.png'), line('03.png')]);
    await sharp(path.join(dir, '02.png')).withMetadata({ orientation: 6 }).toFile(path.join(dir, 'rotated.tmp'));
    await copyFile(path.join(dir, 'rotated.tmp'), path.join(dir, '02.png'));
    await unlink(path.join(dir, 'rotated.tmp'));
    await writeFile(path.join(dir, 'notes.txt'), 'hello');
    await mkdir(path.join(dir, 'old'));
    await writeFile(path.join(dir, '.DS_Store'), 'hidden files are not part of the dataset');
    const result = await check(dir);
    expect(result.problems).toEqual([]);
    expect(result.warnings.map((w) => [w.code, w.name])).toEqual([
      ['stray-file', 'notes.txt'],
      ['stray-folder', 'old'],
      ['exif-rotation', '02.png'],
      ['short-caption', 'metadata.jsonl'],
    ]);
  });

  it('reports a second metadata file the loader would also read', async () => {
    const dir = await cleanDataset(3);
    await writeFile(path.join(dir, 'metadata.csv'), 'file_name,prompt\n');
    expect(codes((await check(dir)).problems)).toEqual(['metadata-conflict']);
  });

  it('reports every problem of a bad dataset at once', async () => {
    const dir = await cleanDataset(4);
    await writePng(path.join(dir, '02.png'), 50, SIZE, SIZE + 2);
    await writeFile(path.join(dir, '05.png'), 'junk');
    await writeMetadata(dir, [line('01.png'), line('03.png', 'no trigger here at all'), line('02.png'), '{', line('../x.png')]);
    const result = await check(dir);
    expect(codes(result.problems).sort()).toEqual(
      ['image-without-metadata', 'metadata-not-json', 'metadata-path-escape', 'metadata-unsorted', 'not-decodable', 'not-square', 'prompt-without-trigger', 'wrong-size'].sort(),
    );
  });
});

describe('harness dataset check (CLI)', () => {
  it('exits 0 on a clean dataset', async () => {
    const dir = await cleanDataset(5);
    const result = await harness(['dataset', 'check', dir, '--size', String(SIZE)]);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('ok: 0 problems, 0 warnings');
    expect(result.exitCode).toBe(0);
  });

  it('exits 1 and names the file and line of each problem', async () => {
    const dir = await cleanDataset(5);
    await writeMetadata(dir, [line('01.png'), line('02.png'), line('03.png'), line('04.png'), line('05.png'), line('../evil.png')]);
    await writePng(path.join(dir, '03.png'), 3, 32);
    const result = await harness(['dataset', 'check', dir, '--size', String(SIZE)]);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain(`problem ${path.join(dir, '03.png')}: is 32×32, expected ${SIZE}×${SIZE}`);
    expect(result.stdout).toContain(`problem ${path.join(dir, 'metadata.jsonl')}:6 file_name: file_name "../evil.png" points outside the dataset folder`);
  });

  it('takes size, minimum and prefix from --experiment, and prints JSON with schemaVersion', async () => {
    const root = await tempDir('harness-dataset-exp-');
    await cleanDataset(3, path.join(root, 'data'));
    await writeFile(path.join(root, 'exp.yaml'), MINIMAL.replace('  min_images: 2', `  min_images: 4\n  image_size: ${SIZE}`));
    const result = await harness(['dataset', 'check', '--experiment', 'exp.yaml', '--json'], { cwd: root });
    const report = JSON.parse(result.stdout);
    expect(report.schemaVersion).toBe(1);
    expect(report.dir).toBe('data');
    expect(report.settings).toEqual({ imageSize: SIZE, minImages: 4, captionPrefix: PREFIX, instancePrompt: 'a photo of TOK boy', tokenizer: null });
    expect(report.problems.map((p: { code: string }) => p.code)).toEqual(['too-few-images']);
    expect(result.exitCode).toBe(1);
  });

  it('exits 2 for a missing folder or a bad flag', async () => {
    const missing = await harness(['dataset', 'check', '/nonexistent/dataset']);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain('dataset folder not found');
    const bad = await harness(['dataset', 'check', '.', '--size', 'big']);
    expect(bad.exitCode).toBe(2);
    const none = await harness(['dataset', 'check']);
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toContain('which dataset?');
  });
});
