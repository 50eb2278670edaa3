// `harness sweep`: the whole experiment, resumable (harness/sweep/ does the work).
export { sweep, type SweepOptions, type SweepResult, type SweepReporter } from '../sweep/sweep.ts';
