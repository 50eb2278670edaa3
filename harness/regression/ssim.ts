// Pure: mean structural similarity (Wang, Bovik, Sheikh & Simoncelli 2004) on luma, with an 11×11
// Gaussian window (σ 1.5) over the valid region, after the authors' suggested downsampling of large images.
import type { RawImage } from '../image/index.ts';

const K1 = 0.01;
const K2 = 0.03;
const L = 255;
const C1 = (K1 * L) ** 2;
const C2 = (K2 * L) ** 2;
const WINDOW = 11;
const SIGMA = 1.5;

interface Plane {
  data: Float64Array;
  width: number;
  height: number;
}

/** ITU-R BT.601 luma of interleaved RGB. */
export function luma(image: RawImage): Plane {
  const { width, height, data } = image;
  const out = new Float64Array(width * height);
  for (let i = 0, j = 0; i < out.length; i++, j += 3) out[i] = 0.299 * data[j]! + 0.587 * data[j + 1]! + 0.114 * data[j + 2]!;
  return { data: out, width, height };
}

/** Box-average by an integer factor (the remainder rows/columns are dropped). */
export function downsample(plane: Plane, factor: number): Plane {
  if (factor <= 1) return plane;
  const width = Math.floor(plane.width / factor);
  const height = Math.floor(plane.height / factor);
  const out = new Float64Array(width * height);
  const area = factor * factor;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sum = 0;
      for (let dy = 0; dy < factor; dy++) {
        const row = (y * factor + dy) * plane.width + x * factor;
        for (let dx = 0; dx < factor; dx++) sum += plane.data[row + dx]!;
      }
      out[y * width + x] = sum / area;
    }
  }
  return { data: out, width, height };
}

function gaussianKernel(size: number, sigma: number): Float64Array {
  const kernel = new Float64Array(size);
  const half = (size - 1) / 2;
  let sum = 0;
  for (let i = 0; i < size; i++) {
    kernel[i] = Math.exp(-((i - half) ** 2) / (2 * sigma * sigma));
    sum += kernel[i]!;
  }
  for (let i = 0; i < size; i++) kernel[i]! /= sum;
  return kernel;
}

/** Separable filtering, valid region only: output is (w - k + 1) × (h - k + 1). */
function filterValid(values: Float64Array, width: number, height: number, kernel: Float64Array): Float64Array {
  const k = kernel.length;
  const outW = width - k + 1;
  const outH = height - k + 1;
  const horizontal = new Float64Array(outW * height);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < outW; x++) {
      let sum = 0;
      for (let i = 0; i < k; i++) sum += values[row + x + i]! * kernel[i]!;
      horizontal[y * outW + x] = sum;
    }
  }
  const out = new Float64Array(outW * outH);
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      let sum = 0;
      for (let i = 0; i < k; i++) sum += horizontal[(y + i) * outW + x]! * kernel[i]!;
      out[y * outW + x] = sum;
    }
  }
  return out;
}

function ssimTerm(mx: number, my: number, vx: number, vy: number, cov: number): number {
  return ((2 * mx * my + C1) * (2 * cov + C2)) / ((mx * mx + my * my + C1) * (vx + vy + C2));
}

/** Mean SSIM of two equally sized RGB images, in [-1, 1]; 1 means identical luma. */
export function ssim(a: RawImage, b: RawImage): number {
  if (a.width !== b.width || a.height !== b.height) throw new Error(`ssim: sizes differ (${a.width}×${a.height} vs ${b.width}×${b.height})`);
  const factor = Math.max(1, Math.round(Math.min(a.width, a.height) / 256));
  const x = downsample(luma(a), factor);
  const y = downsample(luma(b), factor);
  const n = x.data.length;
  if (x.width < WINDOW || x.height < WINDOW) return globalSsim(x.data, y.data);
  const xx = new Float64Array(n);
  const yy = new Float64Array(n);
  const xy = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    xx[i] = x.data[i]! * x.data[i]!;
    yy[i] = y.data[i]! * y.data[i]!;
    xy[i] = x.data[i]! * y.data[i]!;
  }
  const kernel = gaussianKernel(WINDOW, SIGMA);
  const f = (v: Float64Array) => filterValid(v, x.width, x.height, kernel);
  const mx = f(x.data);
  const my = f(y.data);
  const sxx = f(xx);
  const syy = f(yy);
  const sxy = f(xy);
  let total = 0;
  for (let i = 0; i < mx.length; i++) {
    const ux = mx[i]!;
    const uy = my[i]!;
    total += ssimTerm(ux, uy, sxx[i]! - ux * ux, syy[i]! - uy * uy, sxy[i]! - ux * uy);
  }
  return total / mx.length;
}

/** Tiny images: one window over everything. */
function globalSsim(x: Float64Array, y: Float64Array): number {
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= n;
  my /= n;
  let vx = 0;
  let vy = 0;
  let cov = 0;
  for (let i = 0; i < n; i++) {
    vx += (x[i]! - mx) ** 2;
    vy += (y[i]! - my) ** 2;
    cov += (x[i]! - mx) * (y[i]! - my);
  }
  return ssimTerm(mx, my, vx / n, vy / n, cov / n);
}
