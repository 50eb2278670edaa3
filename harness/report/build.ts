// Builds reports/<experiment>/: reads the store, analyses, and writes report.md with its charts, contact
// sheets, full-size samples and log tails. Only this file writes; everything it calls is pure or reads.
import { copyFile, link, mkdir, readdir, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { BASELINE } from '../plan/expand.ts';
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';
import { previewFile } from '../samples/previews.ts';
import { writeFileAtomic } from '../store/atomic.ts';
import { analyze, type ReportModel } from './analyze.ts';
import { ASSET_DIRS, assets, CONTROL_KEY, REPORT_FILE, THUMB_CACHE_DIR } from './assets.ts';
import { chartSpecs, renderSvg } from './charts.ts';
import { CELL, ThumbnailCache, type SheetInput, type SheetRow, type ThumbnailStats } from './contact-sheet.ts';
import { drawSheetsInWorker } from './sheet-worker.ts';
import { loadStore } from './load.ts';
import { renderMarkdown } from './markdown.ts';
import { RenderCache } from './render-cache.ts';
import { EMA_FACTOR } from './metrics.ts';
import type { LoadedSet, ReportSettings, StoredSpec } from './types.ts';
import { DEFAULT_WEIGHTS } from './weights.ts';
import pMap from 'p-map';

/** What the report needs of a plan context (harness/commands/context.ts PlanContext satisfies it). */
export interface ReportPlanContext {
  storeRoot: string;
  plan: { experiment: string; runs: { id: string; variant: string }[] };
  experiment: { config: { scoring?: { weights?: Record<string, number> }; samples?: { prompts: { id: string }[] } } };
}

export interface BuildReportOptions {
  /** from loadPlanContext: gives the plan (planned runs, baseline settings) and the scoring weights */
  context?: ReportPlanContext;
  /** without a context: read the store alone */
  storeRoot?: string;
  experiment?: string;
  outDir: string;
}

export interface BuildReportResult {
  schemaVersion: number;
  experiment: string;
  storeRoot: string;
  outDir: string;
  reportPath: string;
  /** every file written, relative to outDir, sorted */
  files: string[];
  runs: { id: string; state: string; rank: number | null }[];
  best: string | null;
  warnings: string[];
  /** where the contact sheets' thumbnails came from in this build (sheets that were up to date need none) */
  thumbnails: ThumbnailStats;
}

export async function buildReport(options: BuildReportOptions): Promise<BuildReportResult> {
  const { context } = options;
  const experiment = context?.plan.experiment ?? options.experiment;
  const storeRoot = context?.storeRoot ?? options.storeRoot;
  if (!experiment || !storeRoot) throw new Error('buildReport needs a plan context, or a storeRoot and an experiment name');
  const settings: ReportSettings = {
    baselineVariant: BASELINE,
    weights: context?.experiment.config.scoring?.weights ?? DEFAULT_WEIGHTS,
    promptOrder: context?.experiment.config.samples?.prompts.map((p) => p.id) ?? null,
  };
  const store = await loadStore({ storeRoot, experiment, planned: context?.plan.runs.map((r) => ({ id: r.id, variant: r.variant })), settings });
  // a planned run without a folder still shows what it changes
  const plannedSpecs = new Map((context?.plan.runs ?? []).map((r) => [r.id, r as unknown as StoredSpec]));
  for (const run of store.runs) run.spec ??= plannedSpecs.get(run.id) ?? null;

  const model = analyze(store);
  const outDir = path.resolve(options.outDir);
  const written = new Set<string>();
  const write = async (relative: string, data: string | Buffer) => {
    const file = path.join(outDir, relative);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, data);
    written.add(relative);
  };

  const renders = new RenderCache(outDir);
  const produce = async (relative: string, inputs: unknown, make: () => Promise<string | Buffer>) => {
    const key = renders.key(inputs);
    if (await renders.fresh(relative, key)) {
      written.add(relative);
      return;
    }
    await write(relative, await make());
    await renders.record(relative, key);
  };

  // The stale contact sheets go to a worker thread first; the charts and the full-size links are made on this
  // one meanwhile.
  const cacheDir = path.join(outDir, THUMB_CACHE_DIR);
  const sheets = sheetJobs(model);
  const stale = [];
  for (const job of sheets) {
    const key = renders.key(job.input);
    if (await renders.fresh(job.file, key)) written.add(job.file);
    else stale.push({ job, key });
  }
  const sheetsDrawn =
    stale.length > 0
      ? drawSheetsInWorker(cacheDir, stale.map(({ job }) => ({ file: path.join(outDir, job.file), input: job.input })), CELL)
      : new ThumbnailCache(cacheDir).prune().then(() => ({ previews: 0, cached: 0, resized: 0 }));
  // a failed worker must not go unhandled while the charts are drawn; it is awaited (and thrown) below
  sheetsDrawn.catch(() => undefined);

  const charts = chartSpecs(model, EMA_FACTOR);
  for (const chart of charts) {
    await produce(assets.chart(chart.name), { chart: chart.spec, vega: vega.version, vegaLite: vegaLite.version }, () => renderSvg(chart.spec));
  }
  await copyFullSize(model, outDir, written);
  const thumbnails: ThumbnailStats = await sheetsDrawn;
  for (const { job, key } of stale) {
    written.add(job.file);
    await renders.record(job.file, key);
  }

  const logTails: string[] = [];
  for (const row of model.rows) {
    if (row.state !== 'failed' || !row.run.logTail) continue;
    await write(assets.logTail(row.id), `${row.run.logTail.join('\n')}\n`);
    logTails.push(row.id);
  }

  const markdown = renderMarkdown({ model, charts, sheets: sheets.filter((j) => j.kind === 'scene').map((j) => j.key), series: sheets.filter((j) => j.kind === 'series').map((j) => j.key), logTails, checks: store.checks, warnings: store.warnings.map((w) => w.replace(storeRoot, '<store>')) });
  const reportPath = path.join(outDir, REPORT_FILE);
  await writeFileAtomic(reportPath, markdown);
  written.add(REPORT_FILE);
  await removeStale(outDir, written);

  const best = model.rows.find((r) => r.rank === 1)?.id ?? null;
  return {
    schemaVersion: 1,
    experiment,
    storeRoot,
    outDir,
    reportPath,
    files: [...written].sort(),
    runs: model.rows.map((r) => ({ id: r.id, state: r.state, rank: r.rank })),
    best,
    warnings: store.warnings,
    thumbnails,
  };
}

function cellFor(set: LoadedSet | null, scene: string, seed: number): SheetRow['cells'][number] {
  const image = set?.manifest.images.find((i) => i.promptId === scene && i.seed === seed);
  return image && set ? { file: path.join(set.dir, image.file), sha256: image.sha256, preview: previewFile(set.dir, image.sha256) } : null;
}

interface SheetJob {
  kind: 'scene' | 'series';
  /** scene id, or run id (CONTROL_KEY for the control) */
  key: string;
  file: string;
  input: SheetInput;
}

/** Per scene: rows = control then runs, columns = seeds. Per run: the scenes in order, one row per seed. */
function sheetJobs(model: ReportModel): SheetJob[] {
  const sources: { key: string; label: string; set: LoadedSet }[] = [];
  if (model.control) sources.push({ key: CONTROL_KEY, label: 'control (no LoRA)', set: model.control });
  for (const row of model.rows) if (row.finalSet) sources.push({ key: row.id, label: row.id, set: row.finalSet });
  if (sources.length === 0 || model.seeds.length === 0) return [];
  const jobs: SheetJob[] = [];
  const empty = (input: SheetInput) => input.rows.every((r) => r.cells.every((c) => c === null));
  for (const scene of model.scenes) {
    const rows = sources.map(({ label, set }) => ({ label, cells: model.seeds.map((seed) => cellFor(set, scene, seed)) }));
    const input = { title: scene, columns: model.seeds.map((s) => `seed ${s}`), rows };
    if (!empty(input)) jobs.push({ kind: 'scene', key: scene, file: assets.sceneSheet(scene), input });
  }
  for (const { key, label, set } of sources) {
    const rows = model.seeds.map((seed) => ({ label: `seed ${seed}`, cells: model.scenes.map((scene) => cellFor(set, scene, seed)) }));
    const input = { title: label, columns: model.scenes, rows };
    if (!empty(input)) jobs.push({ kind: 'series', key, file: assets.series(key), input });
  }
  return jobs;
}

/**
 * Full-size samples are hard-linked into the report (a copy where the store is on another file system):
 * a link costs no space or time, yet is a real file, so the report's links stay relative and keep
 * working when the folder is moved, committed or the store is unmounted.
 */
async function copyFullSize(model: ReportModel, outDir: string, written: Set<string>): Promise<void> {
  const sets: { runId: string | null; set: LoadedSet }[] = [];
  if (model.control) sets.push({ runId: null, set: model.control });
  for (const row of model.rows) if (row.finalSet) sets.push({ runId: row.id, set: row.finalSet });
  for (const { runId, set } of sets) {
    const images = set.manifest.images;
    if (images.length === 0) continue;
    await mkdir(path.dirname(path.join(outDir, assets.image(runId, images[0]!.file))), { recursive: true });
    await pMap(images, async (image) => {
      const relative = assets.image(runId, image.file);
      const source = path.join(set.dir, image.file);
      const target = path.join(outDir, relative);
      const [from, to] = await Promise.all([stat(source).catch(() => null), stat(target).catch(() => null)]);
      if (!from) return;
      written.add(relative);
      if (to && (to.ino === from.ino || (to.size === from.size && to.mtimeMs >= from.mtimeMs))) return;
      if (to) await rm(target, { force: true });
      try {
        await link(source, target);
      } catch {
        await copyFile(source, target);
      }
    }, { concurrency: 8 });
  }
}

/** Files of an older build in the report's asset folders (a run since removed) go; nothing else is touched. */
async function removeStale(outDir: string, written: Set<string>): Promise<void> {
  const walk = async (relative: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(path.join(outDir, relative), { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const child = `${relative}/${entry.name}`;
      if (entry.isDirectory()) {
        await walk(child);
        await rmdir(path.join(outDir, child)).catch(() => undefined); // only when empty
      } else if (!written.has(child)) {
        await rm(path.join(outDir, child), { force: true });
      }
    }
  };
  for (const dir of ASSET_DIRS) await walk(dir);
}
