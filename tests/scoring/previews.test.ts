// The scoring workers make each image's preview from the pixels they decode anyway: the same picture
// thumbnailPng makes from the file (the report's sheets depend on it), without changing any feature.
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { thumbnailPng } from '../../harness/image/index.ts';
import { PREVIEW_BACKGROUND, PREVIEW_SIDE } from '../../harness/samples/previews.ts';
import { createExtractor, type Extractor } from '../../harness/scoring/index.ts';
import { defaultWorkers, WORKER_MEMORY_MB } from '../../harness/scoring/pool.ts';
import { REPO } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

const FACES = path.join(REPO, 'tests', 'fixtures', 'faces');

let dir: string;
let extractor: Extractor;
const files: Record<string, string> = {};

beforeAll(async () => {
  dir = await tempDir('harness-previews-');
  await mkdir(dir, { recursive: true });
  const face = path.join(FACES, 'astronaut.jpg');
  const make = async (name: string, bytes: Buffer) => {
    files[name] = path.join(dir, name);
    await writeFile(files[name]!, bytes);
  };
  // what a sampler writes: 8-bit RGB PNG (made from the decoded pixels)
  await make('rgb__s1.png', await sharp(face).resize(512, 512).png().toBuffer());
  await make('wide__s1.png', await sharp(face).resize(600, 400, { fit: 'fill' }).png().toBuffer());
  // anything else: from the file's bytes
  await make('alpha__s1.png', await sharp(face).resize(300, 300).ensureAlpha(0.5).png().toBuffer());
  await make('big__s1.png', await sharp(face).resize(1200, 1200).png().toBuffer()); // shrunk for the detectors
  await copyFile(path.join(FACES, 'camera.jpg'), path.join(dir, 'camera__s1.jpg'));
  files['camera__s1.jpg'] = path.join(dir, 'camera__s1.jpg');
  await make('broken__s1.png', Buffer.from('not a png'));
  extractor = createExtractor({ workers: 1 });
}, 120_000);

afterAll(async () => {
  await extractor?.close();
});

const pixels = async (png: Uint8Array) => (await sharp(png).raw().toBuffer({ resolveWithObject: true }));

describe('previews made by the scoring workers', () => {
  it('are the pixels of thumbnailPng of the file, for every readable image, and change no feature', async () => {
    const names = Object.keys(files).sort();
    const made = new Map<string, { sha256: string; png: Uint8Array }>();
    const previews = {
      request: { side: PREVIEW_SIDE, background: PREVIEW_BACKGROUND },
      write: async (file: string, sha256: string, png: Uint8Array) => void made.set(path.basename(file), { sha256, png }),
    };
    const withPreviews = await extractor.extract(names.map((n) => files[n]!), { previews });
    expect([...made.keys()].sort()).toEqual(names.filter((n) => n !== 'broken__s1.png'));
    for (const [name, { sha256, png }] of made) {
      const expected = await pixels(await thumbnailPng(files[name]!, PREVIEW_SIDE, PREVIEW_BACKGROUND));
      const got = await pixels(png);
      expect(got.info, name).toMatchObject({ width: PREVIEW_SIDE, height: PREVIEW_SIDE, channels: expected.info.channels });
      expect(got.data.equals(expected.data), name).toBe(true);
      expect(sha256).toBe(withPreviews[names.indexOf(name)]!.sha256);
    }
    const without = await extractor.extract(names.map((n) => files[n]!));
    expect(without).toEqual(withPreviews);
  }, 120_000);
});

describe('scoring workers', () => {
  it('are as many as the cores, as long as the free memory holds them, and at least one', () => {
    expect(defaultWorkers({ cores: 2, freeMb: 8000 })).toBe(2);
    expect(defaultWorkers({ cores: 16, freeMb: 2000 })).toBe(Math.floor(2000 / WORKER_MEMORY_MB));
    expect(defaultWorkers({ cores: 16, freeMb: 100 })).toBe(1);
    expect(defaultWorkers({ cores: 1, freeMb: 64_000 })).toBe(1);
  });
});
