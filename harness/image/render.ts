// File → PNG renderings: the dataset's square crops and the reports' thumbnails.
import sharp from 'sharp';

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
export async function thumbnailPng(file: string, side: number, background: Colour): Promise<Buffer> {
  return sharp(file)
    .resize(side, side, { fit: 'contain', background })
    .flatten({ background })
    .png({ compressionLevel: 6 })
    .toBuffer();
}
