// What the store already says of a run a sweep skips because it is done: the same numbers the sweep's
// table shows for a run it trains (smoothed final loss, peak VRAM, s/it, identity of the final weights),
// so a second `harness sweep` prints the results instead of a table of blanks.
import { newest } from '../report/analyze.ts';
import { loadSets } from '../report/load.ts';
import type { RunLayout } from '../store/layout.ts';
import { readEventLog } from '../train/events.ts';

export interface StoredNumbers {
  /** smoothed loss at the last step (train/events.ts `ema`), null without metric events */
  finalLoss: number | null;
  /** MiB, null where no CUDA figure was recorded (a CPU run) */
  peakVramMb: number | null;
  secondsPerStep: number | null;
  /** mean identity over the newest final-weights set's scored images; null when none had a usable face */
  identity: number | null;
  /** a final-weights set of this run has scores (so a null identity means "no usable face", not "not scored") */
  finalScored: boolean;
}

/**
 * Reads events.jsonl and the final set the report shows (report/analyze.ts `newest`, with its scores);
 * missing or unreadable files give nulls, never an error.
 */
export async function storedNumbers(layout: RunLayout): Promise<StoredNumbers> {
  const summary = (await readEventLog(layout.events)).summary();
  const sets = await loadSets(layout.samplesDir, (setId) => layout.scores(setId), []).catch(() => []);
  const final = newest(sets.filter((set) => set.manifest.weights.kind === 'final'));
  const mean = final?.scores?.summary?.identity?.mean;
  return {
    finalLoss: summary.finalLoss,
    peakVramMb: summary.peakVramMb,
    secondsPerStep: summary.secondsPerStep,
    identity: typeof mean === 'number' ? mean : null,
    finalScored: Boolean(final?.scores),
  };
}
