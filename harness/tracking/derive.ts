// Pure: the run store's facts (metric events, sample sets, score reports, spec) → W&B-shaped rows,
// summary and config. Live mirroring and `harness sync` both go through these functions, so the two
// produce the same history line for line.
import type { RunSpec } from '../plan/planner.ts';
import type { SampleSetManifest } from '../samples/types.ts';
import { MARKERS, type ScoreReport } from '../scoring/types.ts';
import type { HistoryRow, ImageFileValue, LedgerLine, RunEvent, TrackedFile, TrackingConfig } from './types.ts';
import { eventSeconds } from '../train/events.ts';

/**
 * Where the derivation stands; recoverable from the ledger alone (stateFromLedger).
 *
 * The `_step` axis: a training row sits on its own step whenever that is above every `_step` used so
 * far, else on the next free `_step` (W&B's `_step` only grows); its `train/step` always says the real
 * step, and the run's metric definitions chart training keys against it. Sample and score rows take the
 * next free `_step` and carry the step of the weights they come from (`samples/weights_step`,
 * `scores/weights_step`), their own axis. So no row is ever dropped for its position.
 */
export interface FoldState {
  /** highest `_step` so far */
  lastStep: number;
  /** highest training step of a metric row (rows of a resumed training that repeat it are left out) */
  lastMetricStep: number;
  /** the step of the latest weights: metric steps, `weights_saved` and checkpoints */
  trainedStep: number;
  /** unix seconds that `_runtime` counts from; moves forward by the pause when a new process starts */
  origin: number | null;
  /** the latest `_timestamp`: rows never go back in time */
  lastT: number | null;
  /** previous metric event of this process, for seconds per step */
  prev: { step: number; t: number } | null;
}

export const EMPTY_FOLD: FoldState = { lastStep: -1, lastMetricStep: -1, trainedStep: -1, origin: null, lastT: null, prev: null };

const MB_PER_GB = 1024;

/** The step metrics (define_metric): training keys chart against the training step, samples and scores against their weights. */
export const TRAIN_STEP = 'train/step';
export const SAMPLES_STEP = 'samples/weights_step';
export const SCORES_STEP = 'scores/weights_step';

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function round(value: number, digits = 6): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** `_timestamp` (never before the previous row) and `_runtime` (seconds of the run's processes so far). */
function timing(state: FoldState, t: number | null): { _runtime: number; _timestamp: number } {
  const ts = Math.max(t ?? state.lastT ?? state.origin ?? 0, state.lastT ?? -Infinity);
  if (state.origin === null) state.origin = ts;
  state.lastT = ts;
  return { _timestamp: round(ts, 3), _runtime: round(Math.max(0, ts - state.origin), 3) };
}

/**
 * Folds events into metric rows. A metric event whose training step is not above every training step
 * already mirrored (a resumed training repeating steps after its checkpoint) gives no row, so a
 * re-derivation never duplicates one. A `start` after the last row (a resumed process) moves the
 * runtime's origin by the pause: `_runtime` is the time the run's processes ran, as W&B counts a resume.
 */
export function foldEvents(initial: FoldState, events: RunEvent[]): { state: FoldState; lines: LedgerLine[] } {
  const state: FoldState = { ...initial };
  const lines: LedgerLine[] = [];
  for (const event of events) {
    const t = eventSeconds(event.t);
    if (event.type === 'start') {
      if (t !== null) {
        if (state.origin === null) state.origin = t;
        else if (state.lastT !== null && t > state.lastT) state.origin += t - state.lastT;
        if (state.lastT === null || t > state.lastT) state.lastT = t;
      }
      state.prev = null; // a new process: no seconds-per-step across the restart
      continue;
    }
    if ((event.type === 'weights_saved' || event.type === 'checkpoint') && typeof event.step === 'number') {
      state.trainedStep = Math.max(state.trainedStep, event.step);
      continue;
    }
    if (event.type !== 'metric' || typeof event.step !== 'number' || !Number.isInteger(event.step)) continue;
    let sPerIt = num(event.s_per_it);
    if (sPerIt === undefined && state.prev && t !== null && event.step > state.prev.step && t >= state.prev.t) {
      sPerIt = (t - state.prev.t) / (event.step - state.prev.step);
    }
    if (t !== null) state.prev = { step: event.step, t };
    if (event.step <= state.lastMetricStep) continue;
    const step = event.step > state.lastStep ? event.step : state.lastStep + 1;
    const row: HistoryRow = { _step: step, ...timing(state, t), [TRAIN_STEP]: event.step };
    const put = (key: string, value: number | undefined, scale = 1) => {
      if (value !== undefined) row[key] = value / scale;
    };
    put('train/loss', num(event.loss));
    put('train/lr', num(event.lr));
    put('gpu/vram_alloc_gb', num(event.vram_alloc_mb), MB_PER_GB);
    put('gpu/vram_reserved_gb', num(event.vram_reserved_mb), MB_PER_GB);
    put('gpu/vram_peak_gb', num(event.vram_peak_mb), MB_PER_GB);
    put('perf/s_per_it', sPerIt);
    state.lastStep = step;
    state.lastMetricStep = event.step;
    state.trainedStep = Math.max(state.trainedStep, event.step);
    lines.push({ src: `m:${event.step}`, row });
  }
  return { state, lines };
}

export function stateFromLedger(lines: LedgerLine[]): FoldState {
  const state: FoldState = { ...EMPTY_FOLD };
  for (const { src, row } of lines) {
    state.lastStep = Math.max(state.lastStep, row._step);
    if (state.lastT === null || row._timestamp >= state.lastT) {
      state.lastT = row._timestamp;
      state.origin = row._timestamp - row._runtime;
    }
    const metric = /^m:(\d+)$/.exec(src);
    if (metric) {
      state.lastMetricStep = Math.max(state.lastMetricStep, Number(metric[1]));
      state.trainedStep = Math.max(state.trainedStep, Number(metric[1]));
    }
  }
  return state;
}

/** The step of the weights a set was rendered from; the control (the base model, no LoRA) is step 0. */
export function weightsStepOf(manifest: Pick<SampleSetManifest, 'weights'>, state: FoldState): number {
  if (manifest.weights.kind === 'checkpoint') return manifest.weights.step;
  if (manifest.weights.kind === 'control') return 0;
  return Math.max(0, state.trainedStep);
}

/** `samples/<prompt>` → `samples_<prompt>`: one flat, readable file name per key. */
function mediaName(key: string, step: number, sha: string): string {
  return `media/images/${key.replace(/[^A-Za-z0-9_.-]/g, '_')}_${step}_${sha.slice(0, 20)}.png`;
}

/**
 * One row per seed, with one image key per prompt (`samples/<prompt-id>`, or `control/<prompt-id>` for
 * the base model's control set), caption = prompt + seed. `sizes` maps image file names to their byte
 * size (read by the caller).
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
  const control = manifest.weights.kind === 'control';
  const prompts = new Map(manifest.spec.prompts.map((p) => [p.id, p.prompt]));
  const seeds = [...new Set(manifest.images.map((image) => image.seed))].sort((a, b) => a - b);
  const lines: LedgerLine[] = [];
  const weightsStep = weightsStepOf(manifest, state);
  for (const seed of seeds) {
    if (exclude.has(`s:${manifest.setId}:${seed}`)) continue;
    const step = state.lastStep + 1;
    const row: HistoryRow = { _step: step, _runtime: 0, _timestamp: 0 };
    if (!control) row[SAMPLES_STEP] = weightsStep;
    const files: TrackedFile[] = [];
    for (const image of manifest.images.filter((i) => i.seed === seed)) {
      const size = sizes.get(image.file);
      if (size === undefined) continue; // not on disk: never point W&B at a file we cannot upload
      const key = `${control ? 'control' : 'samples'}/${image.promptId}`;
      const value: ImageFileValue = {
        _type: 'image-file',
        path: mediaName(key, step, image.sha256),
        sha256: image.sha256,
        size,
        width: image.width,
        height: image.height,
        format: 'png',
        caption: `${prompts.get(image.promptId) ?? image.promptId} · seed ${seed}${control ? ' · base model, no LoRA' : ''}`,
      };
      row[key] = value;
      files.push({ path: value.path, source: `${setDirFromRun}/${image.file}`, sha256: image.sha256, size });
    }
    if (files.length === 0) continue;
    Object.assign(row, timing(state, createdAt));
    state.lastStep = step;
    lines.push({ src: `s:${manifest.setId}:${seed}`, row, files });
  }
  return { state, lines };
}

/**
 * Identity and marker scores of one sample set: mean, 95 % interval and count per marker, under
 * `scores/` with the weights' step, or under `control/` for the base model's control set.
 */
export function scoreLines(
  initial: FoldState,
  setId: string,
  report: ScoreReport,
  weights: { kind: 'run'; step: number | null } | { kind: 'control' },
  at: number | null,
): { state: FoldState; lines: LedgerLine[] } {
  const state: FoldState = { ...initial };
  const prefix = weights.kind === 'control' ? 'control' : 'scores';
  const row: HistoryRow = { _step: state.lastStep + 1, _runtime: 0, _timestamp: 0 };
  if (weights.kind === 'run') row[SCORES_STEP] = weights.step ?? Math.max(0, state.trainedStep);
  let markerKeys = 0;
  for (const marker of MARKERS) {
    const aggregate = report.summary?.[marker];
    if (!aggregate) continue;
    if (aggregate.mean !== null && Number.isFinite(aggregate.mean)) {
      row[`${prefix}/${marker}`] = round(aggregate.mean, 8);
    }
    if (aggregate.ci95) {
      row[`${prefix}/${marker}_ci_low`] = round(aggregate.ci95[0], 8);
      row[`${prefix}/${marker}_ci_high`] = round(aggregate.ci95[1], 8);
    }
    row[`${prefix}/${marker}_n`] = aggregate.n;
    markerKeys += 1;
  }
  if (markerKeys === 0) return { state, lines: [] };
  Object.assign(row, timing(state, at));
  state.lastStep = row._step;
  return { state, lines: [{ src: `c:${setId}`, row }] };
}

/**
 * W&B's summary: the last value of every key, the best loss, the highest VRAM peak, and the run's
 * runtime (`_wandb.runtime`, whole seconds, as the official client sends it). `endT` is when the run
 * last finished a stage as the store recorded it (status.json), so the runtime covers sampling and
 * scoring after the last row, never a file's mtime.
 */
export function summaryFrom(lines: LedgerLine[], endT: number | null = null): Record<string, unknown> {
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
  const last = lines.at(-1)?.row;
  if (last) {
    const origin = last._timestamp - last._runtime;
    const runtime = Math.max(last._runtime, endT !== null && endT > last._timestamp ? endT - origin : 0);
    summary._runtime = round(runtime, 3);
    summary._wandb = { runtime: Math.floor(runtime) };
  }
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

/**
 * W&B wants `{"key": {"value": …}}`. `_wandb.m` holds the run's metric definitions (what the official
 * client's define_metric sends); the official client's other `_wandb` entries describe itself (its
 * version, telemetry, the Python host) and are not sent: the harness's environment is in `env` and in
 * wandb-metadata.json.
 */
export function wandbConfig(config: TrackingConfig, metrics: MetricDefinition[] = []): Record<string, { value: unknown }> {
  return { ...Object.fromEntries(Object.entries(config).map(([key, value]) => [key, { value }])), _wandb: { value: { m: metrics } } };
}

/**
 * A metric definition as the official client encodes define_metric in the config (`_wandb.m`): the
 * MetricRecord's field numbers as keys. "1" name; "5" the one-based index of its step metric in the
 * list; "6" the options set (1 step_sync, 3 defined explicitly).
 */
export interface MetricDefinition {
  '1': string;
  '5'?: number;
  '6': number[];
}

/** Which step metric charts a key: training keys against the training step, samples and scores against their weights. */
export function stepMetricOf(key: string): string | null {
  if (key.startsWith('_') || key === TRAIN_STEP || key === SAMPLES_STEP || key === SCORES_STEP) return null;
  if (/^(train|gpu|perf)\//.test(key)) return TRAIN_STEP;
  if (key.startsWith('samples/')) return SAMPLES_STEP;
  if (key.startsWith('scores/')) return SCORES_STEP;
  return null;
}

/** define_metric for every key of the rows that has a step metric: the step metrics first, then the keys, sorted. */
export function metricDefinitions(lines: LedgerLine[]): MetricDefinition[] {
  const keys = new Set<string>();
  for (const { row } of lines) for (const key of Object.keys(row)) keys.add(key);
  const charted = [...keys].filter((key) => stepMetricOf(key) !== null).sort();
  const steps = [...new Set(charted.map((key) => stepMetricOf(key)!))].sort();
  const definitions: MetricDefinition[] = steps.map((name) => ({ '1': name, '6': [3] }));
  for (const key of charted) definitions.push({ '1': key, '5': steps.indexOf(stepMetricOf(key)!) + 1, '6': [1, 3] });
  return definitions;
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
  // the harness's env.json keeps python/envinfo.py's report (with its `gpus`) under `python`
  const report = env.python as Record<string, unknown> | undefined;
  return pick(env.gpu) ?? pick(env.gpus) ?? pick(report?.gpus) ?? pick(env.gpu_name) ?? pick((env.torch as Record<string, unknown> | undefined)?.gpu) ?? null;
}

/** W&B run names: at most 64 of `[A-Za-z0-9_-]`; the hash suffix of a run id is kept when cutting. */
export function wandbRunName(runId: string): string {
  const clean = runId.replace(/[^A-Za-z0-9_-]/g, '_');
  if (clean.length <= 64) return clean;
  const suffix = clean.slice(-9);
  return clean.slice(0, 64 - suffix.length) + suffix;
}
