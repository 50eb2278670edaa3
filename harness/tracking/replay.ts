// Store → ledger: whatever the store holds that the ledger does not yet mirror, as new ledger lines.
// Idempotent (metric rows by step, samples and scores by their source), so `harness sync`, a restarted
// run and the live mirror can all call it.
import path from 'node:path';
import { foldEvents, sampleSetLines, scoreLines, stateFromLedger, type FoldState } from './derive.ts';
import { imageSizes, listSampleSets, listScoreReports, readEvents } from './local.ts';
import type { LedgerLine } from './types.ts';

export interface Pending {
  lines: LedgerLine[];
  /** fold state after the new lines, with the previous metric event of the last process */
  state: FoldState;
}

export async function pendingFromStore(runDir: string, ledger: LedgerLine[]): Promise<Pending> {
  const seen = new Set(ledger.map((line) => line.src));
  const lines: LedgerLine[] = [];
  // prev starts empty and is rebuilt by folding the whole file; steps already mirrored give no row.
  let state: FoldState = { ...stateFromLedger(ledger), prev: null };
  const folded = foldEvents(state, await readEvents(runDir));
  state = folded.state;
  lines.push(...folded.lines);

  const setSteps = new Map<string, number>();
  for (const { manifest, dir } of await listSampleSets(runDir)) {
    const result = sampleSetLines(state, manifest, setDirFromRun(runDir, dir), await imageSizes(dir, manifest), undefined, seen);
    state = result.state;
    lines.push(...result.lines);
    const step = result.lines[0]?.row['samples/weights_step'] ?? ledger.find((l) => l.src.startsWith(`s:${manifest.setId}:`))?.row['samples/weights_step'];
    if (typeof step === 'number') setSteps.set(manifest.setId, step);
  }

  for (const { setId, report, at } of await listScoreReports(runDir)) {
    if (seen.has(`c:${setId}`)) continue;
    const result = scoreLines(state, setId, report, setSteps.get(setId) ?? null, at);
    state = result.state;
    lines.push(...result.lines);
  }
  return { lines, state };
}

/** The run folder relative form of a sample set folder, as ledger file sources use it. */
export function setDirFromRun(runDir: string, setDir: string): string {
  return path.relative(path.resolve(runDir), path.resolve(setDir)).split(path.sep).join('/');
}
