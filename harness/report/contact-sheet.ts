// Contact sheets as PNG: a grid of thumbnails with SVG-text labels, composed by harness/image/.
// Fonts differ between machines, so labels sit in their own bands and never overlap a thumbnail:
// the pixel grid (where each thumbnail lands) depends only on the geometry below.
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { composePng, thumbnailPng, type Colour, type Layer } from '../image/index.ts';

export const CELL = 192;
export const GAP = 4;
export const LABEL_WIDTH = 220;
export const HEADER_HEIGHT = 40;
const BACKGROUND: Colour = { r: 255, g: 255, b: 255, alpha: 1 };
const MISSING: Colour = { r: 221, g: 221, b: 221 };

export interface SheetRow {
  label: string;
  /** absolute image files, one per column; null where the image does not exist */
  cells: ({ file: string; sha256?: string } | null)[];
}

export interface SheetInput {
  title: string;
  columns: string[];
  rows: SheetRow[];
  cell?: number;
}

export interface Geometry {
  width: number;
  height: number;
  cell: number;
  /** top-left pixel of the thumbnail at (row, column) */
  origin(row: number, column: number): { left: number; top: number };
}

export function sheetGeometry(rows: number, columns: number, cell = CELL): Geometry {
  return {
    width: LABEL_WIDTH + columns * (cell + GAP) + GAP,
    height: HEADER_HEIGHT + rows * (cell + GAP) + GAP,
    cell,
    origin: (row, column) => ({ left: LABEL_WIDTH + GAP + column * (cell + GAP), top: HEADER_HEIGHT + GAP + row * (cell + GAP) }),
  };
}

/**
 * Thumbnails are cached on disk by content hash, so regenerating a report only resizes new images;
 * thumbnails no build asked for since the cache was opened are pruned.
 */
export class ThumbnailCache {
  private readonly used = new Set<string>();

  constructor(private readonly dir: string) {}

  private async key(file: string, sha256?: string): Promise<string | null> {
    if (sha256 && /^[A-Za-z0-9._-]+$/.test(sha256)) return sha256.slice(0, 64);
    const info = await stat(file).catch(() => null);
    if (!info) return null;
    return `${path.basename(file)}-${info.size}-${Math.round(info.mtimeMs)}`.replace(/[^A-Za-z0-9._-]/g, '_');
  }

  async get(file: string, size: number, sha256?: string): Promise<Buffer | null> {
    const key = await this.key(file, sha256);
    if (key === null) return null;
    const name = `${key}-${size}.png`;
    this.used.add(name);
    const cached = path.join(this.dir, name);
    try {
      return await readFile(cached);
    } catch {
      // not cached yet
    }
    let thumb: Buffer;
    try {
      thumb = await thumbnailPng(file, size, BACKGROUND);
    } catch {
      return null; // unreadable or missing image: drawn as a grey cell
    }
    await mkdir(this.dir, { recursive: true });
    await writeFile(cached, thumb);
    return thumb;
  }

  /** Resizes many images at once: libvips decodes on its own threads, so a few in flight use every core. */
  async prefetch(items: { file: string; sha256?: string }[], size: number): Promise<void> {
    const queue = [...items];
    const workers = Array.from({ length: Math.max(2, os.availableParallelism()) }, async () => {
      for (let item = queue.shift(); item; item = queue.shift()) await this.get(item.file, size, item.sha256);
    });
    await Promise.all(workers);
  }

  async prune(): Promise<void> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    for (const name of names) if (!this.used.has(name)) await rm(path.join(this.dir, name), { force: true });
  }
}

export async function contactSheet(input: SheetInput, cache: ThumbnailCache): Promise<Buffer> {
  const columns = input.columns.length;
  const geometry = sheetGeometry(input.rows.length, columns, input.cell ?? CELL);
  const layers: Layer[] = [{ svg: labelsSvg(input, geometry), left: 0, top: 0 }];
  for (const [r, row] of input.rows.entries()) {
    for (let c = 0; c < columns; c++) {
      const { left, top } = geometry.origin(r, c);
      const source = row.cells[c];
      const thumb = source ? await cache.get(source.file, geometry.cell, source.sha256) : null;
      layers.push(thumb ? { image: thumb, left, top } : { fill: MISSING, width: geometry.cell, height: geometry.cell, left, top });
    }
  }
  return composePng({ width: geometry.width, height: geometry.height, background: BACKGROUND }, layers);
}

function labelsSvg(input: SheetInput, g: Geometry): string {
  const texts: string[] = [`<text x="8" y="26" font-size="16" font-weight="bold">${xml(clip(input.title, 26))}</text>`];
  input.columns.forEach((column, c) => {
    const { left } = g.origin(0, c);
    texts.push(`<text x="${left + g.cell / 2}" y="${HEADER_HEIGHT - 12}" font-size="14" text-anchor="middle">${xml(clip(column, Math.floor(g.cell / 8)))}</text>`);
  });
  input.rows.forEach((row, r) => {
    const { top } = g.origin(r, 0);
    const lines = wrap(row.label, 26).slice(0, 4);
    const tspans = lines.map((line, i) => `<tspan x="8" y="${top + 20 + i * 17}">${xml(line)}</tspan>`).join('');
    texts.push(`<text font-size="13">${tspans}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${g.width}" height="${g.height}"><g font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif" fill="#222">${texts.join('')}</g></svg>`;
}

/** Breaks a run id at - and _ where it can, else hard, into lines of at most `width` characters. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let rest = text;
  while (rest.length > width) {
    const window = rest.slice(0, width);
    const cut = Math.max(window.lastIndexOf('-'), window.lastIndexOf('_'));
    const at = cut > width / 3 ? cut + 1 : width;
    lines.push(rest.slice(0, at));
    rest = rest.slice(at);
  }
  if (rest) lines.push(rest);
  return lines;
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
