// Charts are SVG that a renderer accepts, with one series per run that has data.
import { beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import path from 'node:path';
import { analyze, type ReportModel } from '../../harness/report/analyze.ts';
import { chartSpecs, renderSvg } from '../../harness/report/charts.ts';
import { loadStore } from '../../harness/report/load.ts';
import { DEFAULT_WEIGHTS } from '../../harness/report/weights.ts';
import { writeFixtureStore } from '../fixtures/report/store.ts';
import { SWEEP } from '../fixtures/report/sweep.ts';
import { tempDir } from '../helpers/tmp.ts';

let model: ReportModel;

beforeAll(async () => {
  const root = await tempDir('harness-report-charts-');
  await writeFixtureStore(path.join(root, 'store'), SWEEP);
  const store = await loadStore({ storeRoot: path.join(root, 'store'), experiment: 'tok-boy', settings: { baselineVariant: 'baseline', weights: DEFAULT_WEIGHTS, promptOrder: null } });
  model = analyze(store);
});

function marks(svg: string, name: string): number {
  return [...svg.matchAll(new RegExp(`class="mark-[a-z]+ role-mark ${name}_marks"`, 'g'))].length;
}

describe('charts', () => {
  it('draws every kind the fixture has data for', () => {
    expect(chartSpecs(model, 0.9).map((c) => c.name)).toEqual(['loss', 'vram', 'identity-steps', 'identity-cost']);
  });

  it('render as SVG that parses and rasterises at the fixed size', async () => {
    for (const chart of chartSpecs(model, 0.9)) {
      const svg = await renderSvg(chart.spec);
      expect(svg.startsWith('<svg')).toBe(true);
      const meta = await sharp(Buffer.from(svg)).metadata();
      expect(meta.format, chart.name).toBe('svg');
      expect(meta.width, chart.name).toBeGreaterThan(640);
    }
  });

  it('has one raw and one smoothed loss line per run with loss events, labelled in the legend', async () => {
    const loss = chartSpecs(model, 0.9).find((c) => c.name === 'loss')!;
    // the five runs that logged metric events; the planned run has none
    expect(loss.runs).toEqual(['baseline-11111111', 'long-55555555', 'lr-high-22222222', 'odd|name<x>*-33333333', 'res-1024-44444444']);
    const svg = await renderSvg(loss.spec);
    expect(marks(svg, 'raw')).toBe(5);
    expect(marks(svg, 'smoothed')).toBe(5);
    expect(svg).toContain('odd|name&lt;x&gt;*-33333333');
  });

  it('shows identity over checkpoints only for runs with a scored checkpoint set', async () => {
    const chart = chartSpecs(model, 0.9).find((c) => c.name === 'identity-steps')!;
    expect(chart.runs).toEqual(['baseline-11111111', 'lr-high-22222222']);
    expect(marks(await renderSvg(chart.spec), 'identity')).toBe(2);
  });

  it('marks the Pareto front: the cheap odd run and the better lr-high, not the dominated baseline', () => {
    const front = model.rows.filter((r) => r.pareto).map((r) => r.id);
    expect(front).toEqual(['lr-high-22222222', 'odd|name<x>*-33333333']);
  });
});
