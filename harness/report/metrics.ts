// Pure: training facts of one run from its events (DESIGN.md §5): smoothed loss, peak VRAM, speed, time.
import type { StoredEvent } from './types.ts';
import { ema, eventSeconds, LOSS_EMA_FACTOR, peakVramMb } from '../train/events.ts';

/** s_t = EMA_FACTOR · s_{t−1} + (1 − EMA_FACTOR) · loss_t, starting at the first loss (the console shows the same). */
export const EMA_FACTOR = LOSS_EMA_FACTOR;
export { ema };

export interface MetricPoint {
  step: number;
  loss: number | null;
  smoothed: number | null;
  vramMb: number | null;
}

export interface TrainingFacts {
  points: MetricPoint[];
  lossFinal: number | null;
  lossMin: number | null;
  lossMinStep: number | null;
  lastStep: number | null;
  peakVramMb: number | null;
  /** seconds per optimiser step, over the stretches between metric events of one process */
  secondsPerStep: number | null;
  /** seconds from each process's start to its last event, summed over resumes */
  wallSeconds: number | null;
  checkpoints: number[];
  weightsSaved: boolean;
  resumes: number;
}

function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

export function trainingFacts(events: StoredEvent[]): TrainingFacts {
  // a resumed run repeats the steps after its checkpoint: the later process's value wins
  const byStep = new Map<number, StoredEvent>();
  for (const event of events) {
    if (event.type === 'metric' && typeof event.step === 'number' && Number.isFinite(event.step)) byStep.set(event.step, event);
  }
  const metrics = [...byStep.values()].sort((a, b) => a.step! - b.step!);
  const losses = metrics.map((m) => num(m.loss));
  const smoothed = ema(losses);
  const points: MetricPoint[] = metrics.map((m, i) => ({
    step: m.step!,
    loss: losses[i]!,
    smoothed: losses[i] === null ? null : smoothed[i]!,
    vramMb: num(m.vram_peak_mb) ?? num(m.vram_reserved_mb) ?? num(m.vram_alloc_mb),
  }));
  let lossMin: number | null = null;
  let lossMinStep: number | null = null;
  for (const p of points) {
    if (p.smoothed !== null && (lossMin === null || p.smoothed < lossMin)) {
      lossMin = p.smoothed;
      lossMinStep = p.step;
    }
  }
  const lastSmoothed = [...points].reverse().find((p) => p.smoothed !== null);
  const peak = peakVramMb(events);
  return {
    points,
    lossFinal: lastSmoothed?.smoothed ?? null,
    lossMin,
    lossMinStep,
    lastStep: points.length > 0 ? points[points.length - 1]!.step : null,
    peakVramMb: peak,
    ...timing(events),
    checkpoints: [...new Set(events.filter((e) => e.type === 'checkpoint' && typeof e.step === 'number').map((e) => e.step!))].sort((a, b) => a - b),
    weightsSaved: events.some((e) => e.type === 'weights_saved'),
    resumes: Math.max(0, events.filter((e) => e.type === 'start').length - 1),
  };
}

function timing(events: StoredEvent[]): { secondsPerStep: number | null; wallSeconds: number | null } {
  let wall = 0;
  let haveWall = false;
  let stepSeconds = 0;
  let steps = 0;
  let first: number | null = null;
  let last: number | null = null;
  let prev: { step: number; t: number } | null = null;
  const close = () => {
    if (first !== null && last !== null && last >= first) {
      wall += last - first;
      haveWall = true;
    }
  };
  for (const event of events) {
    const t = eventSeconds(event.t);
    if (event.type === 'start') {
      close();
      first = t;
      last = t;
      prev = null;
      continue;
    }
    if (t === null) continue;
    if (first === null) first = t;
    last = last === null ? t : Math.max(last, t);
    if (event.type === 'metric' && typeof event.step === 'number') {
      if (prev && event.step > prev.step && t >= prev.t) {
        stepSeconds += t - prev.t;
        steps += event.step - prev.step;
      }
      prev = { step: event.step, t };
    }
  }
  close();
  return { secondsPerStep: steps > 0 ? stepSeconds / steps : null, wallSeconds: haveWall ? wall : null };
}
