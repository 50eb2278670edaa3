// --crop face on real photos (public-domain fixtures) placed off-centre on larger canvases, measured by
// detecting the face again in what prepare wrote.
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { FACE_CENTRE_DROP, faceCrop } from '../../harness/dataset/face-crop.ts';
import { centreCrop } from '../../harness/dataset/pixels.ts';
import { prepareDataset, type PrepareResult, type PreparedFile } from '../../harness/dataset/prepare.ts';
import { detectMainFace } from '../../harness/scoring/index.ts';
import { harness } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

const FACES = path.resolve(import.meta.dirname, '../fixtures/faces');
const OUT = 256;
const SLOW = 120_000;

/** `photo` pasted at (left, top) on a plain grey canvas. */
async function onCanvas(photo: string, width: number, height: number, left: number, top: number): Promise<Sharp> {
  const input = await sharp(path.join(FACES, photo)).toBuffer();
  return sharp({ create: { width, height, channels: 3, background: '#8a8f94' } }).composite([{ input, left, top }]);
}

/** Photos whose face is far from the middle; none of them can be fixed by the centre crop. */
async function offCentrePhotos(): Promise<{ root: string; src: string }> {
  const root = await tempDir('harness-prepare-face-');
  const src = path.join(root, 'photos');
  await mkdir(src);
  // astronaut (face ≈ x 151-298 of 512) left of the middle of a 1000×512 landscape: the centre crop keeps the face, off-centre
  await (await onCanvas('astronaut.jpg', 1000, 512, 120, 0)).jpeg({ quality: 92 }).toFile(path.join(src, 'left.jpg'));
  // astronaut near the right end of a 1400×512 strip: too small for one look at the whole strip, found square by square
  await (await onCanvas('astronaut.jpg', 1400, 512, 860, 0)).jpeg({ quality: 92 }).toFile(path.join(src, 'strip.jpg'));
  // Grace Hopper at the right edge of a 1600×600 landscape: the centre crop (x 500-1100) misses her face entirely
  await (await onCanvas('grace_hopper.jpg', 1600, 600, 1088, 0)).png().toFile(path.join(src, 'right.png'));
  // astronaut at the bottom of a 512×1200 portrait, stored on its side with EXIF orientation 6: detection must see it upright
  const tall = await (await onCanvas('astronaut.jpg', 512, 1200, 0, 640)).png().toBuffer();
  await sharp(tall).rotate(270).jpeg({ quality: 92 }).withMetadata({ orientation: 6 }).toFile(path.join(src, 'tall-rotated.jpg'));
  // no person at all, and a photo too small to hold one
  await copyFile(path.join(FACES, 'coffee.jpg'), path.join(src, 'coffee.jpg'));
  await sharp({ create: { width: 8, height: 6, channels: 3, background: '#00ff00' } }).png().toFile(path.join(src, 'tiny.png'));
  return { root, src };
}

function entry(result: PrepareResult, source: string): PreparedFile {
  const file = result.files.find((f) => f.source === source);
  if (!file) throw new Error(`no manifest entry for ${source}`);
  return file;
}

/** Distance of the detected face centre from the middle of a written square, as a fraction of its side (Infinity: no face). */
async function faceOffset(file: string): Promise<number> {
  const face = await detectMainFace(file);
  if (!face) return Infinity;
  const { x, y, width, height } = face.box;
  return Math.hypot(x + width / 2 - OUT / 2, y + height / 2 - OUT / 2) / OUT;
}

describe('faceCrop', () => {
  it('centres the square below the face centre by FACE_CENTRE_DROP face heights, clamped to the image', () => {
    const face = { x: 900, y: 300, width: 100, height: 100 };
    // target (950, 350 + 30) in a 2000×1000 image: side 1000, left 450, top clamped to 0
    expect(faceCrop(2000, 1000, face)).toEqual({ left: 450, top: 0, side: 1000 });
    // portrait: only the vertical position can move
    const low = { x: 450, y: 1500, width: 100, height: 100 };
    expect(faceCrop(1000, 3000, low)).toEqual({ left: 0, top: Math.round(1550 + FACE_CENTRE_DROP * 100 - 500), side: 1000 });
    expect(faceCrop(1000, 3000, low).top).toBe(1080);
    // a face at the far edge pins the square to that edge
    expect(faceCrop(2000, 1000, { x: 1950, y: 10, width: 40, height: 40 })).toEqual({ left: 1000, top: 0, side: 1000 });
    expect(faceCrop(1000, 3000, { x: 10, y: 2950, width: 40, height: 40 })).toEqual({ left: 0, top: 2000, side: 1000 });
  });
});

describe('prepareDataset --crop face', () => {
  let root: string;
  let src: string;
  let centre: PrepareResult;
  let face: PrepareResult;

  beforeAll(async () => {
    ({ root, src } = await offCentrePhotos());
    centre = await prepareDataset(src, path.join(root, 'centre'), { size: OUT, crop: 'center' });
    face = await prepareDataset(src, path.join(root, 'face'), { size: OUT, crop: 'face' });
  }, SLOW);

  it('keeps the face inside the square and nearer its centre than the centre crop does', async () => {
    const offsets: Record<string, { centre: number; face: number }> = {};
    for (const source of ['left.jpg', 'right.png', 'strip.jpg', 'tall-rotated.jpg']) {
      const file = entry(face, source);
      expect(file).toMatchObject({ status: 'written', cropMethod: 'face' });
      expect(file.face!.score).toBeGreaterThan(0.5);
      // the face detected in the upright source lies inside the chosen square
      const { box } = file.face!;
      const crop = file.crop!;
      expect(box.x).toBeGreaterThanOrEqual(crop.left);
      expect(box.y).toBeGreaterThanOrEqual(crop.top);
      expect(box.x + box.width).toBeLessThanOrEqual(crop.left + crop.side);
      expect(box.y + box.height).toBeLessThanOrEqual(crop.top + crop.side);
      offsets[source] = {
        centre: await faceOffset(path.join(root, 'centre', entry(centre, source).output!)),
        face: await faceOffset(path.join(root, 'face', file.output!)),
      };
    }
    for (const [source, { centre: c, face: f }] of Object.entries(offsets)) {
      expect(f, `${source}: face found in the face crop`).toBeLessThan(0.5);
      expect(f, `${source}: face crop ${f.toFixed(3)} vs centre crop ${c}`).toBeLessThan(c);
    }
    // the centre crop really does lose these faces; the face crop keeps them
    expect(offsets['right.png']!.centre).toBe(Infinity);
    expect(offsets['strip.jpg']!.centre).toBe(Infinity);
    // the portrait (EXIF-rotated) is cropped in its upright frame: the square moved down towards the face
    expect(entry(centre, 'tall-rotated.jpg').crop).toEqual({ left: 0, top: 344, side: 512 });
    expect(entry(face, 'tall-rotated.jpg').crop!.top).toBeGreaterThan(450);
  }, SLOW);

  it('falls back to the centre crop for photos without a face, and says so', async () => {
    for (const source of ['coffee.jpg', 'tiny.png']) {
      const file = entry(face, source);
      expect(file).toMatchObject({ status: 'written', cropMethod: 'center-no-face', face: null });
      expect(file.crop).toEqual(entry(centre, source).crop);
      expect(file.outputSha256).toBe(entry(centre, source).outputSha256);
    }
    expect(entry(face, 'coffee.jpg').crop).toEqual(centreCrop(256, 171));
    expect(face.noFace).toEqual(['coffee.jpg', 'tiny.png']);
    expect(face.warnings).toContainEqual({ file: 'coffee.jpg', message: 'no face found: cropped at the centre instead' });
    expect(face.warnings).toContainEqual({ file: 'tiny.png', message: 'no face found: cropped at the centre instead' });
  });

  it('records the crop box and the method of every file in the manifest', async () => {
    const manifest = JSON.parse(await readFile(path.join(root, 'face', '.harness-prepare.json'), 'utf8'));
    expect(manifest).toMatchObject({ crop: 'face', noFace: ['coffee.jpg', 'tiny.png'] });
    const methods = Object.fromEntries(manifest.files.map((f: PreparedFile) => [f.source, [f.cropMethod, typeof f.crop?.left, typeof f.crop?.top, typeof f.crop?.side]]));
    expect(methods).toEqual({
      'coffee.jpg': ['center-no-face', 'number', 'number', 'number'],
      'left.jpg': ['face', 'number', 'number', 'number'],
      'right.png': ['face', 'number', 'number', 'number'],
      'strip.jpg': ['face', 'number', 'number', 'number'],
      'tall-rotated.jpg': ['face', 'number', 'number', 'number'],
      'tiny.png': ['center-no-face', 'number', 'number', 'number'],
    });
    expect(manifest.files.find((f: PreparedFile) => f.source === 'right.png').face.box).toEqual(entry(face, 'right.png').face!.box);
    // centre mode names its method too, and runs no detector
    const centreManifest = JSON.parse(await readFile(path.join(root, 'centre', '.harness-prepare.json'), 'utf8'));
    expect(centreManifest.files.map((f: PreparedFile) => f.cropMethod)).toEqual(['center', 'center', 'center', 'center', 'center', 'center']);
    expect(centreManifest.files.some((f: PreparedFile) => 'face' in f)).toBe(false);
    expect(centreManifest.noFace).toBeUndefined();
  });
});

describe('harness dataset prepare --crop face (CLI)', () => {
  it('prints how each square was placed and lists the photos without a face', async () => {
    const { root, src } = await offCentrePhotos();
    const result = await harness(['dataset', 'prepare', src, path.join(root, 'out'), '--size', String(OUT), '--crop', 'face']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/right\.png\s+→ right\.png\s+1600×600, crop 600px at 1000,0 on face \(\d\.\d\d\)/);
    expect(result.stdout).toMatch(/coffee\.jpg\s+→ coffee\.png\s+256×171, crop 171px at 42,0 centre: no face/);
    expect(result.stdout).toContain('4 cropped on the face, 2 at the centre (no face): coffee.jpg, tiny.png');
    expect(result.stderr).toContain('warning coffee.jpg: no face found: cropped at the centre instead');
  }, SLOW);

  it('explains both crop modes in --help', async () => {
    const help = await harness(['dataset', 'prepare', '--help']);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toMatch(/center\s+the middle of the photo/);
    expect(help.stdout).toMatch(/face\s+finds the main face/);
  });
});
