// File → PNG renderings: the dataset's square crops and the reports' thumbnails.
import sharp, { type Sharp } from 'sharp';

export interface Colour {
  r: number;
  g: number;
  b: number;
  /** 0–1; opaque when left out */
  alpha?: number;
}

export interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

const WHITE: Colour = { r: 255, g: 255, b: 255 };

/**
 * EXIF-rotates, cuts `box` (in the upright image), resizes it to exactly width×height with lanczos3 and
 * encodes an 8-bit sRGB PNG without metadata at the strongest compression. `flattenOnWhite`: transparency
 * becomes white (else the colour hidden under transparent pixels would show once alpha is dropped).
 */
export async function cropToPng(source: string, box: Box, size: { width: number; height: number }, flattenOnWhite: boolean): Promise<Buffer> {
  let pipeline = sharp(source, { failOn: 'error' })
    .rotate()
    .extract(box)
    .resize(size.width, size.height, { kernel: 'lanczos3', fit: 'fill' });
  if (flattenOnWhite) pipeline = pipeline.flatten({ background: WHITE });
  return pipeline.toColourspace('srgb').png({ compressionLevel: 9 }).toBuffer();
}

/** The whole image (as stored, no EXIF rotation) fitted inside side×side, padded and flattened on `background`. */
export async function thumbnailPng(input: string | Uint8Array, side: number, background: Colour): Promise<Buffer> {
  return thumbnail(sharp(input), side, background);
}

/**
 * thumbnailPng from pixels already decoded: the same picture when they are the image's stored pixels (8-bit
 * RGB, no alpha, no EXIF rotation, no ICC profile: `storedRgbSize` says whether a file is such an image).
 */
export async function thumbnailFromPixels(image: { data: Uint8Array; width: number; height: number }, side: number, background: Colour): Promise<Buffer> {
  return thumbnail(sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } }), side, background);
}

function thumbnail(pipeline: Sharp, side: number, background: Colour): Promise<Buffer> {
  return pipeline.resize(side, side, { fit: 'contain', background }).flatten({ background }).png({ compressionLevel: 6 }).toBuffer();
}

/**
 * The stored size of an image whose RGB decoding (decodeImage without shrinking) gives its pixels exactly as
 * stored, and which thumbnailPng resizes from those pixels: an 8-bit RGB PNG without alpha, EXIF rotation or
 * ICC profile (JPEG is left out: libvips may shrink it while decoding). Null for any other image.
 */
export async function storedRgbSize(input: string | Uint8Array): Promise<{ width: number; height: number } | null> {
  const meta = await sharp(input).metadata();
  const plain = meta.format === 'png' && meta.channels === 3 && !meta.hasAlpha && meta.depth === 'uchar' && (meta.orientation ?? 1) === 1 && !meta.hasProfile && meta.space === 'srgb';
  return plain && meta.width && meta.height ? { width: meta.width, height: meta.height } : null;
}
