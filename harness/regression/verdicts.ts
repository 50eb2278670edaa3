// Pure: numbers in, verdicts out, for each tier. No disk, no images decoded here.
import type { ImageScore, Marker } from '../scoring/types.ts';
import type { ExperimentFile } from '../config/schema.ts';
import type { ImageCheck, SceneCheck, Tier, Verdict } from './types.ts';

export type Tolerances = ExperimentFile['regression']['tolerances'];

export interface Judged {
  verdict: Verdict;
  metrics: Record<string, number | null>;
  note?: string;
}

export function judgeExact(pixels: { mismatchRatio: number; maxChannelDiff: number }, tol: Tolerances['exact']): Judged {
  const problems: string[] = [];
  if (pixels.mismatchRatio > tol.mismatch_ratio) problems.push(`${pct(pixels.mismatchRatio)} of pixels differ (limit ${pct(tol.mismatch_ratio)})`);
  if (pixels.maxChannelDiff > tol.max_channel_diff) problems.push(`a channel differs by ${pixels.maxChannelDiff} (limit ${tol.max_channel_diff})`);
  return {
    verdict: problems.length ? 'regression' : 'pass',
    metrics: { mismatchRatio: pixels.mismatchRatio, maxChannelDiff: pixels.maxChannelDiff },
    ...(problems.length ? { note: problems.join('; ') } : {}),
  };
}

export interface Drift {
  /** 1 − cosine of the face embeddings; null when either image has none */
  drift: number | null;
  /** true when the golden has a face and the current image has none */
  faceLost: boolean;
  note?: string;
}

export function embeddingDrift(golden: ImageScore | undefined, current: ImageScore | undefined): Drift {
  if (!golden) return { drift: null, faceLost: false, note: 'the golden image has no score: drift not judged' };
  if (!current) return { drift: null, faceLost: false, note: 'the current image has no score: drift not judged' };
  const a = golden.embedding;
  const b = current.embedding;
  if (!golden.face) return { drift: null, faceLost: false, note: 'the golden image has no face: drift not judged' };
  if (!current.face) return { drift: null, faceLost: true, note: 'no face found where the golden image has one' };
  if (!a || a.length === 0) return { drift: null, faceLost: false, note: 'the golden scores have no face embeddings: drift not judged' };
  if (!b || b.length === 0) return { drift: null, faceLost: false, note: 'the current scores have no face embeddings (scored without them): drift not judged' };
  if (a.length !== b.length) return { drift: null, faceLost: false, note: `embedding sizes differ (${a.length} vs ${b.length}): another scorer?` };
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  const cos = na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
  return { drift: Math.max(0, 1 - cos), faceLost: false };
}

export function judgePerceptual(
  input: { mismatchRatio: number; maxChannelDiff: number; ssim: number; drift: Drift },
  tol: Tolerances['perceptual'],
): Judged {
  const problems: string[] = [];
  if (input.mismatchRatio > tol.mismatch_ratio) problems.push(`${pct(input.mismatchRatio)} of pixels differ visibly (limit ${pct(tol.mismatch_ratio)})`);
  if (input.ssim < tol.min_ssim) problems.push(`SSIM ${input.ssim.toFixed(3)} < ${tol.min_ssim}`);
  if (input.drift.faceLost) problems.push(input.drift.note ?? 'face lost');
  else if (input.drift.drift !== null && input.drift.drift > tol.max_embedding_drift) {
    problems.push(`face embedding drifted ${input.drift.drift.toFixed(3)} (limit ${tol.max_embedding_drift})`);
  }
  const notes = problems.length ? problems : input.drift.note ? [input.drift.note] : [];
  return {
    verdict: problems.length ? 'regression' : 'pass',
    metrics: { mismatchRatio: input.mismatchRatio, maxChannelDiff: input.maxChannelDiff, ssim: input.ssim, embeddingDrift: input.drift.drift },
    ...(notes.length ? { note: notes.join('; ') } : {}),
  };
}

function mean(values: number[]): number {
  return values.reduce((s, v) => s + v, 0) / values.length;
}

function sd(values: number[]): number {
  if (values.length < 2) return 0;
  const m = mean(values);
  return Math.sqrt(values.reduce((s, v) => s + (v - m) ** 2, 0) / (values.length - 1));
}

export interface MarkerShift {
  goldenMean: number | null;
  currentMean: number | null;
  /** golden standard error of the mean over seeds */
  se: number | null;
  /** (current mean − golden mean) / se; null when it cannot be computed */
  shiftSe: number | null;
  goldenN: number;
  currentN: number;
  regression: boolean;
  note?: string;
}

/**
 * One scene, one marker: does the current mean over seeds stay within `maxShiftSe` standard errors of the
 * golden mean? Two-sided: the golden is the accepted behaviour, and a large change either way needs a
 * look (and `--accept` if it is wanted).
 */
export function markerShift(golden: (number | null)[], current: (number | null)[], maxShiftSe: number): MarkerShift {
  const g = golden.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  const c = current.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  const base = { goldenN: g.length, currentN: c.length };
  if (g.length === 0) return { ...base, goldenMean: null, currentMean: c.length ? mean(c) : null, se: null, shiftSe: null, regression: false, note: 'no golden values' };
  const goldenMean = mean(g);
  if (c.length === 0) return { ...base, goldenMean, currentMean: null, se: null, shiftSe: null, regression: true, note: 'missing on every seed' };
  const currentMean = mean(c);
  if (g.length < 2) {
    return { ...base, goldenMean, currentMean, se: null, shiftSe: null, regression: false, note: 'the golden has one value: no seed-to-seed spread to judge against' };
  }
  const se = sd(g) / Math.sqrt(g.length);
  const delta = currentMean - goldenMean;
  if (se === 0) {
    const moved = Math.abs(delta) > 1e-12;
    return { ...base, goldenMean, currentMean, se, shiftSe: moved ? null : 0, regression: moved, ...(moved ? { note: 'the golden has no seed-to-seed spread and the mean moved' } : {}) };
  }
  const shiftSe = delta / se;
  return { ...base, goldenMean, currentMean, se, shiftSe, regression: Math.abs(shiftSe) > maxShiftSe };
}

export interface SceneScores {
  promptId: string;
  golden: ImageScore[];
  current: ImageScore[];
}

export function judgeScene(scene: SceneScores, markers: readonly Marker[], tol: Tolerances['statistical']): SceneCheck {
  const metrics: Record<string, number | null> = {};
  const problems: string[] = [];
  // a marker with a shift of null and no regression compared nothing (no golden values, or only one)
  const notCompared: string[] = [];
  for (const marker of markers) {
    const shift = markerShift(scene.golden.map((s) => s[marker]), scene.current.map((s) => s[marker]), tol.max_mean_shift_se);
    metrics[`${marker}.shiftSe`] = shift.shiftSe;
    metrics[`${marker}.goldenMean`] = shift.goldenMean;
    metrics[`${marker}.currentMean`] = shift.currentMean;
    metrics[`${marker}.goldenN`] = shift.goldenN;
    metrics[`${marker}.currentN`] = shift.currentN;
    if (shift.regression) {
      problems.push(shift.shiftSe === null ? `${marker}: ${shift.note}` : `${marker} mean moved ${signed(shift.shiftSe)} SE (limit ±${tol.max_mean_shift_se})`);
    } else if (shift.shiftSe === null) {
      notCompared.push(`${marker} (${shift.note ?? 'not compared'}; golden ${shift.goldenN}, current ${shift.currentN} values)`);
    }
  }
  const base = { promptId: scene.promptId, tier: 'statistical' as const, metrics };
  if (problems.length) return { ...base, verdict: 'regression', note: problems.join('; ') };
  // A verdict over zero compared values is inconclusive, never pass (DESIGN.md §10).
  if (notCompared.length === markers.length) return { ...base, verdict: 'inconclusive', note: `nothing compared: ${notCompared.join('; ')}` };
  return { ...base, verdict: 'pass', ...(notCompared.length ? { note: `not compared: ${notCompared.join('; ')}` } : {}) };
}

/** Pixel tiers: a scene is as good as its worst seed; its numbers are the worst of each metric. */
export function summarizeScene(promptId: string, tier: Tier, images: ImageCheck[]): SceneCheck {
  const verdict: Verdict = images.some((i) => i.verdict === 'regression')
    ? 'regression'
    : images.some((i) => i.verdict === 'missing')
      ? 'missing'
      : 'pass';
  const worst: Record<string, number | null> = {};
  const higherIsWorse = (key: string) => key !== 'ssim';
  for (const image of images) {
    for (const [key, value] of Object.entries(image.metrics)) {
      if (value === null) {
        if (!(key in worst)) worst[key] = null;
        continue;
      }
      const prev = worst[key];
      if (prev === null || prev === undefined) worst[key] = value;
      else worst[key] = higherIsWorse(key) ? Math.max(prev, value) : Math.min(prev, value);
    }
  }
  return { promptId, tier, verdict, metrics: worst };
}

export function pct(ratio: number): string {
  const p = ratio * 100;
  return `${p < 0.1 && p > 0 ? p.toPrecision(2) : p.toFixed(p < 10 ? 2 : 1)}%`;
}

export function signed(value: number): string {
  return `${value >= 0 ? '+' : '−'}${Math.abs(value).toFixed(1)}`;
}
