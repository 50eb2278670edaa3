// Pictures composed from parts: a blank canvas with encoded images, flat rectangles and SVG drawn on it.
import sharp, { type OverlayOptions } from 'sharp';
import type { Colour } from './render.ts';

export type Layer =
  /** an encoded image (PNG, JPEG, …) */
  | { image: Buffer; left: number; top: number }
  /** SVG markup, e.g. text labels; how its text looks depends on the fonts of the machine */
  | { svg: string; left: number; top: number }
  | { fill: Colour; width: number; height: number; left: number; top: number };

/** Draws the layers in order onto an opaque RGB canvas and encodes it as PNG. */
export async function composePng(canvas: { width: number; height: number; background: Colour }, layers: Layer[]): Promise<Buffer> {
  return sharp({ create: { width: canvas.width, height: canvas.height, channels: 3, background: canvas.background } })
    .composite(layers.map(overlay))
    .png({ compressionLevel: 6 })
    .toBuffer();
}

function overlay(layer: Layer): OverlayOptions {
  const at = { left: layer.left, top: layer.top };
  if ('image' in layer) return { input: layer.image, ...at };
  if ('svg' in layer) return { input: Buffer.from(layer.svg), ...at };
  return { input: { create: { width: layer.width, height: layer.height, channels: 3, background: layer.fill } }, ...at };
}
