// Contact sheets from the sets' previews (harness/samples/previews.ts) are the very bytes that resizing the
// full-size PNGs gives; a stale or unreadable preview is never used, the PNG is.
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { composePng, decodeImage, thumbnailFromPixels, type Layer } from '../../harness/image/index.ts';
import { buildReport } from '../../harness/report/build.ts';
import { CELL, contactSheet, labelsSvg, sheetGeometry, ThumbnailCache, type SheetInput } from '../../harness/report/contact-sheet.ts';
import { PREVIEW_BACKGROUND, PREVIEW_SIDE, previewFile, writePreview } from '../../harness/samples/previews.ts';
import type { SampleSetManifest } from '../../harness/samples/types.ts';
import { readJson, writeJsonAtomic } from '../../harness/store/atomic.ts';
import { REPO } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { writeFixtureStore, type FixtureStore } from '../fixtures/report/store.ts';

const FACES = ['astronaut', 'grace_hopper', 'camera', 'coffee'].map((name) => path.join(REPO, 'tests', 'fixtures', 'faces', `${name}.jpg`));

const STORE: FixtureStore = {
  experiment: 'prev',
  prompts: ['01-a', '02-b'],
  seeds: [5, 6],
  imageSize: 128,
  control: 'unscored',
  runs: [
    { variant: 'baseline', hash: 'aaaaaaaa', state: 'done', final: 'unscored' },
    { variant: 'a-long-variant-name_with_parts', hash: 'bbbbbbbb', state: 'done', final: 'unscored' },
  ],
};

/** Every set folder of the store with its manifest. */
async function sets(store: string): Promise<{ dir: string; manifest: SampleSetManifest }[]> {
  const out: { dir: string; manifest: SampleSetManifest }[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    if (entries.some((e) => e.name === 'set.json')) out.push({ dir, manifest: (await readJson<SampleSetManifest>(path.join(dir, 'set.json')))! });
    for (const e of entries) if (e.isDirectory() && e.name !== 'previews') await walk(path.join(dir, e.name));
  };
  await walk(store);
  return out;
}

/** Photo crops instead of the fixture's flat colours, so resizing has real work (and rounding) to do. */
async function paintPhotos(store: string): Promise<void> {
  let i = 0;
  for (const { dir, manifest } of await sets(store)) {
    for (const image of manifest.images) {
      const png = await sharp(FACES[i % FACES.length]).resize(160 + (i % 3) * 20, 150, { fit: 'cover' }).modulate({ hue: (i * 47) % 360 }).resize(128, 128, { fit: 'fill' }).png().toBuffer();
      await writeFile(path.join(dir, image.file), png);
      i++;
    }
  }
}

/** What a scoring worker writes: the preview from the pixels it decoded (harness/scoring/extract.ts). */
async function writePreviews(store: string): Promise<number> {
  let n = 0;
  for (const { dir, manifest } of await sets(store)) {
    for (const image of manifest.images) {
      const pixels = await decodeImage(await readFile(path.join(dir, image.file)));
      await writePreview(dir, image.sha256, await thumbnailFromPixels(pixels, PREVIEW_SIDE, PREVIEW_BACKGROUND));
      n++;
    }
  }
  return n;
}

async function reportFiles(outDir: string, files: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const file of files.filter((f) => /\.(md|svg|png)$/.test(f))) out[file] = (await readFile(path.join(outDir, file))).toString('base64');
  return out;
}

let root: string;
let store: string;
let reference: Record<string, string>;
let images: number;

beforeAll(async () => {
  root = await tempDir('harness-report-previews-');
  store = path.join(root, 'store');
  await writeFixtureStore(store, STORE);
  await paintPhotos(store);
  const built = await buildReport({ storeRoot: store, experiment: 'prev', outDir: path.join(root, 'from-pngs') });
  expect(built.thumbnails).toEqual({ previews: 0, cached: 0, resized: 12 });
  reference = await reportFiles(path.join(root, 'from-pngs'), built.files);
  images = await writePreviews(store);
});

describe('contact sheets from previews', () => {
  it('are byte-identical to sheets resized from the PNGs, and decode no PNG', async () => {
    expect(images).toBe(12);
    const built = await buildReport({ storeRoot: store, experiment: 'prev', outDir: path.join(root, 'from-previews') });
    expect(built.thumbnails).toEqual({ previews: 12, cached: 0, resized: 0 });
    expect(await reportFiles(path.join(root, 'from-previews'), built.files)).toEqual(reference);
  });

  it('ignore a stale preview (the image was rendered again) and an unreadable one, and use the PNGs', async () => {
    const [first, second] = await sets(store);
    // image 0 of the first set rendered again: new bytes, new sha256 in set.json; its old preview stays behind
    const redone = first!.manifest.images[0]!;
    const flipped = await sharp(path.join(first!.dir, redone.file)).flop().png().toBuffer();
    await writeFile(path.join(first!.dir, redone.file), flipped);
    const newSha = 'e'.repeat(64);
    await writeJsonAtomic(path.join(first!.dir, 'set.json'), { ...first!.manifest, images: first!.manifest.images.map((im) => (im === redone ? { ...im, sha256: newSha } : im)) });
    // a preview of the second set damaged under its right name
    await writeFile(previewFile(second!.dir, second!.manifest.images[1]!.sha256), 'not a png');

    const withPreviews = await buildReport({ storeRoot: store, experiment: 'prev', outDir: path.join(root, 'stale') });
    expect(withPreviews.thumbnails).toEqual({ previews: 10, cached: 0, resized: 2 });
    // the same store without any preview gives the same report
    for (const { dir } of await sets(store)) await rm(path.join(dir, 'previews'), { recursive: true, force: true });
    const without = await buildReport({ storeRoot: store, experiment: 'prev', outDir: path.join(root, 'stale-reference') });
    expect(without.thumbnails.resized).toBe(12);
    const flippedSheets = await reportFiles(path.join(root, 'stale'), withPreviews.files);
    expect(flippedSheets).toEqual(await reportFiles(path.join(root, 'stale-reference'), without.files));
    expect(flippedSheets).not.toEqual(reference); // the re-rendered image shows
  });

  it('draw what composing every thumbnail as a layer draws (labels first, then cells, grey for a missing one)', async () => {
    const dir = await tempDir('harness-sheet-layers-');
    const thumbs: Buffer[] = [];
    for (const [i, face] of FACES.entries()) {
      const file = path.join(dir, `t${i}.png`);
      await writeFile(file, await sharp(face).resize(CELL, CELL, { fit: 'cover' }).png().toBuffer());
      thumbs.push(await readFile(file));
    }
    const input: SheetInput = {
      title: 'a title that is long enough to be clipped somewhere',
      columns: ['seed 1', 'seed 2 with a header wider than its cell'],
      rows: [
        { label: 'control (no LoRA)', cells: [{ file: path.join(dir, 't0.png') }, { file: path.join(dir, 't1.png') }] },
        { label: 'WWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWW-bbbbbbbb', cells: [null, { file: path.join(dir, 't2.png') }] },
        { label: 'grid-rank_32_learning_rate_5e-05-0123abcd', cells: [{ file: path.join(dir, 't3.png') }, { file: path.join(dir, 'missing.png') }] },
      ],
    };
    const drawn = await contactSheet(input, new ThumbnailCache(path.join(dir, 'cache')));

    // the same sheet the straightforward way: one composite layer per label layer and cell
    const g = sheetGeometry(3, 2);
    const cache = new ThumbnailCache(path.join(dir, 'cache-2'));
    const layers: Layer[] = [{ svg: labelsSvg(input, g), left: 0, top: 0 }];
    for (const [r, row] of input.rows.entries()) {
      for (const [c, cell] of row.cells.entries()) {
        const { left, top } = g.origin(r, c);
        const thumb = cell ? await cache.get(cell.file, CELL) : null;
        layers.push(thumb ? { image: thumb, left, top } : { fill: { r: 221, g: 221, b: 221 }, width: CELL, height: CELL, left, top });
      }
    }
    const composed = await composePng({ width: g.width, height: g.height, background: PREVIEW_BACKGROUND }, layers);
    expect(drawn.equals(composed)).toBe(true);
  });
});
