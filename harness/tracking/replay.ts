// Store → ledger: whatever the store holds that the ledger does not yet mirror, as new ledger lines.
// Idempotent (metric rows by step, samples and scores by their source), so `harness sync`, a restarted
// run and the live mirror can all call it. Times come from what the store recorded (events, set
// manifests, status.json), never from file mtimes: a run pulled from the Hub has fresh mtimes.
import path from 'node:path';
import type { SampleSetManifest } from '../samples/types.ts';
import { eventSeconds } from '../train/events.ts';
import { foldEvents, sampleSetLines, scoreLines, stateFromLedger, weightsStepOf, type FoldState } from './derive.ts';
import { imageSizes, listControlSets, listSampleSets, listScoreReports, readEvents, readRunStatus, scoredAt } from './local.ts';
import type { LedgerLine } from './types.ts';

export interface Pending {
  lines: LedgerLine[];
  /** fold state after the new lines, with the previous metric event of the last process */
  state: FoldState;
}

/** Checkpoint sets by step, then the final weights: the summary's last scores are the final weights'. */
function scoringRank(manifest: SampleSetManifest | undefined): [number, number] {
  if (!manifest) return [0, -1];
  return manifest.weights.kind === 'checkpoint' ? [1, manifest.weights.step] : [2, 0];
}

export async function pendingFromStore(runDir: string, ledger: LedgerLine[]): Promise<Pending> {
  const seen = new Set(ledger.map((line) => line.src));
  const lines: LedgerLine[] = [];
  // prev starts empty and is rebuilt by folding the whole file; steps already mirrored give no row.
  let state: FoldState = { ...stateFromLedger(ledger), prev: null };
  const folded = foldEvents(state, await readEvents(runDir));
  state = folded.state;
  lines.push(...folded.lines);

  const status = await readRunStatus(runDir);
  const sets = await listSampleSets(runDir);
  const manifests = new Map(sets.map((set) => [set.manifest.setId, set.manifest]));
  for (const { manifest, dir } of sets) {
    const result = sampleSetLines(state, manifest, setDirFromRun(runDir, dir), await imageSizes(dir, manifest), undefined, seen);
    state = result.state;
    lines.push(...result.lines);
  }

  const reports = (await listScoreReports(runDir)).filter(({ setId }) => !seen.has(`c:${setId}`));
  reports.sort((a, b) => {
    const [ra, sa] = scoringRank(manifests.get(a.setId));
    const [rb, sb] = scoringRank(manifests.get(b.setId));
    return ra - rb || sa - sb || a.setId.localeCompare(b.setId);
  });
  for (const { setId, report } of reports) {
    const manifest = manifests.get(setId);
    const weights = { kind: 'run' as const, step: manifest ? weightsStepOf(manifest, state) : null };
    const result = scoreLines(state, setId, report, weights, scoredAt(status, manifest ? eventSeconds(manifest.createdAt) : null));
    state = result.state;
    lines.push(...result.lines);
  }

  // The base model's control set the run's samples are compared with: its images and scores, once.
  for (const control of await listControlSets(runDir, sets.map((set) => set.manifest))) {
    const samples = sampleSetLines(state, control.manifest, setDirFromRun(runDir, control.dir), await imageSizes(control.dir, control.manifest), undefined, seen);
    state = samples.state;
    lines.push(...samples.lines);
    if (!control.report || seen.has(`c:${control.manifest.setId}`)) continue;
    const scores = scoreLines(state, control.manifest.setId, control.report, { kind: 'control' }, scoredAt(status, eventSeconds(control.manifest.createdAt)));
    state = scores.state;
    lines.push(...scores.lines);
  }
  return { lines, state };
}

/** The run folder relative form of a sample set folder, as ledger file sources use it. */
export function setDirFromRun(runDir: string, setDir: string): string {
  return path.relative(path.resolve(runDir), path.resolve(setDir)).split(path.sep).join('/');
}
