// Pure: the loaded store → the numbers of the report (rows, deltas, ranks, Pareto front). No disk, no text.
import { MARKERS, type Aggregate } from '../scoring/types.ts';
import type { RunState, FailureReason } from '../store/status.ts';
import { gpuMemoryMb } from './env.ts';
import { cmp } from './load.ts';
import { trainingFacts, type TrainingFacts } from './metrics.ts';
import type { LoadedRun, LoadedSet, LoadedStore } from './types.ts';

export type Direction = 'up' | 'down';

export interface Delta {
  value: number;
  /** set only where the two 95 % intervals do not overlap */
  significant: Direction | null;
}

export interface RunRow {
  run: LoadedRun;
  id: string;
  variant: string;
  isBaseline: boolean;
  overrides: Record<string, unknown>;
  state: RunState | 'unknown';
  reason: FailureReason | null;
  message: string | null;
  facts: TrainingFacts;
  maxSteps: number | null;
  cardMb: number | null;
  finalSet: LoadedSet | null;
  /** newest scored-or-not set per checkpoint step, by step */
  checkpointSets: { step: number; set: LoadedSet }[];
  scores: Record<string, Aggregate> | null;
  /** the final set's identity aggregate when it has a mean: what ranking, summary and charts rest on */
  identity: Aggregate | null;
  deltas: Record<string, Delta>;
  /** weighted mean of the marker means (weights renormalised over the markers present) */
  composite: number | null;
  rank: number | null;
  /** training seconds: wall time, else s/it × steps */
  costSeconds: number | null;
  pareto: boolean;
}

export interface ReportModel {
  experiment: string;
  hasPlan: boolean;
  rows: RunRow[];
  baseline: RunRow | null;
  /** score columns: the markers, then any other aggregate a scorer reports (e.g. a prompt score) */
  scoreKeys: string[];
  weights: Record<string, number>;
  /** the markers the ranking uses: those every scored run has a mean for */
  rankedOn: string[];
  control: LoadedSet | null;
  /** the scenes and seeds of the contact sheets, in the experiment's order */
  scenes: string[];
  seeds: number[];
}

export function analyze(store: LoadedStore): ReportModel {
  const rows = store.runs.map((run) => rowFor(run, store.settings.baselineVariant));
  const baseline = rows.find((r) => r.isBaseline) ?? null;
  const scoreKeys = scoreColumns(rows);
  const weights = store.settings.weights;
  const rankedOn = commonMarkers(rows, weights);
  for (const row of rows) {
    row.composite = composite(row.scores, weights, rankedOn);
    if (baseline?.scores && row.scores && row !== baseline) {
      for (const key of scoreKeys) {
        const delta = compare(row.scores[key], baseline.scores[key]);
        if (delta) row.deltas[key] = delta;
      }
    }
  }
  const ranked = rows.filter((r) => r.composite !== null).sort((a, b) => b.composite! - a.composite! || cmp(a.id, b.id));
  ranked.forEach((row, i) => (row.rank = i + 1));
  markPareto(rows);
  const control = newest(store.control.filter((s) => s.manifest.weights.kind === 'control'));
  const { scenes, seeds } = scenesAndSeeds(rows, control, store.settings.promptOrder);
  return { experiment: store.experiment, hasPlan: store.hasPlan, rows, baseline, scoreKeys, weights, rankedOn, control, scenes, seeds };
}

function rowFor(run: LoadedRun, baselineVariant: string): RunRow {
  const facts = trainingFacts(run.events);
  const finals = run.sets.filter((s) => s.manifest.weights.kind === 'final');
  const finalSet = newest(finals);
  const byStep = new Map<number, LoadedSet[]>();
  for (const set of run.sets) {
    const w = set.manifest.weights;
    if (w.kind === 'checkpoint') byStep.set(w.step, [...(byStep.get(w.step) ?? []), set]);
  }
  const checkpointSets = [...byStep.entries()].sort(([a], [b]) => a - b).map(([step, sets]) => ({ step, set: newest(sets)! }));
  const maxSteps = typeof run.spec?.settings?.max_train_steps === 'number' ? (run.spec.settings.max_train_steps as number) : null;
  const costSeconds = facts.wallSeconds ?? (facts.secondsPerStep !== null && facts.lastStep !== null ? facts.secondsPerStep * facts.lastStep : null);
  return {
    run,
    id: run.id,
    variant: run.variant,
    isBaseline: run.variant === baselineVariant,
    overrides: run.spec?.overrides ?? {},
    // no status.json: planned (nothing ran yet) unless events show that something did
    state: run.status?.state ?? (run.events.length > 0 ? 'unknown' : 'planned'),
    reason: run.status?.reason ?? null,
    message: run.status?.message ?? null,
    facts,
    maxSteps,
    cardMb: gpuMemoryMb(run.env),
    finalSet,
    checkpointSets,
    scores: finalSet?.scores?.summary ? (finalSet.scores.summary as Record<string, Aggregate>) : null,
    identity: withMean(finalSet?.scores?.summary?.identity),
    deltas: {},
    composite: null,
    rank: null,
    costSeconds,
    pareto: false,
  };
}

/** The newest of several sets of one kind (a re-render after a spec change), by createdAt then id. */
export function newest(sets: LoadedSet[]): LoadedSet | null {
  const sorted = [...sets].sort((a, b) => cmp(String(b.manifest.createdAt ?? ''), String(a.manifest.createdAt ?? '')) || cmp(a.manifest.setId, b.manifest.setId));
  return sorted[0] ?? null;
}

export function withMean(a: Aggregate | undefined | null): Aggregate | null {
  return a && typeof a.mean === 'number' ? a : null;
}

function isAggregate(value: unknown): value is Aggregate {
  return value !== null && typeof value === 'object' && 'mean' in value && 'n' in value;
}

function scoreColumns(rows: RunRow[]): string[] {
  const extra = new Set<string>();
  for (const row of rows) {
    for (const [key, value] of Object.entries(row.scores ?? {})) {
      if (!(MARKERS as readonly string[]).includes(key) && isAggregate(value)) extra.add(key);
    }
  }
  return [...MARKERS, ...[...extra].sort(cmp)];
}

export function intervalsSeparate(a: Aggregate, b: Aggregate): Direction | null {
  if (!a.ci95 || !b.ci95) return null;
  if (a.ci95[0] > b.ci95[1]) return 'up';
  if (a.ci95[1] < b.ci95[0]) return 'down';
  return null;
}

export function compare(run: Aggregate | undefined, baseline: Aggregate | undefined): Delta | null {
  if (!run || !baseline || run.mean === null || baseline.mean === null) return null;
  return { value: run.mean - baseline.mean, significant: intervalsSeparate(run, baseline) };
}

/**
 * A run missing a marker (nose unreadable in every image) must not gain from it, so the ranking only
 * uses the weighted markers that every run with an identity score has.
 */
export function commonMarkers(rows: RunRow[], weights: Record<string, number>): string[] {
  const scored = rows.filter((r) => r.identity !== null);
  return Object.keys(weights)
    .filter((key) => (weights[key] ?? 0) > 0 && scored.length > 0 && scored.every((r) => withMean(r.scores?.[key]) !== null))
    .sort((a, b) => markerOrder(a) - markerOrder(b) || cmp(a, b));
}

function markerOrder(key: string): number {
  const i = (MARKERS as readonly string[]).indexOf(key);
  return i === -1 ? MARKERS.length : i;
}

export function composite(scores: Record<string, Aggregate> | null, weights: Record<string, number>, markers: string[]): number | null {
  if (!scores || withMean(scores.identity) === null) return null;
  let sum = 0;
  let weight = 0;
  for (const key of markers) {
    const mean = scores[key]?.mean;
    const w = weights[key] ?? 0;
    if (typeof mean === 'number' && w > 0) {
      sum += w * mean;
      weight += w;
    }
  }
  return weight > 0 ? sum / weight : null;
}

/** Cheapest-for-its-identity runs: no other run is both cheaper (or as cheap) and better on identity. */
function markPareto(rows: RunRow[]): void {
  const points = rows
    .filter((r) => r.costSeconds !== null && r.identity !== null)
    .sort((a, b) => a.costSeconds! - b.costSeconds! || b.identity!.mean! - a.identity!.mean! || cmp(a.id, b.id));
  let best = -Infinity;
  for (const row of points) {
    const identity = row.identity!.mean!;
    if (identity > best) {
      row.pareto = true;
      best = identity;
    }
  }
}

function scenesAndSeeds(rows: RunRow[], control: LoadedSet | null, promptOrder: string[] | null): { scenes: string[]; seeds: number[] } {
  const sets = [control, ...rows.map((r) => r.finalSet)].filter((s): s is LoadedSet => s !== null);
  const scenes = new Set<string>();
  const seeds = new Set<number>();
  for (const set of sets) {
    for (const p of set.manifest.spec?.prompts ?? []) scenes.add(p.id);
    for (const image of set.manifest.images) {
      scenes.add(image.promptId);
      seeds.add(image.seed);
    }
  }
  const order = promptOrder ?? [];
  const sortedScenes = [...scenes].sort((a, b) => rankIn(order, a) - rankIn(order, b) || cmp(a, b));
  return { scenes: sortedScenes, seeds: [...seeds].sort((a, b) => a - b) };
}

function rankIn(order: string[], id: string): number {
  const i = order.indexOf(id);
  return i === -1 ? order.length : i;
}
