// The one home of the image libraries (sharp, pngjs): decode, resize, crop, compose and encode images.
// Other modules import this file; the files next to it hold the larger jobs.
import sharp, { type Sharp } from 'sharp';
import type { Box } from './render.ts';

export { composePng, encodeCanvas, fillRect, pasteTile, svgCanvas, type Canvas, type Layer } from './compose.ts';
export { describeDecodeError, grey16Samples, inspectImage, type ImageMeta, type StoredPixels } from './inspect.ts';
export { decodedPngSize, decodeTile } from './png.ts';
export { cropToPng, storedRgbSize, thumbnailFromPixels, thumbnailPng, type Box, type Colour } from './render.ts';

/** Interleaved 8-bit RGB pixels, row-major. */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
}

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp'] as const;

export function isImageFile(name: string): boolean {
  const lower = name.toLowerCase();
  return IMAGE_EXTENSIONS.some((ext) => lower.endsWith(ext));
}

/** In worker threads each decode should use one libvips thread: the pool already fills the cores. */
export function setImageConcurrency(threads: number): void {
  sharp.concurrency(threads);
}

async function toRaw(pipeline: Sharp): Promise<RawImage> {
  const { data, info } = await pipeline.toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}

/**
 * Decodes a file or buffer to RGB, honouring EXIF orientation; transparent pixels are flattened on white.
 * `maxSide` shrinks (never enlarges) so the longer side is at most that many pixels.
 */
export async function decodeImage(input: string | Uint8Array, options: { maxSide?: number } = {}): Promise<RawImage> {
  let pipeline = sharp(input, { failOn: 'error' }).rotate().flatten({ background: '#ffffff' });
  if (options.maxSide) {
    pipeline = pipeline.resize({ width: options.maxSide, height: options.maxSide, fit: 'inside', withoutEnlargement: true });
  }
  return toRaw(pipeline);
}

export async function imageSize(input: string | Uint8Array): Promise<{ width: number; height: number }> {
  const meta = await sharp(input).metadata();
  return { width: meta.width ?? 0, height: meta.height ?? 0 };
}

/** Size after EXIF rotation (orientations 5-8 swap width and height): the frame decodeImage works in. */
export async function uprightImageSize(input: string | Uint8Array): Promise<{ width: number; height: number }> {
  const meta = await sharp(input).metadata();
  return { width: meta.autoOrient?.width ?? meta.width ?? 0, height: meta.autoOrient?.height ?? meta.height ?? 0 };
}

function fromRaw(image: RawImage): Sharp {
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } });
}

export async function resizeImage(image: RawImage, width: number, height: number): Promise<RawImage> {
  return toRaw(fromRaw(image).resize({ width, height, fit: 'fill' }));
}

export async function cropImage(image: RawImage, box: Box): Promise<RawImage> {
  return toRaw(fromRaw(image).extract(box));
}

export type ImageFormat = 'png' | 'jpeg' | 'webp';

export async function encodeImage(image: RawImage, format: ImageFormat = 'png', quality = 90): Promise<Buffer> {
  const pipeline = fromRaw(image);
  if (format === 'jpeg') return pipeline.jpeg({ quality }).toBuffer();
  if (format === 'webp') return pipeline.webp({ quality }).toBuffer();
  return pipeline.png().toBuffer();
}

/** Whole-image edits used to make "same photo" variants (tests, benchmarks). */
export type ImageEdit =
  | { op: 'flip' }
  | { op: 'crop'; fraction: number }
  | { op: 'colour'; brightness?: number; saturation?: number; hue?: number }
  | { op: 'greyscale' }
  | { op: 'blur'; sigma: number }
  | { op: 'jpeg'; quality: number }
  | { op: 'scale'; factor: number };

export async function editImage(input: string | Uint8Array, edit: ImageEdit): Promise<Buffer> {
  const source = sharp(input).rotate();
  const { width = 0, height = 0 } = await source.metadata();
  switch (edit.op) {
    case 'flip':
      return source.flop().png().toBuffer();
    case 'crop': {
      const w = Math.round(width * edit.fraction);
      const h = Math.round(height * edit.fraction);
      return source.extract({ left: Math.round((width - w) / 2), top: Math.round((height - h) / 2), width: w, height: h }).png().toBuffer();
    }
    case 'colour':
      return source.modulate({ brightness: edit.brightness ?? 1, saturation: edit.saturation ?? 1, hue: edit.hue ?? 0 }).png().toBuffer();
    case 'greyscale':
      return source.greyscale().png().toBuffer();
    case 'blur':
      return source.blur(edit.sigma).png().toBuffer();
    case 'jpeg':
      return source.jpeg({ quality: edit.quality }).toBuffer();
    case 'scale':
      return source.resize({ width: Math.max(1, Math.round(width * edit.factor)) }).png().toBuffer();
  }
}
