// Previews: the small picture of each sample that contact sheets are made of, kept beside the set's images
// (`samples/<set>/previews/<png-sha256>-<side>.png`) so a report never has to decode full-size PNGs. They are
// made where the pixels are already in memory (the scoring workers decode every image anyway) and pushed and
// pulled with the store. Derived data: a preview is named by the sha256 of the PNG it was made from, which the
// report takes from set.json (the sidecar's sha256, checked against the PNG when the set was verified), so a
// re-rendered image never finds a stale preview; a missing or unreadable one is made again from the PNG.
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { thumbnailPng, type Colour } from '../image/index.ts';
import { replaceFile } from '../store/atomic.ts';
import { sampleSetFiles } from '../store/layout.ts';
import { sha256 } from '../util/hash.ts';
import type { SampleImage } from './types.ts';

/** The contact sheets' cell: previews of this side are what reports use. */
export const PREVIEW_SIDE = 192;
/** What a preview is padded and flattened on (the sheets' background). */
export const PREVIEW_BACKGROUND: Colour = { r: 255, g: 255, b: 255, alpha: 1 };

export function previewFile(setDir: string, sha256: string, side = PREVIEW_SIDE): string {
  return sampleSetFiles(setDir).preview(sha256, side);
}

export async function writePreview(setDir: string, sha256: string, png: Uint8Array, side = PREVIEW_SIDE): Promise<void> {
  const file = previewFile(setDir, sha256, side);
  await mkdir(path.dirname(file), { recursive: true });
  await replaceFile(file, png);
}

/**
 * Makes the previews of a complete set that are missing (from the PNGs) and removes those of images the set
 * no longer has. Returns how many it made.
 */
export async function ensurePreviews(setDir: string, images: SampleImage[], side = PREVIEW_SIDE): Promise<number> {
  let made = 0;
  for (const image of images) {
    const file = previewFile(setDir, image.sha256, side);
    if ((await stat(file).catch(() => null))?.isFile()) continue;
    const bytes = await readFile(path.join(setDir, image.file)).catch(() => null);
    // a PNG changed since set.json vouched for it gets no preview under the old one's name
    if (!bytes || sha256(bytes) !== image.sha256) continue;
    const png = await thumbnailPng(bytes, side, PREVIEW_BACKGROUND).catch(() => null);
    if (!png) continue; // an unreadable image: the report draws its cell grey
    await writePreview(setDir, image.sha256, png, side);
    made++;
  }
  const wanted = new Set(images.map((image) => path.basename(previewFile(setDir, image.sha256, side))));
  const dir = sampleSetFiles(setDir).previewsDir;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (name.endsWith(`-${side}.png`) && !wanted.has(name)) await rm(path.join(dir, name), { force: true });
  }
  return made;
}
