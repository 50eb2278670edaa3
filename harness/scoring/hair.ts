// The curls marker: a texture + colour descriptor of the hair, read only where the person mask says
// person. Pure. The band sits above the forehead (face mesh) or, with no usable face (back and profile
// views), on the upper head found from the body keypoints.
import type { RawImage } from '../image/index.ts';
import { dist2, MESH, type BodyPart, type Point2 } from './features.ts';
import { GATES } from './gates.ts';
import { PERSON_THRESHOLD, personAt, type PersonMask } from './mask.ts';

const PATCH_W = 96;
const PATCH_H = 40;
/** a band mostly outside the picture (cropped head) says nothing about the hair */
const MIN_INSIDE = 0.75;
/** nor does one that is mostly background (the band missed the head) */
const MIN_PERSON = 0.5;

type P = readonly number[];

/** Where the band lies: from `from` to `to` pixels along `up` from `origin`, `width` pixels across. */
export interface BandFrame {
  origin: [number, number];
  up: [number, number];
  from: number;
  to: number;
  width: number;
}

export interface HairFeatures {
  /** mesh: above the forehead; pose: the upper head from ear and shoulder keypoints */
  from: 'mesh' | 'pose';
  /** null when the band is not usable (see inside, person) */
  descriptor: number[] | null;
  /** share of the band inside the picture */
  inside: number;
  /** share of the in-picture band the mask calls person */
  person: number;
}

/** The band starts just above the mesh's forehead point and reaches roughly to the crown. */
export function meshBand(mesh: readonly P[]): BandFrame {
  const top = mesh[MESH.foreheadTop]!;
  const chin = mesh[MESH.chin]!;
  const h = dist2(top, chin);
  return {
    origin: [top[0]!, top[1]!],
    up: [(top[0]! - chin[0]!) / h, (top[1]! - chin[1]!) / h],
    from: 0.02 * h,
    to: 0.32 * h,
    width: 0.9 * dist2(mesh[MESH.cheekR]!, mesh[MESH.cheekL]!),
  };
}

function seen(keypoints: Partial<Record<BodyPart, Point2>>, part: BodyPart, min: number): Point2 | null {
  const k = keypoints[part];
  return k && k.score >= min ? k : null;
}

/**
 * The upper head from body keypoints, for images without a usable face: up is the direction from the
 * shoulders' midpoint to the ears; the ear span (or, with one ear, the ear-to-shoulders distance) sets the
 * head's size. The crown lies about 0.85 ear spans above the ears; the band covers 0.25-0.8 of that.
 */
export function poseBand(keypoints: Partial<Record<BodyPart, Point2>>): BandFrame | null {
  const left = seen(keypoints, 'leftShoulder', GATES.shoulderMinScore);
  const right = seen(keypoints, 'rightShoulder', GATES.shoulderMinScore);
  const ears = [seen(keypoints, 'leftEar', GATES.headKeypointMinScore), seen(keypoints, 'rightEar', GATES.headKeypointMinScore)].filter((k): k is Point2 => k !== null);
  if (!left || !right || ears.length === 0) return null;
  const ear = { x: ears.reduce((a, k) => a + k.x, 0) / ears.length, y: ears.reduce((a, k) => a + k.y, 0) / ears.length };
  const vx = ear.x - (left.x + right.x) / 2;
  const vy = ear.y - (left.y + right.y) / 2;
  const d = Math.hypot(vx, vy);
  // the ears must be above the shoulders (image y grows downwards): otherwise a lying or inverted pose
  if (d === 0 || vy >= 0) return null;
  const size = ears.length === 2 ? Math.hypot(ears[0]!.x - ears[1]!.x, ears[0]!.y - ears[1]!.y) : 0.75 * d;
  if (size < 4) return null;
  return { origin: [ear.x, ear.y], up: [vx / d, vy / d], from: 0.25 * size, to: 0.8 * size, width: 0.9 * size };
}

/**
 * Samples the band in its own frame (so head roll does not rotate the texture) as RGB, with a 1 per sample
 * that is inside the picture and person.
 */
export function sampleBand(image: RawImage, frame: BandFrame, mask: PersonMask | null): { rgb: Float32Array; person: Uint8Array; inside: number; personShare: number } {
  const right = [-frame.up[1], frame.up[0]];
  const rgb = new Float32Array(PATCH_W * PATCH_H * 3);
  const person = new Uint8Array(PATCH_W * PATCH_H);
  let inside = 0;
  let persons = 0;
  for (let row = 0; row < PATCH_H; row++) {
    const along = frame.to - ((frame.to - frame.from) * (row + 0.5)) / PATCH_H;
    for (let col = 0; col < PATCH_W; col++) {
      const across = frame.width * ((col + 0.5) / PATCH_W - 0.5);
      const x = frame.origin[0] + frame.up[0] * along + right[0]! * across;
      const y = frame.origin[1] + frame.up[1] * along + right[1]! * across;
      const at = row * PATCH_W + col;
      if (x >= 0 && y >= 0 && x <= image.width - 1 && y <= image.height - 1) {
        inside++;
        if (!mask || personAt(mask, x, y) >= PERSON_THRESHOLD) {
          person[at] = 1;
          persons++;
        }
      }
      bilinear(image, x, y, rgb, at * 3);
    }
  }
  const total = PATCH_W * PATCH_H;
  return { rgb, person, inside: inside / total, personShare: inside === 0 ? 0 : persons / inside };
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

/** Each histogram counts only pixels the mask calls person, with every neighbour the pixel's measure reads. */
function lbpHistogram(grey: Float32Array, person: Uint8Array, radius: number): number[] {
  const hist = new Array<number>(59).fill(0);
  const offsets = [[-1, -1], [0, -1], [1, -1], [1, 0], [1, 1], [0, 1], [-1, 1], [-1, 0]].map(([dx, dy]) => [dx! * radius, dy! * radius]);
  for (let y = radius; y < PATCH_H - radius; y++) {
    for (let x = radius; x < PATCH_W - radius; x++) {
      if (!person[y * PATCH_W + x] || offsets.some(([dx, dy]) => !person[(y + dy!) * PATCH_W + x + dx!])) continue;
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

function orientationHistogram(grey: Float32Array, person: Uint8Array): number[] {
  const hist = new Array<number>(8).fill(0);
  for (let y = 1; y < PATCH_H - 1; y++) {
    for (let x = 1; x < PATCH_W - 1; x++) {
      const at = y * PATCH_W + x;
      if (!person[at] || !person[at - 1] || !person[at + 1] || !person[at - PATCH_W] || !person[at + PATCH_W]) continue;
      const gx = grey[y * PATCH_W + x + 1]! - grey[y * PATCH_W + x - 1]!;
      const gy = grey[(y + 1) * PATCH_W + x]! - grey[(y - 1) * PATCH_W + x]!;
      const angle = (Math.atan2(gy, gx) + Math.PI) % Math.PI;
      hist[Math.min(7, Math.floor((angle / Math.PI) * 8))]! += Math.hypot(gx, gy);
    }
  }
  return hist;
}

function chromaHistogram(rgb: Float32Array, person: Uint8Array): number[] {
  const hist = new Array<number>(16).fill(0);
  for (let i = 0; i < rgb.length; i += 3) {
    if (!person[i / 3]) continue;
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

/**
 * The hair features of one band: the descriptor, or null (with the shares that say why) when the band is
 * mostly outside the picture or mostly not person (cropped head, band off the head, bald or covered by
 * something the mask calls background).
 */
export function hairFeatures(image: RawImage, frame: BandFrame, from: HairFeatures['from'], mask: PersonMask | null): HairFeatures {
  const { rgb, person, inside, personShare } = sampleBand(image, frame, mask);
  const shares = { inside: round3(inside), person: round3(personShare) };
  if (inside < MIN_INSIDE || personShare < MIN_PERSON) return { from, descriptor: null, ...shares };
  const grey = new Float32Array(PATCH_W * PATCH_H);
  for (let i = 0; i < grey.length; i++) grey[i] = 0.299 * rgb[i * 3]! + 0.587 * rgb[i * 3 + 1]! + 0.114 * rgb[i * 3 + 2]!;
  const descriptor = [
    ...l1(lbpHistogram(grey, person, 1)),
    ...l1(lbpHistogram(grey, person, 2)),
    ...l1(orientationHistogram(grey, person)),
    ...l1(chromaHistogram(rgb, person)),
  ];
  return { from, descriptor, ...shares };
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
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
