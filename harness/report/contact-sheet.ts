// Contact sheets as PNG: a grid of thumbnails with SVG-text labels, drawn by harness/image/.
// Fonts differ between machines, so labels sit in their own bands and never overlap a thumbnail:
// the pixel grid (where each thumbnail lands) depends only on the geometry below.
// The thumbnails are the sample sets' previews (harness/samples/previews.ts) when they are there, so a cold
// report decodes only small pictures; a missing or unreadable preview is made again from the PNG.
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { decodeTile, encodeCanvas, fillRect, pasteTile, svgCanvas, thumbnailPng, type Colour } from '../image/index.ts';
import { PREVIEW_BACKGROUND, PREVIEW_SIDE } from '../samples/previews.ts';
import pMap from 'p-map';

export const CELL = PREVIEW_SIDE;
export const GAP = 4;
export const LABEL_WIDTH = 220;
export const HEADER_HEIGHT = 40;
const BACKGROUND: Colour = PREVIEW_BACKGROUND;
const MISSING: Colour = { r: 221, g: 221, b: 221 };

export interface SheetCell {
  /** the full-size image */
  file: string;
  /** its sha256 as set.json has it: the key of its preview and of the report's own thumbnail */
  sha256?: string;
  /** where its preview would be (previewFile of the set); used only when the cell is CELL pixels */
  preview?: string;
}

export interface SheetRow {
  label: string;
  /** one per column; null where the image does not exist */
  cells: (SheetCell | null)[];
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

type Tile = { data: Uint8Array; width: number; height: number };

export interface ThumbnailStats {
  /** thumbnails read from the sets' previews */
  previews: number;
  /** read from the report's own cache */
  cached: number;
  /** made from the full-size image */
  resized: number;
}

/**
 * Thumbnails by content hash: the set's preview, else the report's cache (`.cache/thumbs`, so a rebuild only
 * resizes new images), else resized from the image. Thumbnails no build asked for since the cache was opened
 * are pruned. Each thumbnail's pixels are decoded once per build and dropped after the last sheet that
 * `plan` said draws it.
 */
export class ThumbnailCache {
  private readonly used = new Set<string>();
  private readonly tiles = new Map<string, { pixels?: Promise<Tile | null>; uses: number }>();
  readonly stats: ThumbnailStats = { previews: 0, cached: 0, resized: 0 };

  constructor(private readonly dir: string) {}

  private async key(file: string, sha256?: string): Promise<string | null> {
    if (sha256 && /^[A-Za-z0-9._-]+$/.test(sha256)) return sha256.slice(0, 64);
    const info = await stat(file).catch(() => null);
    if (!info) return null;
    return `${path.basename(file)}-${info.size}-${Math.round(info.mtimeMs)}`.replace(/[^A-Za-z0-9._-]/g, '_');
  }

  private tileKey(cell: SheetCell, size: number): string {
    return `${size}\0${cell.file}\0${cell.sha256 ?? ''}`;
  }

  /** The cells the coming sheets draw (each as often as it is drawn), so a thumbnail is decoded once. */
  plan(cells: SheetCell[], size: number): void {
    for (const cell of cells) {
      const key = this.tileKey(cell, size);
      const entry = this.tiles.get(key);
      if (entry) entry.uses++;
      else this.tiles.set(key, { uses: 1 });
    }
  }

  /** The cell's thumbnail pixels (opaque RGB, size×size), or null for an image that cannot be read. */
  async pixels(cell: SheetCell, size: number): Promise<Tile | null> {
    const key = this.tileKey(cell, size);
    const entry = this.tiles.get(key);
    if (!entry) return this.load(cell, size);
    entry.pixels ??= this.load(cell, size);
    if (--entry.uses <= 0) this.tiles.delete(key);
    return entry.pixels;
  }

  private async load(cell: SheetCell, size: number): Promise<Tile | null> {
    if (cell.preview && size === PREVIEW_SIDE) {
      const bytes = await readFile(cell.preview).catch(() => null);
      const tile = bytes ? decodeTile(bytes, size) : null;
      if (tile) {
        this.stats.previews++;
        return tile;
      }
    }
    const thumb = await this.get(cell.file, size, cell.sha256);
    return thumb ? decodeTile(thumb, size) : null;
  }

  /** The thumbnail as PNG from the report's cache, resized from the image when it is not there. */
  async get(file: string, size: number, sha256?: string): Promise<Buffer | null> {
    const key = await this.key(file, sha256);
    if (key === null) return null;
    const name = `${key}-${size}.png`;
    this.used.add(name);
    const cached = path.join(this.dir, name);
    try {
      const bytes = await readFile(cached);
      this.stats.cached++;
      return bytes;
    } catch {
      // not cached yet
    }
    let thumb: Buffer;
    try {
      thumb = await thumbnailPng(file, size, BACKGROUND);
    } catch {
      return null; // unreadable or missing image: drawn as a grey cell
    }
    this.stats.resized++;
    await mkdir(this.dir, { recursive: true });
    await writeFile(cached, thumb);
    return thumb;
  }

  async prune(): Promise<void> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    for (const name of names) if (!this.used.has(name)) await rm(path.join(this.dir, name), { force: true });
  }
}

/**
 * Draws the labels on the background, then pastes each thumbnail into its cell (grey where there is none):
 * the picture composePng gives with the labels as the first layer and one layer per cell.
 */
export async function contactSheet(input: SheetInput, cache: ThumbnailCache): Promise<Buffer> {
  const columns = input.columns.length;
  const geometry = sheetGeometry(input.rows.length, columns, input.cell ?? CELL);
  const canvas = await svgCanvas({ width: geometry.width, height: geometry.height, background: BACKGROUND }, labelsSvg(input, geometry));
  const cells = input.rows.flatMap((row, r) => Array.from({ length: columns }, (_, c) => ({ source: row.cells[c] ?? null, ...geometry.origin(r, c) })));
  // several decodes in flight: libvips runs them on its own threads
  await pMap(
    cells,
    async ({ source, left, top }) => {
      const tile = source ? await cache.pixels(source, geometry.cell) : null;
      if (tile) pasteTile(canvas, tile, left, top);
      else fillRect(canvas, MISSING, left, top, geometry.cell, geometry.cell);
    },
    { concurrency: 8 },
  );
  return encodeCanvas(canvas);
}

export function labelsSvg(input: SheetInput, g: Geometry): string {
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
