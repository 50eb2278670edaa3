// Where a sweep's time goes, for the console: the GPU's start-up wait and the sweep-wide ETA.

/** The GPU's wait before the first run: the Python environment and model checks, the plan, the dataset hash, the store. */
export const STARTUP_IDLE = 'start-up (Python environment, plan, dataset hash, store checks)';

// The sweep-wide ETA on the training progress line. A run's GPU stage is more than its training steps:
// loading the trainer and SDXL before the first step, saving and sampling after the last. Those parts are
// measured on the runs this sweep has finished; until one has, the ETA covers training only and says so
// (a lower bound, shown "≥").

export interface SweepEtaEstimate {
  /** seconds left for the whole sweep */
  seconds: number;
  /** true while no run's time around its training steps has been measured: the real ETA is longer */
  lowerBound: boolean;
}

interface Observed {
  startedAt: number;
  firstStepAt: number | null;
  lastStepAt: number | null;
}

/** Times are in seconds on one monotonic clock (performance.now() / 1000 in the CLI). */
export class SweepEta {
  private readonly open = new Map<string, Observed>();
  private readonly before: number[] = [];
  private readonly after: number[] = [];

  /** the GPU stage of `runId` begins (the trainer is about to start) */
  started(runId: string, at: number): void {
    this.open.set(runId, { startedAt: at, firstStepAt: null, lastStepAt: null });
  }

  /** a training step of `runId` was reported */
  step(runId: string, at: number): void {
    const run = this.open.get(runId);
    if (!run) return;
    run.firstStepAt ??= at;
    run.lastStepAt = at;
  }

  /** the GPU stage of `runId` ended (trained and sampled, or failed); a run that trained no step teaches nothing */
  ended(runId: string, at: number, secondsPerStep: number | null): void {
    const run = this.open.get(runId);
    this.open.delete(runId);
    if (!run || run.firstStepAt === null || run.lastStepAt === null) return;
    // the first report comes one step after training began
    this.before.push(Math.max(0, run.firstStepAt - run.startedAt - (secondsPerStep ?? 0)));
    this.after.push(Math.max(0, at - run.lastStepAt));
  }

  /**
   * The current run's training ETA, plus its time after training, plus each later run's steps at the
   * measured s/it and its time around training.
   */
  estimate(current: { etaSeconds: number; secondsPerStep: number }, laterSteps: number[]): SweepEtaEstimate {
    const before = mean(this.before);
    const after = mean(this.after);
    const later = laterSteps.reduce((sum, steps) => sum + (before ?? 0) + steps * current.secondsPerStep + (after ?? 0), 0);
    return { seconds: current.etaSeconds + (after ?? 0) + later, lowerBound: after === null };
  }
}

function mean(values: number[]): number | null {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : null;
}
