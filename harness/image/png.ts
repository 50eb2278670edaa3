// A strict PNG reader for checking files a child process wrote: pngjs decodes the whole stream (every
// chunk's CRC, the zlib data), where a header read would pass a truncated file.
import { inflateSync } from 'node:zlib';
import { PNG } from 'pngjs';

/** The size of a valid PNG; throws when `bytes` are not a complete, decodable PNG. */
export function decodedPngSize(bytes: Buffer): { width: number; height: number } {
  const png = PNG.sync.read(bytes);
  return { width: png.width, height: png.height };
}

/**
 * An 8-bit RGB PNG of exactly side×side (a thumbnail: opaque, not interlaced), as RGBA pixels ready to paste
 * into a Canvas; null when `png` is not one or does not decode. Decoded here, on the calling thread, by a
 * reader for just this one kind of PNG: for many small pictures that is several times cheaper than a
 * general decoder or a round trip to libvips' threads each. zlib's checksum catches damaged pixel data.
 */
export function decodeTile(png: Uint8Array, side: number): { data: Uint8Array; width: number; height: number } | null {
  const bytes = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  const isPng = bytes.length >= 33 && bytes.readUInt32BE(0) === 0x89504e47 && bytes.readUInt32BE(4) === 0x0d0a1a0a && bytes.toString('latin1', 12, 16) === 'IHDR';
  // IHDR: width, height, bit depth 8, colour type 2 (RGB), compression 0, filter 0, no interlace
  if (!isPng || bytes.readUInt32BE(16) !== side || bytes.readUInt32BE(20) !== side || bytes[24] !== 8 || bytes[25] !== 2 || bytes[26] !== 0 || bytes[27] !== 0 || bytes[28] !== 0) return null;
  const idat: Buffer[] = [];
  let ended = false;
  for (let at = 8; at + 12 <= bytes.length; ) {
    const length = bytes.readUInt32BE(at);
    const type = bytes.toString('latin1', at + 4, at + 8);
    if (at + 12 + length > bytes.length) return null;
    if (type === 'IDAT') idat.push(bytes.subarray(at + 8, at + 8 + length));
    if (type === 'IEND') {
      ended = true;
      break;
    }
    at += 12 + length;
  }
  if (!ended || idat.length === 0) return null;
  const stride = side * 3;
  let raw: Buffer;
  try {
    raw = inflateSync(idat.length === 1 ? idat[0]! : Buffer.concat(idat));
  } catch {
    return null;
  }
  if (raw.length !== side * (stride + 1)) return null;
  const out = new Uint8Array(side * side * 4);
  const row = new Uint8Array(stride);
  const prev = new Uint8Array(stride);
  for (let y = 0; y < side; y++) {
    const line = y * (stride + 1) + 1;
    if (!unfilter(raw[line - 1]!, raw.subarray(line, line + stride), row, prev)) return null;
    let o = y * side * 4;
    for (let x = 0; x < stride; x += 3) {
      out[o] = row[x]!;
      out[o + 1] = row[x + 1]!;
      out[o + 2] = row[x + 2]!;
      out[o + 3] = 255;
      o += 4;
    }
    prev.set(row);
  }
  return { data: out, width: side, height: side };
}

/** One row of 3-byte pixels through PNG's filter `filter` (Uint8Array stores wrap modulo 256). */
function unfilter(filter: number, line: Uint8Array, row: Uint8Array, prev: Uint8Array): boolean {
  const n = line.length;
  switch (filter) {
    case 0:
      row.set(line);
      return true;
    case 1:
      for (let x = 0; x < n; x++) row[x] = line[x]! + (x >= 3 ? row[x - 3]! : 0);
      return true;
    case 2:
      for (let x = 0; x < n; x++) row[x] = line[x]! + prev[x]!;
      return true;
    case 3:
      for (let x = 0; x < 3; x++) row[x] = line[x]! + (prev[x]! >> 1);
      for (let x = 3; x < n; x++) row[x] = line[x]! + ((row[x - 3]! + prev[x]!) >> 1);
      return true;
    case 4:
      for (let x = 0; x < 3; x++) row[x] = line[x]! + prev[x]!;
      for (let x = 3; x < n; x++) {
        const a = row[x - 3]!;
        const b = prev[x]!;
        const c = prev[x - 3]!;
        const pa = Math.abs(b - c);
        const pb = Math.abs(a - c);
        const pc = Math.abs(a + b - 2 * c);
        row[x] = line[x]! + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
      }
      return true;
    default:
      return false;
  }
}
