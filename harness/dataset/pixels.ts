// What the dataset needs of an image: its stored form with a fingerprint of its pixels, the upright
// square crop, and the rendered training PNG. The pixel work itself is harness/image/'s.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { cropToPng, grey16Samples, imageSize, inspectImage, type ImageMeta, type StoredPixels } from '../image/index.ts';

export interface ImageInfo extends ImageMeta {
  /** sha256 over the decoded pixels (with their shape): equal for the same picture in any encoding */
  pixelSha256: string;
  /**
   * Pixels that are not fully opaque, and the mean colour stored under them: the script's convert("RGB")
   * drops alpha, so that colour is what trains. Absent for images without an alpha channel.
   */
  transparency?: { share: number; under: [number, number, number] };
  /**
   * A 16-bit greyscale PNG: PIL opens it as mode I;16 and convert("RGB") clips every sample above 255, so
   * the script trains on `meanAfterScript` (0–255) where the picture's own mean is `mean` (0–255).
   */
  grey16?: { mean: number; meanAfterScript: number };
}

export async function readImageInfo(file: string): Promise<ImageInfo> {
  const { meta, pixels } = await inspectImage(file);
  const pixelSha256 = createHash('sha256')
    .update(`${pixels.width}x${pixels.height}x${pixels.channels}\n`)
    .update(pixels.data)
    .digest('hex');
  const info: ImageInfo = { ...meta, pixelSha256 };
  if (meta.hasAlpha) info.transparency = transparencyOf(pixels);
  if (meta.format === 'png' && meta.depth === 'ushort' && meta.channels === 1) {
    const samples = await grey16Samples(file);
    let sum = 0;
    let clipped = 0;
    for (const v of samples) {
      sum += v;
      clipped += Math.min(v, 255);
    }
    info.grey16 = { mean: sum / samples.length / 257, meanAfterScript: clipped / samples.length };
  }
  return info;
}

function transparencyOf(pixels: StoredPixels): ImageInfo['transparency'] {
  const { data, channels } = pixels;
  if (channels !== 2 && channels !== 4) return { share: 0, under: [0, 0, 0] };
  const alpha = channels - 1;
  let count = 0;
  const sum = [0, 0, 0];
  for (let i = 0; i < data.length; i += channels) {
    if (data[i + alpha]! === 255) continue;
    count += 1;
    for (let c = 0; c < 3; c++) sum[c]! += data[i + Math.min(c, alpha - 1)]!;
  }
  const pixelsTotal = data.length / channels;
  const mean = (c: number) => (count ? Math.round(sum[c]! / count) : 0);
  return { share: count / pixelsTotal, under: [mean(0), mean(1), mean(2)] };
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

/** The smallest side of the dataset's top-level images, from their headers (cheap: no decoding). */
export async function smallestImageSide(dir: string, names: string[]): Promise<{ side: number; file: string } | null> {
  let smallest: { side: number; file: string } | null = null;
  for (const name of names) {
    const size = await imageSize(path.join(dir, name)).catch(() => null);
    if (!size || size.width === 0) continue;
    const side = Math.min(size.width, size.height);
    if (!smallest || side < smallest.side) smallest = { side, file: name };
  }
  return smallest;
}
