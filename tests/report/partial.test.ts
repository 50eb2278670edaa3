// A sweep that is still going: failed, partial and planned runs, no scores yet.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildReport } from '../../harness/report/build.ts';
import { writeFixtureStore, type FixtureStore } from '../fixtures/report/store.ts';
import { tempDir } from '../helpers/tmp.ts';

const steps = (n: number) => Array.from({ length: n }, (_, i) => (i + 1) * 10);

const EARLY: FixtureStore = {
  experiment: 'early',
  prompts: ['01-a'],
  seeds: [1, 2],
  runs: [
    { variant: 'baseline', hash: 'aaaaaaaa', state: 'sampled', steps: steps(50), vramMb: 12000, final: 'unscored' },
    { variant: 'lr-high', hash: 'bbbbbbbb', state: 'failed', reason: 'nan_loss', steps: steps(8), trainLog: `${'step\n'.repeat(100)}loss is nan at step 80\r\nTraceback: FloatingPointError\n` },
    { variant: 'rank-16', hash: 'cccccccc', overrides: { rank: 16 }, state: 'training', steps: steps(12), vramMb: 13000 },
    { variant: 'long', hash: 'dddddddd', overrides: { max_train_steps: 1000 }, maxSteps: 1000, state: 'planned' },
  ],
};

describe('report of an unfinished sweep', () => {
  it('says there is not enough data, lists the failure with its log tail, and shows progress', async () => {
    const root = await tempDir('harness-report-partial-');
    await writeFixtureStore(path.join(root, 'store'), EARLY);
    const result = await buildReport({ storeRoot: path.join(root, 'store'), experiment: 'early', outDir: path.join(root, 'out') });
    const md = await readFile(result.reportPath, 'utf8');
    expect(result.best).toBeNull();
    expect(md).toContain('4 runs, 0 done, 1 failed, 3 not finished; 0 with identity scores.');
    expect(md).toContain('Not enough data to decide which run is best');
    expect(md).toContain('Failed: nan_loss: **lr-high-bbbbbbbb**.');
    expect(md).toContain('| rank-16-cccccccc | rank=16 | training · step 120/500 |');
    expect(md).toContain('| long-dddddddd | max\\_train\\_steps=1000 | planned | – |');
    expect(md).toContain('No run has scores yet.');
    // no status.logTail: the tail comes from train.log, progress-bar carriage returns split lines
    const tail = await readFile(path.join(root, 'out', 'logs', 'lr-high-bbbbbbbb.train-tail.txt'), 'utf8');
    expect(tail.trimEnd().split('\n')).toHaveLength(40);
    expect(tail).toContain('loss is nan at step 80\nTraceback: FloatingPointError');
    expect(md).toContain('[train.log tail](logs/lr-high-bbbbbbbb.train-tail.txt)');
    // unscored samples still give contact sheets
    expect(result.files).toContain('sheets/01-a.png');
    expect(result.files).toContain('charts/loss.svg');
    expect(result.files).not.toContain('charts/identity-cost.svg');
  });

  it('reports a corrupt file as a warning instead of failing, and drops assets of runs that are gone', async () => {
    const root = await tempDir('harness-report-partial-');
    await writeFixtureStore(path.join(root, 'store'), EARLY);
    const out = path.join(root, 'out');
    const before = await buildReport({ storeRoot: path.join(root, 'store'), experiment: 'early', outDir: out });
    expect(before.files).toContain('logs/lr-high-bbbbbbbb.train-tail.txt');
    await writeFile(path.join(root, 'store', 'early', 'lr-high-bbbbbbbb', 'status.json'), '{"state": "fail');
    const after = await buildReport({ storeRoot: path.join(root, 'store'), experiment: 'early', outDir: out });
    expect(after.warnings.join('\n')).toMatch(/lr-high-bbbbbbbb\/status\.json: .*ignored/);
    const md = await readFile(after.reportPath, 'utf8');
    expect(md).toContain('## Warnings');
    expect(md).toContain('&lt;store&gt;/early/lr-high-bbbbbbbb/status.json');
    expect(after.files).not.toContain('logs/lr-high-bbbbbbbb.train-tail.txt');
    await expect(readFile(path.join(out, 'logs', 'lr-high-bbbbbbbb.train-tail.txt'))).rejects.toThrow();
  });

  it('builds a report for an experiment with no runs in the store at all', async () => {
    const root = await tempDir('harness-report-partial-');
    const result = await buildReport({ storeRoot: path.join(root, 'store'), experiment: 'nothing', outDir: path.join(root, 'out') });
    const md = await readFile(result.reportPath, 'utf8');
    expect(md).toContain('0 runs, 0 done; 0 with identity scores. Not enough data');
    expect(result.files).toEqual(['report.md']);
  });
});
