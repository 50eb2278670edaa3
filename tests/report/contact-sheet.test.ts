// The contact sheet's pixel grid: rows = control then runs, columns = seeds, each cell its own image.
// Checks sample cell centres only, so the result does not depend on which fonts draw the labels.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { sheetGeometry, wrap } from '../../harness/report/contact-sheet.ts';
import { buildReport } from '../../harness/report/build.ts';
import { fixtureColour, writeFixtureStore, type FixtureStore } from '../fixtures/report/store.ts';
import { tempDir } from '../helpers/tmp.ts';

const STORE: FixtureStore = {
  experiment: 'grid',
  prompts: ['01-a', '02-b'],
  seeds: [5, 6, 7],
  control: 'unscored',
  runs: [
    { variant: 'baseline', hash: 'aaaaaaaa', state: 'done', final: 'unscored' },
    { variant: 'rank-8', hash: 'bbbbbbbb', state: 'done', final: 'unscored' },
    { variant: 'lr-low', hash: 'cccccccc', state: 'failed', reason: 'crashed' },
  ],
};

async function pixel(png: Buffer, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  const at = (y * info.width + x) * info.channels;
  return [data[at]!, data[at + 1]!, data[at + 2]!];
}

describe('contact sheets', () => {
  it('lays out runs × seeds with the control first and the right image in every cell', async () => {
    const root = await tempDir('harness-report-sheet-');
    await writeFixtureStore(path.join(root, 'store'), STORE);
    await buildReport({ storeRoot: path.join(root, 'store'), experiment: 'grid', outDir: path.join(root, 'out') });
    const png = await readFile(path.join(root, 'out', 'sheets', '02-b.png'));
    // control + two runs with samples (the failed run has none); three seeds
    const geometry = sheetGeometry(3, 3);
    const meta = await sharp(png).metadata();
    expect([meta.width, meta.height]).toEqual([geometry.width, geometry.height]);
    // fixture row 0 is the control, rows 1.. the runs in store order; prompt 02-b has index 1
    for (let row = 0; row < 3; row++) {
      for (let seed = 0; seed < 3; seed++) {
        const { left, top } = geometry.origin(row, seed);
        const expected = fixtureColour(row, seed, 1);
        expect(await pixel(png, left + geometry.cell / 2, top + geometry.cell / 2), `row ${row} seed ${seed}`).toEqual([expected.r, expected.g, expected.b]);
      }
    }
    // the gap between cells is background, so the grid is visible
    const { left, top } = geometry.origin(1, 1);
    expect(await pixel(png, left - 2, top + 10)).toEqual([255, 255, 255]);
  });

  it('draws a missing image as a grey cell and the series strip as scenes × seeds', async () => {
    const root = await tempDir('harness-report-sheet-');
    await writeFixtureStore(path.join(root, 'store'), STORE);
    // one image of the baseline lost after its set was written
    const { rm } = await import('node:fs/promises');
    await rm(path.join(root, 'store', 'grid', 'baseline-aaaaaaaa', 'samples', 'final-bbbbbbbbbb', '01-a__s6.png'));
    await buildReport({ storeRoot: path.join(root, 'store'), experiment: 'grid', outDir: path.join(root, 'out') });
    const strip = await readFile(path.join(root, 'out', 'series', 'baseline-aaaaaaaa.png'));
    const geometry = sheetGeometry(3, 2); // rows = seeds, columns = scenes
    const meta = await sharp(strip).metadata();
    expect([meta.width, meta.height]).toEqual([geometry.width, geometry.height]);
    const missing = geometry.origin(1, 0); // seed 6, scene 01-a
    expect(await pixel(strip, missing.left + 50, missing.top + 50)).toEqual([221, 221, 221]);
    const present = geometry.origin(1, 1);
    const colour = fixtureColour(1, 1, 1);
    expect(await pixel(strip, present.left + 50, present.top + 50)).toEqual([colour.r, colour.g, colour.b]);
  });

  it('wraps long run ids at - and _ for the label column', () => {
    expect(wrap('grid-rank_32_learning_rate_5e-05-0123abcd', 26)).toEqual(['grid-rank_32_learning_', 'rate_5e-05-0123abcd']);
    expect(wrap('short', 26)).toEqual(['short']);
  });
});
