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

/**
 * RGBA pixels to paste tiles into: what composePng's composite works on. Drawing hundreds of thumbnails as
 * composite layers costs every layer at every canvas pixel; pasting them into these pixels costs each tile
 * once and gives the same picture (opaque tiles over the background, labels underneath).
 */
export interface Canvas {
  data: Uint8Array;
  width: number;
  height: number;
}

/**
 * The background with `svg` drawn on it (the first layer composePng would draw), as RGBA pixels. libvips
 * would blend every canvas pixel with the rendered SVG; here only the pixels the SVG touches are blended,
 * through a table that libvips' own blend filled (blendTable), so the result is the same to the bit.
 */
export async function svgCanvas(canvas: { width: number; height: number; background: Colour }, svg: string): Promise<Canvas> {
  const { width, height, background } = canvas;
  const [{ data: drawn, info }, tables] = await Promise.all([
    sharp(Buffer.from(svg)).ensureAlpha().raw().toBuffer({ resolveWithObject: true }),
    Promise.all([background.r, background.g, background.b].map(blendTable)),
  ]);
  if (info.width !== width || info.height !== height || info.channels !== 4) {
    throw new Error(`the labels' SVG rendered at ${info.width}×${info.height}×${info.channels}, the canvas is ${width}×${height}×4`);
  }
  const [red, green, blue] = tables as [Uint8Array, Uint8Array, Uint8Array];
  // The rendered SVG becomes the canvas in place: rows it left empty are filled with the background in one
  // go, the others blended pixel by pixel.
  const data = drawn.byteOffset % 4 === 0 ? new Uint8Array(drawn.buffer, drawn.byteOffset, drawn.length) : new Uint8Array(drawn);
  const pixels = new Uint32Array(data.buffer, data.byteOffset, width * height);
  const plain = new Uint32Array(new Uint8Array([red[0]!, green[0]!, blue[0]!, 255]).buffer)[0]!;
  const rowBytes = width * 4;
  const empty = Buffer.alloc(rowBytes);
  for (let y = 0; y < height; y++) {
    if (Buffer.from(data.buffer, data.byteOffset + y * rowBytes, rowBytes).equals(empty)) {
      pixels.fill(plain, y * width, (y + 1) * width);
      continue;
    }
    for (let i = y * rowBytes; i < (y + 1) * rowBytes; i += 4) {
      const alpha = data[i + 3]!;
      if (alpha === 0) {
        pixels[i >> 2] = plain;
        continue;
      }
      const row = alpha << 8;
      data[i] = red[row | data[i]!]!;
      data[i + 1] = green[row | data[i + 1]!]!;
      data[i + 2] = blue[row | data[i + 2]!]!;
      data[i + 3] = 255;
    }
  }
  return { data, width, height };
}

const tables = new Map<number, Promise<Uint8Array>>();

/**
 * What libvips' composite (`over`) makes of an RGBA pixel on an opaque background channel of value `under`:
 * table[alpha << 8 | value]. Filled by compositing every (value, alpha) pair once: the blend works on each
 * channel alone, so this is the whole of it.
 */
function blendTable(under: number): Promise<Uint8Array> {
  let table = tables.get(under);
  if (!table) {
    const pairs = Buffer.alloc(256 * 256 * 4);
    for (let alpha = 0; alpha < 256; alpha++) {
      for (let value = 0; value < 256; value++) pairs.fill(value, (alpha * 256 + value) * 4, (alpha * 256 + value) * 4 + 3).writeUInt8(alpha, (alpha * 256 + value) * 4 + 3);
    }
    table = sharp({ create: { width: 256, height: 256, channels: 3, background: { r: under, g: under, b: under } } })
      .composite([{ input: pairs, raw: { width: 256, height: 256, channels: 4 }, left: 0, top: 0 }])
      .extractChannel(0)
      .raw()
      .toBuffer()
      .then((out) => new Uint8Array(out.buffer, out.byteOffset, out.length));
    tables.set(under, table);
  }
  return table;
}

/** Copies an opaque tile of RGBA pixels (decodeTile's) into the canvas at (left, top). */
export function pasteTile(canvas: Canvas, tile: { data: Uint8Array; width: number; height: number }, left: number, top: number): void {
  const rowBytes = tile.width * 4;
  for (let y = 0; y < tile.height; y++) canvas.data.set(tile.data.subarray(y * rowBytes, (y + 1) * rowBytes), ((top + y) * canvas.width + left) * 4);
}

/** An opaque rectangle of one colour, as composePng's `fill` layer draws it. */
export function fillRect(canvas: Canvas, colour: Colour, left: number, top: number, width: number, height: number): void {
  for (let y = 0; y < height; y++) {
    let out = ((top + y) * canvas.width + left) * 4;
    for (let x = 0; x < width; x++) {
      canvas.data[out] = colour.r;
      canvas.data[out + 1] = colour.g;
      canvas.data[out + 2] = colour.b;
      canvas.data[out + 3] = 255;
      out += 4;
    }
  }
}

/** The canvas as PNG, encoded as composePng encodes. */
export async function encodeCanvas(canvas: Canvas): Promise<Buffer> {
  return sharp(canvas.data, { raw: { width: canvas.width, height: canvas.height, channels: 4 } })
    .png({ compressionLevel: 6 })
    .toBuffer();
}
