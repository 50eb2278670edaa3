// The curls marker: a texture + colour descriptor of the hair band above the forehead. Pure.
import type { RawImage } from '../image/index.ts';
import { dist2, MESH } from './features.ts';

const PATCH_W = 96;
const PATCH_H = 40;
/** the band starts just above the mesh's forehead point and reaches roughly to the crown */
const BAND_FROM = 0.02;
const BAND_TO = 0.32;
const BAND_WIDTH = 0.9;
/** a band mostly outside the picture (cropped head) says nothing about the hair */
const MIN_INSIDE = 0.75;

type P = readonly number[];

/** Samples the band in the face's own frame (so head roll does not rotate the texture) as grey + chroma. */
export function sampleHairBand(image: RawImage, mesh: readonly P[]): { rgb: Float32Array; inside: number } {
  const top = mesh[MESH.foreheadTop]!;
  const chin = mesh[MESH.chin]!;
  const h = dist2(top, chin);
  const up = [(top[0]! - chin[0]!) / h, (top[1]! - chin[1]!) / h];
  const right = [-up[1]!, up[0]!];
  const width = dist2(mesh[MESH.cheekR]!, mesh[MESH.cheekL]!) * BAND_WIDTH;
  const rgb = new Float32Array(PATCH_W * PATCH_H * 3);
  let inside = 0;
  for (let row = 0; row < PATCH_H; row++) {
    const along = h * (BAND_TO - ((BAND_TO - BAND_FROM) * (row + 0.5)) / PATCH_H);
    for (let col = 0; col < PATCH_W; col++) {
      const across = width * ((col + 0.5) / PATCH_W - 0.5);
      const x = top[0]! + up[0]! * along + right[0]! * across;
      const y = top[1]! + up[1]! * along + right[1]! * across;
      if (x >= 0 && y >= 0 && x <= image.width - 1 && y <= image.height - 1) inside++;
      bilinear(image, x, y, rgb, (row * PATCH_W + col) * 3);
    }
  }
  return { rgb, inside: inside / (PATCH_W * PATCH_H) };
}

function bilinear(image: RawImage, x: number, y: number, out: Float32Array, at: number): void {
  const cx = Math.min(Math.max(x, 0), image.width - 1);
  const cy = Math.min(Math.max(y, 0), image.height - 1);
  const x0 = Math.floor(cx);
  const y0 = Math.floor(cy);
  const x1 = Math.min(x0 + 1, image.width - 1);
  const y1 = Math.min(y0 + 1, image.height - 1);
  const fx = cx - x0;
  const fy = cy - y0;
  const d = image.data;
  for (let c = 0; c < 3; c++) {
    const a = d[(y0 * image.width + x0) * 3 + c]! * (1 - fx) + d[(y0 * image.width + x1) * 3 + c]! * fx;
    const b = d[(y1 * image.width + x0) * 3 + c]! * (1 - fx) + d[(y1 * image.width + x1) * 3 + c]! * fx;
    out[at + c] = a * (1 - fy) + b * fy;
  }
}

// Uniform LBP: the 58 patterns with at most two 0/1 transitions get a bin each, the rest share one.
const UNIFORM_BIN = (() => {
  const bins = new Int16Array(256).fill(58);
  let next = 0;
  for (let code = 0; code < 256; code++) {
    let transitions = 0;
    for (let bit = 0; bit < 8; bit++) transitions += ((code >> bit) & 1) !== ((code >> ((bit + 1) % 8)) & 1) ? 1 : 0;
    if (transitions <= 2) bins[code] = next++;
  }
  return bins;
})();

function lbpHistogram(grey: Float32Array, radius: number): number[] {
  const hist = new Array<number>(59).fill(0);
  const offsets = [[-1, -1], [0, -1], [1, -1], [1, 0], [1, 1], [0, 1], [-1, 1], [-1, 0]].map(([dx, dy]) => [dx! * radius, dy! * radius]);
  for (let y = radius; y < PATCH_H - radius; y++) {
    for (let x = radius; x < PATCH_W - radius; x++) {
      const centre = grey[y * PATCH_W + x]!;
      let code = 0;
      offsets.forEach(([dx, dy], bit) => {
        // a small threshold keeps flat areas (skin, sky) from flickering between patterns on noise
        if (grey[(y + dy!) * PATCH_W + x + dx!]! >= centre + 2) code |= 1 << bit;
      });
      hist[UNIFORM_BIN[code]!]!++;
    }
  }
  return hist;
}

function orientationHistogram(grey: Float32Array): number[] {
  const hist = new Array<number>(8).fill(0);
  for (let y = 1; y < PATCH_H - 1; y++) {
    for (let x = 1; x < PATCH_W - 1; x++) {
      const gx = grey[y * PATCH_W + x + 1]! - grey[y * PATCH_W + x - 1]!;
      const gy = grey[(y + 1) * PATCH_W + x]! - grey[(y - 1) * PATCH_W + x]!;
      const angle = (Math.atan2(gy, gx) + Math.PI) % Math.PI;
      hist[Math.min(7, Math.floor((angle / Math.PI) * 8))]! += Math.hypot(gx, gy);
    }
  }
  return hist;
}

function chromaHistogram(rgb: Float32Array): number[] {
  const hist = new Array<number>(16).fill(0);
  for (let i = 0; i < rgb.length; i += 3) {
    const sum = rgb[i]! + rgb[i + 1]! + rgb[i + 2]! + 1e-6;
    const r = Math.min(3, Math.floor((rgb[i]! / sum) * 4 * 0.999));
    const g = Math.min(3, Math.floor((rgb[i + 1]! / sum) * 4 * 0.999));
    hist[r * 4 + g]!++;
  }
  return hist;
}

function l1(hist: number[]): number[] {
  const total = hist.reduce((a, b) => a + b, 0);
  return total === 0 ? hist : hist.map((v) => v / total);
}

/** Blocks of the descriptor and their weight in the similarity: texture first, then direction, colour. */
export const HAIR_BLOCKS = [
  { name: 'lbp1', size: 59, weight: 0.3 },
  { name: 'lbp2', size: 59, weight: 0.3 },
  { name: 'orientation', size: 8, weight: 0.2 },
  { name: 'chroma', size: 16, weight: 0.2 },
] as const;

export function hairDescriptor(image: RawImage, mesh: readonly P[]): number[] | null {
  const { rgb, inside } = sampleHairBand(image, mesh);
  if (inside < MIN_INSIDE) return null;
  const grey = new Float32Array(PATCH_W * PATCH_H);
  for (let i = 0; i < grey.length; i++) grey[i] = 0.299 * rgb[i * 3]! + 0.587 * rgb[i * 3 + 1]! + 0.114 * rgb[i * 3 + 2]!;
  return [...l1(lbpHistogram(grey, 1)), ...l1(lbpHistogram(grey, 2)), ...l1(orientationHistogram(grey)), ...l1(chromaHistogram(rgb))];
}

/** 1 − χ²/2 per block (1 = same histograms, 0 = disjoint), weighted over the blocks. */
export function hairSimilarity(a: readonly number[], b: readonly number[]): number {
  let at = 0;
  let total = 0;
  for (const block of HAIR_BLOCKS) {
    let chi = 0;
    for (let i = at; i < at + block.size; i++) {
      const s = a[i]! + b[i]!;
      if (s > 0) chi += (a[i]! - b[i]!) ** 2 / s;
    }
    total += block.weight * (1 - chi / 2);
    at += block.size;
  }
  return total;
}

/** Mean histogram of several descriptors (still L1-normalised per block). */
export function hairCentroid(descriptors: readonly (readonly number[])[]): number[] {
  const out = new Array<number>(descriptors[0]?.length ?? 0).fill(0);
  for (const d of descriptors) for (let i = 0; i < out.length; i++) out[i]! += d[i]! / descriptors.length;
  return out;
}
