// The local sink: the run store is the truth, and the tracking ledger (`tracking/history.jsonl`) is the
// W&B-shaped view of it that every remote tracker ships from. Reading the store lives here too.
import { mkdir, open, readdir, readFile, stat, truncate } from 'node:fs/promises';
import path from 'node:path';
import type { RunSpec } from '../plan/planner.ts';
import type { SampleSetManifest } from '../samples/types.ts';
import type { ScoreReport } from '../scoring/types.ts';
import { parseJsonLines, readJson, readJsonLines } from '../store/atomic.ts';
import { controlLayout, runLayout, sampleSetFiles, trackingFiles } from '../store/layout.ts';
import { hashObject } from '../util/hash.ts';
import { readStatus, type RunStatus } from '../store/status.ts';
import type { LedgerLine, RunEvent, TrackingConfig, TrackingSink } from './types.ts';

export function layoutOf(runDir: string) {
  const dir = path.resolve(runDir);
  return runLayout(path.dirname(path.dirname(dir)), path.basename(path.dirname(dir)), path.basename(dir));
}

export async function readSpec(runDir: string): Promise<RunSpec | undefined> {
  return readJson<RunSpec>(layoutOf(runDir).spec);
}

export async function readEnvInfo(runDir: string): Promise<Record<string, unknown> | undefined> {
  return readJson<Record<string, unknown>>(layoutOf(runDir).env);
}

export async function readRunStatus(runDir: string): Promise<RunStatus | undefined> {
  return readStatus(layoutOf(runDir).status);
}

export async function readEvents(runDir: string): Promise<RunEvent[]> {
  return readJsonLines<RunEvent>(layoutOf(runDir).events);
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** The experiment's shared control folder (`_control`) beside a run folder. */
function controlLayoutOf(runDir: string) {
  const dir = path.resolve(runDir);
  return controlLayout(path.dirname(path.dirname(dir)), path.basename(path.dirname(dir)));
}

/** Complete sample sets (those with a set.json) in a samples folder, oldest first (createdAt, then set id). */
async function completeSets(samplesDir: string, setDir: (setId: string) => string): Promise<{ manifest: SampleSetManifest; dir: string }[]> {
  const sets: { manifest: SampleSetManifest; dir: string }[] = [];
  for (const setId of await listDir(samplesDir)) {
    const dir = setDir(setId);
    const manifest = await readJson<SampleSetManifest>(sampleSetFiles(dir).manifest).catch(() => undefined);
    if (manifest && Array.isArray(manifest.images)) sets.push({ manifest, dir });
  }
  return sets.sort((a, b) => String(a.manifest.createdAt).localeCompare(String(b.manifest.createdAt)) || a.manifest.setId.localeCompare(b.manifest.setId));
}

/** Complete sample sets of the run (those with a set.json), oldest first. */
export async function listSampleSets(runDir: string): Promise<{ manifest: SampleSetManifest; dir: string }[]> {
  const layout = layoutOf(runDir);
  return completeSets(layout.samplesDir, layout.sampleSet);
}

/** Score reports of the run (unordered: the caller orders them by their sets). */
export async function listScoreReports(runDir: string): Promise<{ setId: string; report: ScoreReport }[]> {
  const layout = layoutOf(runDir);
  const reports: { setId: string; report: ScoreReport }[] = [];
  for (const name of await listDir(layout.scoresDir)) {
    if (!name.endsWith('.json')) continue;
    const setId = name.slice(0, -'.json'.length);
    const report = await readJson<ScoreReport>(layout.scores(setId)).catch(() => undefined);
    if (report?.summary) reports.push({ setId, report });
  }
  return reports;
}

/**
 * The base model's control sets that belong to this run: shared by the experiment's runs, they are the
 * ones rendered with the same sampling spec as one of the run's own sets. With their score reports.
 */
export async function listControlSets(
  runDir: string,
  ownSets: SampleSetManifest[],
): Promise<{ manifest: SampleSetManifest; dir: string; report: ScoreReport | undefined }[]> {
  if (ownSets.length === 0) return [];
  const control = controlLayoutOf(runDir);
  const specs = new Set(ownSets.map((set) => hashObject(set.spec)));
  const sets: { manifest: SampleSetManifest; dir: string; report: ScoreReport | undefined }[] = [];
  for (const { manifest, dir } of await completeSets(control.samplesDir, control.sampleSet)) {
    if (manifest.weights?.kind !== 'control' || !specs.has(hashObject(manifest.spec))) continue;
    const report = await readJson<ScoreReport>(control.scores(path.basename(dir))).catch(() => undefined);
    sets.push({ manifest, dir, report: report?.summary ? report : undefined });
  }
  return sets;
}

/**
 * When a set's scores were done, as the store recorded it: the first time the run reached `done` after
 * the set was made, else the run's last recorded state change after it, else the set's own time.
 */
export function scoredAt(status: RunStatus | undefined, createdAt: number | null): number | null {
  const after = (status?.history ?? [])
    .map((entry) => ({ state: entry.state, t: Date.parse(entry.at) / 1000 }))
    .filter((entry) => Number.isFinite(entry.t) && (createdAt === null || entry.t >= createdAt));
  return after.find((entry) => entry.state === 'done')?.t ?? after.at(-1)?.t ?? createdAt;
}

/** When the run last finished a stage (done, failed, trained, sampled), from status.json; null while a stage runs. */
export function runEndSeconds(status: RunStatus | undefined): number | null {
  if (!status || !['done', 'failed', 'trained', 'sampled'].includes(status.state)) return null;
  const t = Date.parse(status.updatedAt) / 1000;
  return Number.isFinite(t) ? t : null;
}

export async function readCommand(runDir: string): Promise<Record<string, unknown> | undefined> {
  return readJson<Record<string, unknown>>(layoutOf(runDir).command).catch(() => undefined);
}

/** train.log as people read it: a progress bar's carriage-return updates reduced to what a terminal shows last. */
export async function readTrainLog(runDir: string): Promise<string | null> {
  let text: string;
  try {
    text = await readFile(layoutOf(runDir).trainLog, 'utf8');
  } catch {
    return null;
  }
  return text
    .split('\n')
    .map((line) => line.split('\r').filter((part) => part.trim() !== '').at(-1) ?? '')
    .join('\n');
}

/** Byte sizes of a set's images that exist on disk. */
export async function imageSizes(setDir: string, manifest: SampleSetManifest): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  for (const image of manifest.images) {
    try {
      sizes.set(image.file, (await stat(path.join(setDir, image.file))).size);
    } catch {
      // a missing image is left out of the row rather than pointing W&B at nothing
    }
  }
  return sizes;
}

/** The ledger, loaded once and appended to; a last line cut short by a crash is dropped before appending. */
export class Ledger {
  readonly file: string;
  readonly lines: LedgerLine[];
  readonly srcs: Set<string>;

  private constructor(file: string, lines: LedgerLine[]) {
    this.file = file;
    this.lines = lines;
    this.srcs = new Set(lines.map((line) => line.src));
  }

  static async open(runDir: string): Promise<Ledger> {
    const file = trackingFiles(runDir).history;
    let text = '';
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (text && !text.endsWith('\n')) {
      const keep = text.lastIndexOf('\n') + 1;
      await truncate(file, Buffer.byteLength(text.slice(0, keep)));
      text = text.slice(0, keep);
    }
    return new Ledger(file, parseJsonLines<LedgerLine>(text, file));
  }

  /** Read-only view for status: no repair, nothing written. */
  static async peek(runDir: string): Promise<LedgerLine[]> {
    return readJsonLines<LedgerLine>(trackingFiles(runDir).history);
  }

  async append(lines: LedgerLine[]): Promise<void> {
    const fresh = lines.filter((line) => !this.srcs.has(line.src));
    if (fresh.length === 0) return;
    await mkdir(path.dirname(this.file), { recursive: true });
    // One write for the batch, so a crash leaves at most one cut line, which open() repairs.
    const handle = await open(this.file, 'a');
    try {
      await handle.appendFile(fresh.map((line) => `${JSON.stringify(line)}\n`).join(''));
      await handle.sync();
    } finally {
      await handle.close();
    }
    for (const line of fresh) {
      this.srcs.add(line.src);
      this.lines.push(line);
    }
  }
}

/** The always-on sink: rows go to the ledger; config and summary are already in the store (spec.json, rows). */
export class LocalSink implements TrackingSink {
  constructor(readonly ledger: Ledger) {}

  async config(_config: TrackingConfig): Promise<void> {}

  async log(lines: LedgerLine[]): Promise<void> {
    await this.ledger.append(lines);
  }

  async summary(_summary: Record<string, unknown>): Promise<void> {}

  async finish(_exitCode: number): Promise<void> {}
}
