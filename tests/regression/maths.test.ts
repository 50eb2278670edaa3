// The pure parts: SSIM, pixel comparison, tier choice, spec differences, drift and mean-shift verdicts.
import { describe, expect, it } from 'vitest';
import type { RawImage } from '../../harness/image/index.ts';
import { chooseTier, fingerprintOf, type EnvFingerprint } from '../../harness/regression/fingerprint.ts';
import { comparePixels } from '../../harness/regression/pixels.ts';
import { diffSpecs } from '../../harness/regression/spec-diff.ts';
import { ssim } from '../../harness/regression/ssim.ts';
import { embeddingDrift, judgeScene, markerShift } from '../../harness/regression/verdicts.ts';
import type { SampleSetManifest, SamplingSpec } from '../../harness/samples/types.ts';
import type { ImageScore } from '../../harness/scoring/types.ts';
import { ENV_H100 } from './project.ts';

function pattern(width: number, height: number, f: (x: number, y: number) => number): RawImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = Math.max(0, Math.min(255, Math.round(f(x, y))));
      data.set([v, v, v], (y * width + x) * 3);
    }
  }
  return { data, width, height };
}

const gradient = pattern(64, 64, (x, y) => 2 * x + y + 30 * Math.sin(x / 3) * Math.cos(y / 4));

describe('ssim', () => {
  it('is 1 for identical images and falls with noise, further with more noise', () => {
    expect(ssim(gradient, gradient)).toBeCloseTo(1, 10);
    let seed = 1;
    const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 2;
    const little = pattern(64, 64, (x, y) => 2 * x + y + 30 * Math.sin(x / 3) * Math.cos(y / 4) + 4 * rand());
    const lots = pattern(64, 64, (x, y) => 2 * x + y + 30 * Math.sin(x / 3) * Math.cos(y / 4) + 60 * rand());
    const a = ssim(gradient, little);
    const b = ssim(gradient, lots);
    expect(a).toBeLessThan(1);
    expect(a).toBeGreaterThan(0.9);
    expect(b).toBeLessThan(a);
  });

  it('sees structure, not brightness alone: an inverted image scores far below a brightened one', () => {
    const brighter = pattern(64, 64, (x, y) => 2 * x + y + 30 * Math.sin(x / 3) * Math.cos(y / 4) + 10);
    const inverted = pattern(64, 64, (x, y) => 255 - (2 * x + y + 30 * Math.sin(x / 3) * Math.cos(y / 4)));
    expect(ssim(gradient, brighter)).toBeGreaterThan(0.95);
    expect(ssim(gradient, inverted)).toBeLessThan(0);
  });

  it('handles images smaller than the window with one global window', () => {
    const tiny = pattern(8, 8, (x, y) => x * 10 + y);
    expect(ssim(tiny, tiny)).toBeCloseTo(1, 10);
  });
});

describe('comparePixels', () => {
  it('counts one changed pixel and reports its channel difference', () => {
    const changed: RawImage = { ...gradient, data: gradient.data.slice() };
    changed.data.set([255, 0, 0], (10 * 64 + 10) * 3);
    const result = comparePixels(gradient, changed, { threshold: 0, includeAA: true });
    expect(result.mismatchRatio).toBeCloseTo(1 / 4096, 10);
    expect(result.maxChannelDiff).toBeGreaterThan(100);
    expect(result.diff.width).toBe(64);
  });
});

const manifest = (env: Record<string, unknown>, weights = 'a'.repeat(64)): SampleSetManifest => ({
  schemaVersion: 1,
  setId: 'final-x',
  runId: 'baseline-1',
  experiment: 'mini',
  weights: { kind: 'final', path: 'w', sha256: weights },
  spec: {} as SamplingSpec,
  model: { id: 'org/base', commit: '1'.repeat(40) },
  vae: { id: 'org/vae', commit: '2'.repeat(40) },
  images: [],
  env,
  createdAt: '2026-11-20T10:00:00Z',
});

const fp = (env: Record<string, unknown>, weights?: string): EnvFingerprint => fingerprintOf(manifest(env, weights), { scriptSha256: 'f'.repeat(64) });

describe('chooseTier', () => {
  const golden = fp({ ...ENV_H100 });
  it('same stack and GPU → exact', () => {
    const choice = chooseTier(golden, fp({ ...ENV_H100 }));
    expect(choice.tier).toBe('exact');
    expect(choice.differences).toEqual([]);
  });
  it('same architecture, other torch / driver / card → perceptual, naming what differs', () => {
    const choice = chooseTier(golden, fp({ ...ENV_H100, torch: '2.6.0' }));
    expect(choice.tier).toBe('perceptual');
    expect(choice.reason).toContain('torch 2.5.1 → 2.6.0');
    const h200 = chooseTier(golden, fp({ ...ENV_H100, gpu: { ...ENV_H100.gpu!, name: 'NVIDIA H200', driver: '560.1' } }));
    expect(h200.tier).toBe('perceptual');
    expect(h200.differences.map((d) => d.field).sort()).toEqual(['gpu.driver', 'gpu.name']);
  });
  it('another architecture, other weights, dtype, or no GPU → statistical', () => {
    expect(chooseTier(golden, fp({ ...ENV_H100, gpu: { name: 'Tesla P100-PCIE-16GB', capability: '6.0', memory_mb: 16280, driver: '550.54.15' } })).tier).toBe('statistical');
    expect(chooseTier(golden, fp({ ...ENV_H100 }, 'b'.repeat(64))).tier).toBe('statistical');
    expect(chooseTier(golden, fp({ ...ENV_H100, dtype: 'fp32' })).tier).toBe('statistical');
    const cpu = chooseTier(golden, fp({ ...ENV_H100, gpu: null, device: 'cpu', dtype: 'fp32' }));
    expect(cpu.tier).toBe('statistical');
  });
  it('an unrecorded architecture is never assumed to match', () => {
    const noCap = { ...ENV_H100, gpu: { ...ENV_H100.gpu!, capability: undefined } };
    expect(chooseTier(fp(noCap), fp({ ...noCap, torch: '2.6.0' })).tier).toBe('statistical');
  });
});

describe('diffSpecs', () => {
  const spec: SamplingSpec = {
    prompts: [{ id: 'p', prompt: 'a photo' }],
    seeds: [1, 2],
    steps: 30,
    guidance_scale: 5,
    scheduler: 'euler',
    width: 1024,
    height: 1024,
    lora_scale: 1,
    negative_prompt: '',
  };
  it('names every differing field and nothing else', () => {
    expect(diffSpecs(spec, structuredClone(spec))).toEqual([]);
    const other = { ...spec, steps: 20, seeds: [1, 3], prompts: [{ id: 'p', prompt: 'a painting' }] };
    expect(diffSpecs(spec, other).map((d) => d.field)).toEqual(['steps', 'seeds', 'prompts.p.prompt']);
    expect(diffSpecs(spec, { ...spec, width: 512, scheduler: 'ddim' }).map((d) => d.field)).toEqual(['scheduler', 'width']);
  });
});

describe('embeddingDrift', () => {
  const score = (embedding?: number[]): ImageScore => ({ file: 'x.png', sha256: '', identity: null, curls: null, nose: null, neck: null, face: !!embedding, missing: {}, ...(embedding ? { embedding } : {}) });
  it('is 1 − cosine, and flags a lost face', () => {
    expect(embeddingDrift(score([1, 0]), score([2, 0])).drift).toBeCloseTo(0, 12);
    expect(embeddingDrift(score([1, 0]), score([0, 1])).drift).toBeCloseTo(1, 12);
    expect(embeddingDrift(score([1, 0]), score()).faceLost).toBe(true);
    expect(embeddingDrift(score(), score([1, 0]))).toMatchObject({ drift: null, faceLost: false });
    const faceWithoutEmbedding = { ...score(), face: true };
    expect(embeddingDrift(score([1, 0]), faceWithoutEmbedding)).toMatchObject({ drift: null, faceLost: false });
    expect(embeddingDrift(score([1, 0]), faceWithoutEmbedding).note).toContain('scored without them');
  });
});

describe('markerShift', () => {
  it('measures the mean shift in standard errors of the golden mean', () => {
    // golden: mean 0.8, sd 0.04, se 0.04/√3
    const shift = markerShift([0.8, 0.76, 0.84], [0.7, 0.7, 0.7], 3);
    expect(shift.se).toBeCloseTo(0.04 / Math.sqrt(3), 12);
    expect(shift.shiftSe).toBeCloseTo(-0.1 / (0.04 / Math.sqrt(3)), 9);
    expect(shift.regression).toBe(true);
    expect(markerShift([0.8, 0.76, 0.84], [0.81, 0.79, 0.8], 3).regression).toBe(false);
  });
  it('is two-sided, counts a marker lost on every seed, and refuses to judge without spread', () => {
    expect(markerShift([0.8, 0.76, 0.84], [0.95, 0.95, 0.95], 3).regression).toBe(true);
    expect(markerShift([0.8, 0.76, 0.84], [null, null, null], 3)).toMatchObject({ regression: true, note: 'missing on every seed' });
    expect(markerShift([0.8], [0.1], 3)).toMatchObject({ regression: false, shiftSe: null });
    expect(markerShift([0.5, 0.5], [0.5, 0.5], 3)).toMatchObject({ regression: false, shiftSe: 0 });
    expect(markerShift([0.5, 0.5], [0.6, 0.6], 3).regression).toBe(true);
  });
  it('judgeScene reports each marker and fails when one moves', () => {
    const s = (identity: number, neck: number | null): ImageScore => ({ file: 'f', sha256: '', identity, curls: null, nose: null, neck, face: true, missing: {} });
    const scene = judgeScene(
      { promptId: 'p', golden: [s(0.8, 0.5), s(0.76, 0.55), s(0.84, 0.6)], current: [s(0.8, 0.2), s(0.77, 0.25), s(0.83, 0.2)] },
      ['identity', 'neck'],
      { max_mean_shift_se: 3 },
    );
    expect(scene.verdict).toBe('regression');
    expect(Math.abs(scene.metrics['identity.shiftSe']!)).toBeLessThan(1);
    expect(scene.metrics['neck.shiftSe']!).toBeLessThan(-3);
    expect(scene.note).toContain('neck');
  });
});
