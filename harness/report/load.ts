// Reads the run store for a report: files only, every one optional. A run can be planned (no folder),
// failed, half sampled or done; a corrupt file becomes a warning, not a crash.
import { open, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { CheckReport } from '../regression/types.ts';
import type { SampleSetManifest } from '../samples/types.ts';
import type { ScoreReport } from '../scoring/types.ts';
import { readJson, readJsonLines } from '../store/atomic.ts';
import { checksLayout, controlLayout, experimentDir, runLayout, sampleSetFiles } from '../store/layout.ts';
import type { RunStatus } from '../store/status.ts';
import type { LoadedRun, LoadedSet, LoadedStore, ReportSettings, StoredSpec, StoredEvent } from './types.ts';

export const LOG_TAIL_LINES = 40;
const LOG_TAIL_BYTES = 64 * 1024;

export interface PlannedRun {
  id: string;
  variant: string;
}

export async function loadStore(options: {
  storeRoot: string;
  experiment: string;
  planned?: PlannedRun[];
  settings: ReportSettings;
}): Promise<LoadedStore> {
  const { storeRoot, experiment } = options;
  const warnings: string[] = [];
  const planned = options.planned ?? [];
  const plannedIds = new Set(planned.map((r) => r.id));
  const stored = (await listDirs(experimentDir(storeRoot, experiment))).filter((name) => !name.startsWith('_') && !name.startsWith('.'));
  const entries: PlannedRun[] = [...planned];
  for (const id of stored) if (!plannedIds.has(id)) entries.push({ id, variant: '' });

  const runs: LoadedRun[] = [];
  for (const entry of entries) runs.push(await loadRun(storeRoot, experiment, entry, plannedIds.has(entry.id), warnings));
  const baseline = options.settings.baselineVariant;
  const order = (run: LoadedRun) => (run.variant === baseline ? 0 : run.planned ? 1 : 2);
  const plannedIndex = new Map(planned.map((r, i) => [r.id, i]));
  runs.sort((a, b) => order(a) - order(b) || (plannedIndex.get(a.id) ?? 0) - (plannedIndex.get(b.id) ?? 0) || cmp(a.variant, b.variant) || cmp(a.id, b.id));

  const control = controlLayout(storeRoot, experiment);
  const controlSets = await loadSets(path.join(control.dir, 'samples'), (setId) => control.scores(setId), warnings);
  return { experiment, storeRoot, runs, hasPlan: options.planned !== undefined, control: controlSets, checks: await loadChecks(storeRoot, experiment, warnings), settings: options.settings, warnings };
}

async function loadRun(storeRoot: string, experiment: string, entry: PlannedRun, planned: boolean, warnings: string[]): Promise<LoadedRun> {
  const layout = runLayout(storeRoot, experiment, entry.id);
  const spec = await tryJson<StoredSpec>(layout.spec, warnings);
  const status = await tryJson<RunStatus>(layout.status, warnings);
  const variant = entry.variant || status?.variant || spec?.variant || entry.id.replace(/-[0-9a-f]{8}$/, '');
  let events: StoredEvent[] = [];
  try {
    events = (await readJsonLines<StoredEvent>(layout.events)).filter((e) => e !== null && typeof e === 'object');
  } catch (error) {
    warnings.push(`${layout.events}: ${(error as Error).message}; loss and VRAM left out for this run`);
  }
  let logTail: string[] | null = status?.logTail && status.logTail.length > 0 ? status.logTail : null;
  if (!logTail && status?.state === 'failed') logTail = await tailLines(layout.trainLog, LOG_TAIL_LINES);
  return {
    id: entry.id,
    variant,
    planned,
    dir: layout.dir,
    spec,
    status,
    env: await tryJson<Record<string, unknown>>(layout.env, warnings),
    command: (await tryJson<unknown>(layout.command, warnings)) ?? null,
    events,
    logTail,
    sets: await loadSets(layout.samplesDir, (setId) => layout.scores(setId), warnings),
  };
}

/** Every set under `samplesDir` that has its set.json, with its scores when scored (`warnings` gets what could not be read). */
export async function loadSets(samplesDir: string, scoresFile: (setId: string) => string, warnings: string[]): Promise<LoadedSet[]> {
  const sets: LoadedSet[] = [];
  for (const setId of await listDirs(samplesDir)) {
    const dir = path.join(samplesDir, setId);
    const manifest = await tryJson<SampleSetManifest>(sampleSetFiles(dir).manifest, warnings);
    // no set.json: the set is still being rendered (or was cut short) and is not shown
    if (!manifest || !Array.isArray(manifest.images) || !manifest.weights) continue;
    sets.push({ manifest, dir, scores: await tryJson<ScoreReport>(scoresFile(setId), warnings) });
  }
  return sets;
}

async function loadChecks(storeRoot: string, experiment: string, warnings: string[]): Promise<CheckReport[]> {
  const layout = checksLayout(storeRoot, experiment);
  let names: string[];
  try {
    names = (await readdir(layout.dir, { withFileTypes: true })).filter((e) => e.isFile() && e.name.endsWith('.json')).map((e) => e.name).sort();
  } catch {
    return [];
  }
  const checks: CheckReport[] = [];
  for (const name of names) {
    const report = await tryJson<CheckReport>(path.join(layout.dir, name), warnings);
    if (report && typeof report.verdict === 'string') checks.push(report);
  }
  return checks;
}

async function tryJson<T>(file: string, warnings: string[]): Promise<T | null> {
  try {
    return (await readJson<T>(file)) ?? null;
  } catch (error) {
    warnings.push(`${file}: ${(error as Error).message}; ignored`);
    return null;
  }
}

async function listDirs(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort(cmp);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw error;
  }
}

/** The last lines of a log, reading only its end; progress bars redraw with \r, so \r splits too. */
export async function tailLines(file: string, count: number): Promise<string[] | null> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch {
    return null;
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, LOG_TAIL_BYTES);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const lines = buffer.toString('utf8').split(/\r\n|\r|\n/);
    if (size > length) lines.shift(); // first line is cut
    while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
    return lines.slice(-count);
  } finally {
    await handle.close();
  }
}

/** Code-point order, independent of the machine's locale. */
export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
