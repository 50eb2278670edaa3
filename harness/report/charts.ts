// Charts as vega-lite specs (pure, data in) rendered to SVG by vega: fixed sizes, fixed colour domains
// and no timestamps, so the same store gives byte-identical files.
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';
import type { ReportModel, RunRow } from './analyze.ts';

const WIDTH = 640;
const HEIGHT = 320;
/** The raw loss line is drawn from at most this many points per run (every k-th step): enough for its shape. */
const RAW_POINTS = 400;

export type ChartName = 'loss' | 'vram' | 'identity-steps' | 'identity-cost';

export interface ChartSpec {
  name: ChartName;
  title: string;
  /** the runs drawn, one series each */
  runs: string[];
  spec: vegaLite.TopLevelSpec;
}

function colour(runs: string[]) {
  return { field: 'run', type: 'nominal' as const, title: 'run', scale: { domain: runs, scheme: scheme(runs) }, legend: { orient: 'bottom' as const, columns: 3, symbolLimit: 0, labelLimit: 200 } };
}

/** Ten distinct hues while they suffice; tableau20's light/dark pairs only beyond ten runs. */
function scheme(runs: string[]): string {
  return runs.length <= 10 ? 'tableau10' : 'tableau20';
}

function base(title: string, data: object[]) {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width: WIDTH,
    height: HEIGHT,
    background: 'white',
    data: { values: data },
  };
}

export function lossChart(model: ReportModel, emaFactor: number): ChartSpec | null {
  const rows = model.rows.filter((r) => r.facts.points.some((p) => p.loss !== null));
  if (rows.length === 0) return null;
  const runs = rows.map((r) => r.id);
  const data: object[] = [];
  for (const row of rows) {
    const points = row.facts.points.filter((p) => p.loss !== null);
    const stride = Math.max(1, Math.ceil(points.length / RAW_POINTS));
    points.forEach((p, i) => {
      const keepRaw = i % stride === 0 || i === points.length - 1;
      data.push({ run: row.id, step: p.step, ...(keepRaw ? { loss: p.loss } : {}), smoothed: p.smoothed });
    });
  }
  const x = { field: 'step', type: 'quantitative' as const, title: 'step' };
  const spec = {
    ...base(`training loss (faint: raw; solid: EMA ${emaFactor})`, data),
    layer: [
      { name: 'raw', transform: [{ filter: 'isValid(datum.loss)' }], mark: { type: 'line' as const, opacity: 0.2, strokeWidth: 1 }, encoding: { x, y: { field: 'loss', type: 'quantitative' as const, title: 'loss', scale: { zero: false } }, color: colour(runs), detail: { field: 'run' } } },
      { name: 'smoothed', mark: { type: 'line' as const, strokeWidth: 2 }, encoding: { x, y: { field: 'smoothed', type: 'quantitative' as const }, color: colour(runs) } },
    ],
  };
  return { name: 'loss', title: 'Loss', runs, spec: spec as vegaLite.TopLevelSpec };
}

export function vramChart(model: ReportModel): ChartSpec | null {
  const rows = model.rows.filter((r) => r.facts.points.some((p) => p.vramMb !== null));
  if (rows.length === 0) return null;
  const runs = rows.map((r) => r.id);
  const data = rows.flatMap((row) => row.facts.points.filter((p) => p.vramMb !== null).map((p) => ({ run: row.id, step: p.step, gib: round(p.vramMb! / 1024) })));
  const cards = [...new Set(rows.map((r) => r.cardMb).filter((c): c is number => c !== null))].sort((a, b) => a - b);
  const layer: object[] = [
    { name: 'vram', mark: { type: 'line', strokeWidth: 1.5 }, encoding: { x: { field: 'step', type: 'quantitative', title: 'step' }, y: { field: 'gib', type: 'quantitative', title: 'peak VRAM (GiB)' }, color: colour(runs) } },
  ];
  if (cards.length > 0) {
    layer.push({
      name: 'card',
      data: { values: cards.map((mb) => ({ gib: round(mb / 1024), label: `card ${round(mb / 1024)} GiB` })) },
      layer: [
        { mark: { type: 'rule', strokeDash: [4, 4], color: '#444' }, encoding: { y: { field: 'gib', type: 'quantitative' } } },
        { mark: { type: 'text', align: 'left', dx: 4, dy: -6, color: '#444' }, encoding: { y: { field: 'gib', type: 'quantitative' }, x: { value: 0 }, text: { field: 'label' } } },
      ],
    });
  }
  return { name: 'vram', title: 'VRAM', runs, spec: { ...base('peak VRAM over steps', data), layer } as vegaLite.TopLevelSpec };
}

/** Identity at each sampled checkpoint and at the final weights, with 95 % intervals. */
export function identityStepsChart(model: ReportModel): ChartSpec | null {
  const rows = model.rows.filter((r) => r.checkpointSets.some((c) => typeof c.set.scores?.summary?.identity?.mean === 'number'));
  if (rows.length === 0) return null;
  const runs = rows.map((r) => r.id);
  const data: object[] = [];
  for (const row of rows) {
    for (const { step, set } of row.checkpointSets) pushIdentity(data, row.id, step, set.scores?.summary?.identity);
    const finalStep = row.facts.lastStep ?? row.maxSteps;
    if (finalStep !== null) pushIdentity(data, row.id, finalStep, row.scores?.identity);
  }
  const x = { field: 'step', type: 'quantitative', title: 'training step' };
  const spec = {
    ...base('identity at sampled checkpoints (bars: 95 % interval)', data),
    layer: [
      { name: 'interval', mark: { type: 'rule', opacity: 0.5 }, encoding: { x, y: { field: 'lo', type: 'quantitative', title: 'identity', scale: { zero: false } }, y2: { field: 'hi' }, color: colour(runs) } },
      { name: 'identity', mark: { type: 'line', point: true }, encoding: { x, y: { field: 'mean', type: 'quantitative' }, color: colour(runs) } },
    ],
  };
  return { name: 'identity-steps', title: 'Identity over checkpoints', runs, spec: spec as vegaLite.TopLevelSpec };
}

function pushIdentity(data: object[], run: string, step: number, a: { mean: number | null; ci95: [number, number] | null } | undefined): void {
  if (!a || a.mean === null) return;
  data.push({ run, step, mean: round(a.mean), lo: round(a.ci95?.[0] ?? a.mean), hi: round(a.ci95?.[1] ?? a.mean) });
}

/** Identity against training time; the Pareto front (nothing cheaper is better) is joined and filled. */
export function identityCostChart(model: ReportModel): ChartSpec | null {
  const rows = model.rows.filter((r) => r.costSeconds !== null && r.identity !== null);
  if (rows.length === 0) return null;
  const runs = rows.map((r) => r.id);
  const data = rows.map((row: RunRow) => {
    const a = row.identity!;
    return { run: row.id, minutes: round(row.costSeconds! / 60), mean: round(a.mean!), lo: round(a.ci95?.[0] ?? a.mean!), hi: round(a.ci95?.[1] ?? a.mean!), front: row.pareto ? 'Pareto front' : 'dominated' };
  });
  const x = { field: 'minutes', type: 'quantitative', title: 'training time (min)', scale: { zero: false } };
  const spec = {
    ...base('identity vs training time (filled and joined: the Pareto front)', data),
    layer: [
      { name: 'front', transform: [{ filter: "datum.front === 'Pareto front'" }], mark: { type: 'line', color: '#888', strokeDash: [3, 3] }, encoding: { x, y: { field: 'mean', type: 'quantitative' }, order: { field: 'minutes' } } },
      { name: 'interval', mark: { type: 'rule', opacity: 0.5 }, encoding: { x, y: { field: 'lo', type: 'quantitative', title: 'identity', scale: { zero: false } }, y2: { field: 'hi' }, color: colour(runs) } },
      {
        name: 'runs',
        mark: { type: 'point', size: 80, strokeWidth: 2 },
        encoding: { x, y: { field: 'mean', type: 'quantitative' }, color: colour(runs), fill: { condition: { test: "datum.front === 'Pareto front'", field: 'run', type: 'nominal', scale: { domain: runs, scheme: scheme(runs) }, legend: null }, value: 'white' } },
      },
      { name: 'labels', mark: { type: 'text', align: 'left', dx: 7, dy: -7, fontSize: 10 }, encoding: { x, y: { field: 'mean', type: 'quantitative' }, text: { field: 'run' } } },
    ],
  };
  return { name: 'identity-cost', title: 'Identity vs cost', runs, spec: spec as vegaLite.TopLevelSpec };
}

export function chartSpecs(model: ReportModel, emaFactor: number): ChartSpec[] {
  return [lossChart(model, emaFactor), vramChart(model), identityStepsChart(model), identityCostChart(model)].filter((c): c is ChartSpec => c !== null);
}

export async function renderSvg(spec: vegaLite.TopLevelSpec): Promise<string> {
  // vega-lite warns on stderr about legend merges it resolves itself: nothing for the user to act on
  const compiled = vegaLite.compile(spec, { logger: SILENT }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return `${await view.toSVG()}\n`;
  } finally {
    view.finalize();
  }
}

const SILENT = {
  level(this: unknown, _level?: number) {
    return _level === undefined ? 0 : SILENT;
  },
  error: () => SILENT,
  warn: () => SILENT,
  info: () => SILENT,
  debug: () => SILENT,
} as unknown as Parameters<typeof vegaLite.compile>[1] extends infer O ? (O extends { logger?: infer L } ? L : never) : never;

function round(value: number): number {
  return Math.round(value * 1e4) / 1e4;
}
