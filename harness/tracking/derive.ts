// Pure: the run store's facts (metric events, sample sets, score reports, spec) → W&B-shaped rows,
// summary and config. Live mirroring and `harness sync` both go through these functions, so the two
// produce the same history line for line.
import type { RunSpec } from '../plan/planner.ts';
import type { SampleSetManifest } from '../samples/types.ts';
import { MARKERS, type ScoreReport } from '../scoring/types.ts';
import type { HistoryRow, ImageFileValue, LedgerLine, RunEvent, TrackedFile, TrackingConfig } from './types.ts';
import { eventSeconds } from '../train/events.ts';

/** Where the derivation stands; recoverable from the ledger alone (stateFromLedger). */
export interface FoldState {
  /** highest `_step` so far: W&B needs it strictly increasing */
  lastStep: number;
  /** highest training step of a metric row: the step of the final weights */
  lastMetricStep: number;
  /** unix seconds of the first start; `_runtime` counts from it */
  startT: number | null;
  /** previous metric event of this process, for seconds per step */
  prev: { step: number; t: number } | null;
}

export const EMPTY_FOLD: FoldState = { lastStep: -1, lastMetricStep: -1, startT: null, prev: null };

const MB_PER_GB = 1024;

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function round(value: number, digits = 6): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function timing(state: FoldState, t: number | null): { _runtime: number; _timestamp: number } {
  const ts = t ?? state.prev?.t ?? state.startT ?? 0;
  return { _timestamp: round(ts, 3), _runtime: round(Math.max(0, ts - (state.startT ?? ts)), 3) };
}

/**
 * Folds events into metric rows. A metric event whose step is not above every step already mirrored
 * (a resumed training repeating steps after its checkpoint) gives no row: W&B's `_step` only grows,
 * and dropping it here keeps a re-derivation from ever duplicating a row.
 */
export function foldEvents(initial: FoldState, events: RunEvent[]): { state: FoldState; lines: LedgerLine[] } {
  const state: FoldState = { ...initial };
  const lines: LedgerLine[] = [];
  for (const event of events) {
    const t = eventSeconds(event.t);
    if (event.type === 'start') {
      if (state.startT === null && t !== null) state.startT = t;
      state.prev = null; // a new process: no seconds-per-step across the restart
      continue;
    }
    if (event.type !== 'metric' || typeof event.step !== 'number' || !Number.isInteger(event.step)) continue;
    if (state.startT === null && t !== null) state.startT = t;
    let sPerIt = num(event.s_per_it);
    if (sPerIt === undefined && state.prev && t !== null && event.step > state.prev.step && t >= state.prev.t) {
      sPerIt = (t - state.prev.t) / (event.step - state.prev.step);
    }
    if (t !== null) state.prev = { step: event.step, t };
    if (event.step <= state.lastStep) continue;
    const row: HistoryRow = { _step: event.step, ...timing(state, t) };
    const put = (key: string, value: number | undefined, scale = 1) => {
      if (value !== undefined) row[key] = value / scale;
    };
    put('train/loss', num(event.loss));
    put('train/lr', num(event.lr));
    put('gpu/vram_alloc_gb', num(event.vram_alloc_mb), MB_PER_GB);
    put('gpu/vram_reserved_gb', num(event.vram_reserved_mb), MB_PER_GB);
    put('gpu/vram_peak_gb', num(event.vram_peak_mb), MB_PER_GB);
    put('perf/s_per_it', sPerIt);
    state.lastStep = event.step;
    state.lastMetricStep = event.step;
    lines.push({ src: `m:${event.step}`, row });
  }
  return { state, lines };
}

export function stateFromLedger(lines: LedgerLine[]): FoldState {
  const state: FoldState = { ...EMPTY_FOLD };
  for (const { src, row } of lines) {
    if (state.startT === null) state.startT = row._timestamp - row._runtime;
    state.lastStep = Math.max(state.lastStep, row._step);
    if (src.startsWith('m:')) state.lastMetricStep = Math.max(state.lastMetricStep, row._step);
  }
  return state;
}

function weightsStep(manifest: SampleSetManifest, state: FoldState): number {
  return manifest.weights.kind === 'checkpoint' ? manifest.weights.step : Math.max(0, state.lastMetricStep);
}

/** `samples/<prompt>` → `samples_<prompt>`: one flat, readable file name per key. */
function mediaName(key: string, step: number, sha: string): string {
  return `media/images/${key.replace(/[^A-Za-z0-9_.-]/g, '_')}_${step}_${sha.slice(0, 20)}.png`;
}

/**
 * One row per seed, with one image key per prompt (`samples/<prompt-id>`), caption = prompt + seed.
 * `sizes` maps image file names to their byte size (read by the caller).
 */
export function sampleSetLines(
  initial: FoldState,
  manifest: SampleSetManifest,
  setDirFromRun: string,
  sizes: Map<string, number>,
  createdAt = eventSeconds(manifest.createdAt),
  exclude: ReadonlySet<string> = new Set(),
): { state: FoldState; lines: LedgerLine[] } {
  const state: FoldState = { ...initial };
  const prompts = new Map(manifest.spec.prompts.map((p) => [p.id, p.prompt]));
  const seeds = [...new Set(manifest.images.map((image) => image.seed))].sort((a, b) => a - b);
  const lines: LedgerLine[] = [];
  for (const seed of seeds) {
    if (exclude.has(`s:${manifest.setId}:${seed}`)) continue;
    const step = state.lastStep + 1;
    const row: HistoryRow = { _step: step, ...timing(state, createdAt), 'samples/weights_step': weightsStep(manifest, state) };
    const files: TrackedFile[] = [];
    for (const image of manifest.images.filter((i) => i.seed === seed)) {
      const size = sizes.get(image.file);
      if (size === undefined) continue; // not on disk: never point W&B at a file we cannot upload
      const key = `samples/${image.promptId}`;
      const value: ImageFileValue = {
        _type: 'image-file',
        path: mediaName(key, step, image.sha256),
        sha256: image.sha256,
        size,
        width: image.width,
        height: image.height,
        format: 'png',
        caption: `${prompts.get(image.promptId) ?? image.promptId} · seed ${seed}`,
      };
      row[key] = value;
      files.push({ path: value.path, source: `${setDirFromRun}/${image.file}`, sha256: image.sha256, size });
    }
    if (files.length === 0) continue;
    state.lastStep = step;
    lines.push({ src: `s:${manifest.setId}:${seed}`, row, files });
  }
  return { state, lines };
}

/** Identity and marker scores of one sample set: mean, 95 % interval and count per marker. */
export function scoreLines(
  initial: FoldState,
  setId: string,
  report: ScoreReport,
  weightsStepOfSet: number | null,
  at: number | null,
): { state: FoldState; lines: LedgerLine[] } {
  const state: FoldState = { ...initial };
  const row: HistoryRow = { _step: state.lastStep + 1, ...timing(state, at) };
  if (weightsStepOfSet !== null) row['scores/weights_step'] = weightsStepOfSet;
  let markerKeys = 0;
  for (const marker of MARKERS) {
    const aggregate = report.summary?.[marker];
    if (!aggregate) continue;
    if (aggregate.mean !== null && Number.isFinite(aggregate.mean)) {
      row[`scores/${marker}`] = round(aggregate.mean, 8);
    }
    if (aggregate.ci95) {
      row[`scores/${marker}_ci_low`] = round(aggregate.ci95[0], 8);
      row[`scores/${marker}_ci_high`] = round(aggregate.ci95[1], 8);
    }
    row[`scores/${marker}_n`] = aggregate.n;
    markerKeys += 1;
  }
  if (markerKeys === 0) return { state, lines: [] };
  state.lastStep = row._step;
  return { state, lines: [{ src: `c:${setId}`, row }] };
}

/** W&B's summary: the last value of every key, plus the best loss and the highest VRAM peak. */
export function summaryFrom(lines: LedgerLine[]): Record<string, unknown> {
  const summary: Record<string, unknown> = {};
  let lossMin: number | undefined;
  let peakMax: number | undefined;
  for (const { row } of lines) {
    for (const [key, value] of Object.entries(row)) summary[key] = value;
    const loss = row['train/loss'];
    if (typeof loss === 'number') lossMin = lossMin === undefined ? loss : Math.min(lossMin, loss);
    const peak = row['gpu/vram_peak_gb'];
    if (typeof peak === 'number') peakMax = peakMax === undefined ? peak : Math.max(peakMax, peak);
  }
  if (lossMin !== undefined) summary['train/loss_min'] = lossMin;
  if (peakMax !== undefined) summary['gpu/vram_peak_gb_max'] = peakMax;
  return summary;
}

/** Resolved settings at the top level (so W&B can compare runs by them) plus provenance and versions. */
export function configFrom(spec: RunSpec, env: Record<string, unknown> | undefined): TrackingConfig {
  const { schemaVersion: _ignored, ...envInfo } = env ?? {};
  return {
    ...spec.settings,
    run_id: spec.id,
    experiment: spec.experiment,
    variant: spec.variant,
    overrides: spec.overrides,
    provenance: spec.provenance,
    ...(env ? { env: envInfo } : {}),
  };
}

/** W&B wants `{"key": {"value": …}}`. */
export function wandbConfig(config: TrackingConfig): Record<string, { value: unknown }> {
  return Object.fromEntries(Object.entries(config).map(([key, value]) => [key, { value }]));
}

/** The GPU's name from env.json, whichever of the usual shapes python/envinfo.py writes. */
export function gpuName(env: Record<string, unknown> | undefined): string | null {
  if (!env) return null;
  const pick = (value: unknown): string | null => {
    if (typeof value === 'string' && value.trim()) return value.trim();
    if (Array.isArray(value)) return pick(value[0]);
    if (value && typeof value === 'object') return pick((value as Record<string, unknown>).name);
    return null;
  };
  return pick(env.gpu) ?? pick(env.gpus) ?? pick(env.gpu_name) ?? pick((env.torch as Record<string, unknown> | undefined)?.gpu) ?? null;
}

/** W&B run names: at most 64 of `[A-Za-z0-9_-]`; the hash suffix of a run id is kept when cutting. */
export function wandbRunName(runId: string): string {
  const clean = runId.replace(/[^A-Za-z0-9_-]/g, '_');
  if (clean.length <= 64) return clean;
  const suffix = clean.slice(-9);
  return clean.slice(0, 64 - suffix.length) + suffix;
}
