// What a stored image file is (container, size as stored, EXIF orientation, channels) and its pixels as
// stored: no rotation, no colour conversion, so equal pictures give equal pixels in any encoding.
import sharp from 'sharp';

export interface ImageMeta {
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
}

/** Decoded pixels exactly as stored: interleaved, `channels` bytes a pixel, no EXIF rotation. */
export interface StoredPixels {
  data: Buffer;
  width: number;
  height: number;
  channels: number;
}

/** Reads the header and decodes the pixels; throws on any decode error (see `describeDecodeError`). */
export async function inspectImage(file: string): Promise<{ meta: ImageMeta; pixels: StoredPixels }> {
  const image = sharp(file, { failOn: 'error' });
  const meta = await image.metadata();
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
  return {
    meta: {
      format: meta.format ?? 'unknown',
      width: meta.width ?? info.width,
      height: meta.height ?? info.height,
      orientation: meta.orientation,
      channels: meta.channels ?? info.channels,
      depth: meta.depth ?? 'unknown',
      hasAlpha: meta.hasAlpha ?? false,
    },
    pixels: { data, width: info.width, height: info.height, channels: info.channels },
  };
}

/** One line for a decode failure: sharp's messages are long and name the buffer, not the file. */
export function describeDecodeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/unsupported image format/i.test(message)) return 'not an image sharp can decode (unsupported or corrupt file)';
  if (/heif|heic|hevc/i.test(message)) return `HEIC/HEVC decoding is not in this sharp build (${firstLine(message)}); convert it to JPEG or PNG first`;
  return firstLine(message);
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.trim();
}

/** The samples of a 16-bit greyscale image as stored (0–65535), one per pixel. */
export async function grey16Samples(file: string): Promise<Uint16Array> {
  const { data } = await sharp(file, { failOn: 'error' }).toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer({ resolveWithObject: true });
  return new Uint16Array(data.buffer, data.byteOffset, data.length / 2);
}
