// What the dataset needs of an image: its stored form with a fingerprint of its pixels, the upright
// square crop, and the rendered training PNG. The pixel work itself is harness/image/'s.
import { createHash } from 'node:crypto';
import { cropToPng, inspectImage, type ImageMeta } from '../image/index.ts';

export interface ImageInfo extends ImageMeta {
  /** sha256 over the decoded pixels (with their shape): equal for the same picture in any encoding */
  pixelSha256: string;
}

export async function readImageInfo(file: string): Promise<ImageInfo> {
  const { meta, pixels } = await inspectImage(file);
  const pixelSha256 = createHash('sha256')
    .update(`${pixels.width}x${pixels.height}x${pixels.channels}\n`)
    .update(pixels.data)
    .digest('hex');
  return { ...meta, pixelSha256 };
}

export interface SquareCrop {
  /** box in the upright (EXIF-rotated) source image */
  left: number;
  top: number;
  side: number;
}

/** Upright size of an image: orientations 5-8 swap width and height. */
export function uprightSize(info: Pick<ImageInfo, 'width' | 'height' | 'orientation'>): { width: number; height: number } {
  const swapped = info.orientation !== undefined && info.orientation >= 5 && info.orientation <= 8;
  return swapped ? { width: info.height, height: info.width } : { width: info.width, height: info.height };
}

export function centreCrop(width: number, height: number): SquareCrop {
  const side = Math.min(width, height);
  return { left: Math.floor((width - side) / 2), top: Math.floor((height - side) / 2), side };
}

/**
 * The training PNG, in memory (the caller writes it atomically): EXIF-rotated, the square cut, resized,
 * 8-bit sRGB without metadata. `flatten` puts transparency on white (the trainer's convert("RGB") would keep
 * whatever colour hides under transparent pixels).
 */
export async function renderSquarePng(source: string, crop: SquareCrop, size: number, flatten: boolean): Promise<Buffer> {
  return cropToPng(source, { left: crop.left, top: crop.top, width: crop.side, height: crop.side }, { width: size, height: size }, flatten);
}
