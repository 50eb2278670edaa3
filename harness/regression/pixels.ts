// Pure: pixel-level comparison of two decoded images with pixelmatch (diff image included).
import pixelmatch from 'pixelmatch';
import type { RawImage } from '../image/index.ts';

export interface PixelComparison {
  /** mismatched pixels / all pixels */
  mismatchRatio: number;
  /** largest absolute difference of any channel of any pixel, 0-255 */
  maxChannelDiff: number;
  /** pixelmatch's diff picture, RGB like the inputs */
  diff: RawImage;
}

function rgba(image: RawImage): Uint8Array {
  const out = new Uint8Array(image.width * image.height * 4);
  for (let i = 0, j = 0; j < image.data.length; i += 4, j += 3) {
    out[i] = image.data[j]!;
    out[i + 1] = image.data[j + 1]!;
    out[i + 2] = image.data[j + 2]!;
    out[i + 3] = 255;
  }
  return out;
}

function rgb(data: Uint8Array, width: number, height: number): RawImage {
  const out = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < data.length; i += 4, j += 3) {
    out[j] = data[i]!;
    out[j + 1] = data[i + 1]!;
    out[j + 2] = data[i + 2]!;
  }
  return { data: out, width, height };
}

export function maxChannelDiff(a: RawImage, b: RawImage): number {
  let max = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = Math.abs(a.data[i]! - b.data[i]!);
    if (d > max) max = d;
  }
  return max;
}

/**
 * threshold 0 with anti-aliasing counted: every pixel that is not bit-identical (the exact tier).
 * A looser threshold with anti-aliased pixels ignored: what a person would notice (the perceptual tier).
 */
export function comparePixels(golden: RawImage, current: RawImage, options: { threshold: number; includeAA: boolean }): PixelComparison {
  if (golden.width !== current.width || golden.height !== current.height) {
    throw new Error(`comparePixels: sizes differ (${golden.width}×${golden.height} vs ${current.width}×${current.height})`);
  }
  const { width, height } = golden;
  const output = new Uint8Array(width * height * 4);
  const mismatched = pixelmatch(rgba(golden), rgba(current), output, width, height, {
    threshold: options.threshold,
    includeAA: options.includeAA,
  });
  return { mismatchRatio: mismatched / (width * height), maxChannelDiff: maxChannelDiff(golden, current), diff: rgb(output, width, height) };
}
