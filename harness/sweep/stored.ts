// What the store already says of a run a sweep skips because it is done: the same numbers the sweep's
// table shows for a run it trains (smoothed final loss, peak VRAM, s/it, identity of the final weights),
// so a second `harness sweep` prints the results instead of a table of blanks.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { readJson } from '../store/atomic.ts';
import type { RunLayout } from '../store/layout.ts';
import type { SampleSetManifest } from '../samples/types.ts';
import type { ScoreReport } from '../scoring/types.ts';
import { parseEventsText } from '../train/events.ts';

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

/** Reads events.jsonl and the newest final set's scores; missing or unreadable files give nulls, never an error. */
export async function storedNumbers(layout: RunLayout): Promise<StoredNumbers> {
  const text = await readFile(layout.events, 'utf8').catch(() => '');
  const summary = parseEventsText(text).summary();
  const final = await newestFinalSet(layout);
  const scores = final ? await readJson<ScoreReport>(layout.scores(final)).catch(() => undefined) : undefined;
  const mean = scores?.summary?.identity?.mean;
  return {
    finalLoss: summary.finalLoss,
    peakVramMb: summary.peakVramMb,
    secondsPerStep: summary.secondsPerStep,
    identity: typeof mean === 'number' ? mean : null,
    finalScored: scores !== undefined,
  };
}

/** The final-weights set rendered last (a re-render after a spec change makes a second one), by createdAt. */
async function newestFinalSet(layout: RunLayout): Promise<string | null> {
  const names = (await readdir(layout.samplesDir).catch(() => [] as string[])).filter((name) => name.startsWith('final-'));
  let best: { setId: string; createdAt: string } | null = null;
  for (const name of names) {
    const manifest = await readJson<SampleSetManifest>(path.join(layout.sampleSet(name), 'set.json')).catch(() => undefined);
    if (manifest?.weights?.kind !== 'final') continue;
    const createdAt = String(manifest.createdAt ?? '');
    if (!best || createdAt > best.createdAt || (createdAt === best.createdAt && name < best.setId)) best = { setId: name, createdAt };
  }
  return best?.setId ?? null;
}
