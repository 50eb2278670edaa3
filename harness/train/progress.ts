// Live progress of an attempt, computed from the events (step, loss, VRAM) and their timestamps (s/it, ETA).
// The domain reports snapshots through a TrainReporter; the CLI decides how to draw them.
import { peakVramMb, type MetricEvent } from './events.ts';

export interface ProgressSnapshot {
  runId: string;
  step: number;
  total: number | null;
  loss: number | null;
  secondsPerStep: number | null;
  etaSeconds: number | null;
  vramMb: number | null;
  vramPeakMb: number | null;
  elapsedSeconds: number;
  /** the trainer's last log line while no step has been reported yet (model loading, dataset caching) */
  note?: string;
}

export interface TrainReporter {
  /** one-off messages: "resuming from checkpoint-200", "trainer started (pid 123)" */
  phase(message: string): void;
  /** called whenever the attempt moved on; may be called often, so throttle drawing */
  progress(snapshot: ProgressSnapshot): void;
  warn(message: string): void;
}

export const silentReporter: TrainReporter = { phase() {}, progress() {}, warn() {} };

/** Steps per second over a sliding window of recent metrics. */
export class RateWindow {
  private readonly points: { step: number; t: number }[] = [];

  constructor(private readonly size = 20) {}

  add(metric: MetricEvent): void {
    const last = this.points[this.points.length - 1];
    if (last && metric.step <= last.step) this.points.length = 0; // a resume restarted the axis
    this.points.push({ step: metric.step, t: metric.t });
    if (this.points.length > this.size) this.points.shift();
  }

  secondsPerStep(): number | null {
    if (this.points.length < 2) return null;
    const first = this.points[0]!;
    const last = this.points[this.points.length - 1]!;
    const steps = last.step - first.step;
    return steps > 0 ? (last.t - first.t) / steps : null;
  }
}

export function snapshotFrom(
  runId: string,
  metric: MetricEvent | undefined,
  total: number | null,
  rate: RateWindow,
  startedAt: number,
  note?: string,
): ProgressSnapshot {
  const secondsPerStep = rate.secondsPerStep();
  const step = metric?.step ?? 0;
  return {
    runId,
    step,
    total,
    loss: metric?.loss ?? null,
    secondsPerStep,
    etaSeconds: secondsPerStep !== null && total !== null ? Math.max(0, total - step) * secondsPerStep : null,
    // what the allocator holds now, and the run's peak so far (peakVramMb: the same number the summary and report show)
    vramMb: metric?.vram_reserved_mb ?? metric?.vram_alloc_mb ?? null,
    vramPeakMb: metric ? peakVramMb([metric]) : null,
    elapsedSeconds: (Date.now() - startedAt) / 1000,
    ...(note ? { note } : {}),
  };
}
