// The dataset's one door to sharp (image decoding and resizing). When harness/image/ lands, this file
// becomes a thin call into it; nothing else under dataset/ imports sharp.
import { createHash } from 'node:crypto';
import sharp from 'sharp';

export interface ImageInfo {
  /** sharp's name for the container: png, jpeg, webp, heif, … */
  format: string;
  /** as stored, before any EXIF rotation */
  width: number;
  height: number;
  /** EXIF orientation 1-8; 1 or undefined means upright */
  orientation: number | undefined;
  channels: number;
  depth: string;
  hasAlpha: boolean;
  /** sha256 over the decoded pixels (with their shape): equal for the same picture in any encoding */
  pixelSha256: string;
}

export async function readImageInfo(file: string): Promise<ImageInfo> {
  const image = sharp(file, { failOn: 'error' });
  const meta = await image.metadata();
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
  const pixelSha256 = createHash('sha256')
    .update(`${info.width}x${info.height}x${info.channels}\n`)
    .update(data)
    .digest('hex');
  return {
    format: meta.format ?? 'unknown',
    width: meta.width ?? info.width,
    height: meta.height ?? info.height,
    orientation: meta.orientation,
    channels: meta.channels ?? info.channels,
    depth: meta.depth ?? 'unknown',
    hasAlpha: meta.hasAlpha ?? false,
    pixelSha256,
  };
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
 * EXIF-rotates, crops the square box, resizes it with lanczos3 and writes an 8-bit sRGB PNG without
 * metadata, in memory (the caller writes it atomically). Transparency is flattened on white (the trainer's convert("RGB") would keep whatever colour
 * hides under transparent pixels).
 */
export async function renderSquarePng(source: string, crop: SquareCrop, size: number, flatten: boolean): Promise<Buffer> {
  let pipeline = sharp(source, { failOn: 'error' })
    .rotate()
    .extract({ left: crop.left, top: crop.top, width: crop.side, height: crop.side })
    .resize(size, size, { kernel: 'lanczos3', fit: 'fill' });
  if (flatten) pipeline = pipeline.flatten({ background: '#ffffff' });
  return pipeline.toColourspace('srgb').png({ compressionLevel: 9 }).toBuffer();
}

/** One line for a decode failure: sharp's messages are long and name the buffer, not the file. */
export function decodeFailure(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/unsupported image format/i.test(message)) return 'not an image sharp can decode (unsupported or corrupt file)';
  if (/heif|heic|hevc/i.test(message)) return `HEIC/HEVC decoding is not in this sharp build (${firstLine(message)}); convert it to JPEG or PNG first`;
  return firstLine(message);
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.trim();
}
