import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { checkDataset } from '../../harness/dataset/check.ts';
import { outputNames, prepareDataset } from '../../harness/dataset/prepare.ts';
import { sha256 } from '../../harness/util/hash.ts';
import { harness } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

const OUT = 64;

/** A photo whose left half is red and right half blue, so crops and rotations can be seen. */
async function halves(width: number, height: number): Promise<ReturnType<typeof sharp>> {
  const left = await sharp({ create: { width: Math.floor(width / 2), height, channels: 3, background: '#ff0000' } }).png().toBuffer();
  return sharp({ create: { width, height, channels: 3, background: '#0000ff' } }).composite([{ input: left, left: 0, top: 0 }]);
}

async function pixel(file: string, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  const at = (y * info.width + x) * info.channels;
  return [...data.subarray(at, at + info.channels)];
}

async function photos(): Promise<{ root: string; src: string }> {
  const root = await tempDir('harness-prepare-');
  const src = path.join(root, 'photos');
  await mkdir(src);
  await (await halves(60, 100)).jpeg({ quality: 95 }).toFile(path.join(src, 'portrait.jpg'));
  await (await halves(120, 80)).png().toFile(path.join(src, 'landscape.png'));
  // stored landscape 100×60, EXIF 6: upright it is a 60×100 portrait with red on top
  await (await halves(100, 60)).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toFile(path.join(src, 'rotated.jpg'));
  const raw16 = Buffer.alloc(80 * 80 * 3 * 2);
  for (let i = 0; i < raw16.length; i += 2) raw16.writeUInt16BE((i * 97) % 65536, i);
  await sharp(raw16, { raw: { width: 80, height: 80, channels: 3 } }).toColourspace('rgb16').png().toFile(path.join(src, 'deep16.png'));
  await sharp({ create: { width: 90, height: 90, channels: 3, background: '#808080' } }).toColourspace('b-w').png().toFile(path.join(src, 'grey.png'));
  await sharp({ create: { width: 8, height: 6, channels: 3, background: '#00ff00' } }).png().toFile(path.join(src, 'tiny.png'));
  await sharp({ create: { width: 70, height: 70, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).png().toFile(path.join(src, 'transparent.png'));
  await sharp({ create: { width: 70, height: 70, channels: 3, background: '#ffff00' } }).webp().toFile(path.join(src, 'web.webp'));
  await writeFile(path.join(src, 'notes.txt'), 'not a photo');
  await writeFile(path.join(src, 'phone.heic'), 'not really a heic');
  return { root, src };
}

describe('prepareDataset', () => {
  it('turns odd photos into square PNGs of the target size, with a manifest, leaving the source alone', async () => {
    const { root, src } = await photos();
    const before = await readFile(path.join(src, 'rotated.jpg'));
    // the inputs really are odd
    expect((await sharp(path.join(src, 'deep16.png')).metadata()).depth).toBe('ushort');
    expect((await sharp(path.join(src, 'grey.png')).metadata()).channels).toBe(1);
    const dst = path.join(root, 'data');
    const result = await prepareDataset(src, dst, { size: OUT });
    const byName = Object.fromEntries(result.files.map((f) => [f.source, f]));
    expect(result.counts).toEqual({ written: 8, skipped: 1, failed: 1 });
    expect(byName['notes.txt']).toMatchObject({ status: 'skipped' });
    expect(byName['phone.heic']).toMatchObject({ status: 'failed' });
    expect(byName['phone.heic']!.reason).toMatch(/decode|HEIC/i);
    expect(byName['portrait.jpg']).toMatchObject({ status: 'written', output: 'portrait.png', width: 60, height: 100, crop: { left: 0, top: 20, side: 60 } });
    expect(byName['landscape.png']).toMatchObject({ crop: { left: 20, top: 0, side: 80 } });
    expect(byName['rotated.jpg']).toMatchObject({ width: 100, height: 60, orientation: 6, crop: { left: 0, top: 20, side: 60 } });
    expect(byName['tiny.png']!.scale).toBeCloseTo(OUT / 6, 5);
    expect(result.warnings.map((w) => w.file)).toEqual(['tiny.png']);
    expect(byName['transparent.png']!.flattenedAlpha).toBe(true);

    for (const file of result.files.filter((f) => f.status === 'written')) {
      const out = path.join(dst, file.output!);
      const meta = await sharp(out).metadata();
      expect([file.source, meta.format, meta.width, meta.height, meta.depth, meta.channels, meta.orientation]).toEqual([file.source, 'png', OUT, OUT, 'uchar', 3, undefined]);
      expect(sha256(await readFile(out))).toBe(file.outputSha256);
    }
    // the centre crop of a left-red/right-blue landscape keeps both halves
    expect(await pixel(path.join(dst, 'landscape.png'), 2, 32)).toEqual([255, 0, 0]);
    expect(await pixel(path.join(dst, 'landscape.png'), 61, 32)).toEqual([0, 0, 255]);
    // the EXIF rotation is baked in: red on top, blue at the bottom
    const top = await pixel(path.join(dst, 'rotated.png'), 32, 2);
    const bottom = await pixel(path.join(dst, 'rotated.png'), 32, 61);
    expect(top[0]).toBeGreaterThan(200);
    expect(top[2]).toBeLessThan(60);
    expect(bottom[2]).toBeGreaterThan(200);
    expect(bottom[0]).toBeLessThan(60);
    expect(await pixel(path.join(dst, 'transparent.png'), 10, 10)).toEqual([255, 255, 255]);

    expect(await readFile(path.join(src, 'rotated.jpg'))).toEqual(before);
    const manifest = JSON.parse(await readFile(path.join(dst, '.harness-prepare.json'), 'utf8'));
    expect(manifest).toMatchObject({ schemaVersion: 1, tool: 'harness dataset prepare', size: OUT, crop: 'center', kernel: 'lanczos3' });
    expect(manifest.files).toHaveLength(10);
    expect(manifest.files.find((f: { source: string }) => f.source === 'rotated.jpg').sourceSha256).toBe(sha256(before));

    // what prepare makes passes the image checks (captions come next, from `harness caption`)
    const check = await checkDataset(dst, { imageSize: OUT, minImages: 8 });
    expect(check.problems.map((p) => p.code)).toEqual(['metadata-missing']);
  });

  it('gives the same output bytes for the same input (the dataset hash stays stable)', async () => {
    const { root, src } = await photos();
    const a = await prepareDataset(src, path.join(root, 'a'), { size: OUT });
    const b = await prepareDataset(src, path.join(root, 'b'), { size: OUT });
    expect(a.files.map((f) => f.outputSha256)).toEqual(b.files.map((f) => f.outputSha256));
  });

  it('refuses a destination that is the source, inside it, around it, or not empty', async () => {
    const { root, src } = await photos();
    await expect(prepareDataset(src, src)).rejects.toThrow(/is the source folder/);
    await expect(prepareDataset(src, path.join(src, 'out'))).rejects.toThrow(/inside the source folder/);
    await expect(prepareDataset(src, path.join(src, '..', 'photos', '.', 'x'))).rejects.toThrow(/inside the source folder/);
    await expect(prepareDataset(src, root)).rejects.toThrow(/source .* is inside the destination/);
    const used = path.join(root, 'used');
    await mkdir(used);
    await writeFile(path.join(used, 'keep.png'), 'x');
    await expect(prepareDataset(src, used)).rejects.toThrow(/not empty/);
    expect((await prepareDataset(src, used, { size: OUT, force: true })).counts.written).toBe(8);
  });

  it('names outputs after their sources, keeping the extension when stems collide', () => {
    expect([...outputNames(['a.jpg', 'a.png', 'b.JPEG', 'c.webp']).entries()]).toEqual([
      ['a.jpg', 'a-jpg.png'],
      ['a.png', 'a-png.png'],
      ['b.JPEG', 'b.png'],
      ['c.webp', 'c.png'],
    ]);
  });
});

describe('harness dataset prepare (CLI)', () => {
  it('prints what it did and exits 1 when a photo failed', async () => {
    const { root, src } = await photos();
    const result = await harness(['dataset', 'prepare', src, path.join(root, 'out'), '--size', String(OUT)]);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/rotated\.jpg\s+→ rotated\.png\s+100×60 exif 6, crop 60px at 0,20/);
    expect(result.stdout).toContain('8 written, 1 skipped, 1 failed');
    expect(result.stderr).toContain('warning tiny.png: enlarged');
  });

  it('exits 2 for an unknown --crop mode and for a destination inside the source', async () => {
    const { root, src } = await photos();
    const crop = await harness(['dataset', 'prepare', src, path.join(root, 'out'), '--crop', 'eyes']);
    expect(crop.exitCode).toBe(2);
    expect(crop.stderr).toContain("Allowed choices are center, face");
    const inside = await harness(['dataset', 'prepare', src, path.join(src, 'out')]);
    expect(inside.exitCode).toBe(2);
    expect(inside.stderr).toContain('never writes into the source');
  });
});
