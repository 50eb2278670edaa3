// Report cost: build a report for a synthetic 50-run store (9 scenes × 4 seeds of 1024² PNGs, 500 metric
// events per run, scores and a checkpoint set each), cold (every thumbnail resized: one 1024² PNG decode per
// sample) and warm (a rebuild of the same store: charts and sheets whose inputs are unchanged are kept).
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildReport } from '../harness/report/build.ts';
import { writeFixtureStore, type FixtureRun } from '../tests/fixtures/report/store.ts';

const RUNS = 50;

export async function bench(): Promise<Record<string, number | string>> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'harness-bench-report-'));
  try {
    const runs: FixtureRun[] = Array.from({ length: RUNS }, (_, i) => {
      const identity = 0.55 + ((i * 37) % 20) / 100;
      return {
        variant: i === 0 ? 'baseline' : `grid-lr_${i}`,
        hash: String(i).padStart(8, '0'),
        overrides: i === 0 ? {} : { learning_rate: (i + 1) * 1e-5 },
        state: 'done',
        steps: Array.from({ length: 500 }, (_, s) => s + 1),
        secondsPerStep: 2 + (i % 7) / 10,
        vramMb: 11000 + i * 20,
        env: { python: '3.10.12', torch: '2.1.2', gpu: { name: 'Tesla P100-PCIE-16GB', memory_mb: 16384 } },
        command: { argv: ['python', 'python/train.py', `runs/bench/${i}/spec.json`] },
        final: { identity: [identity, 0.084, 30, 36], curls: [0.5, 0.14, 30, 36], nose: [0.4, 0.28, 30, 36], neck: [0.3, 0.28, 30, 36] },
        checkpoints: { 200: { identity: [identity - 0.05, 0.084, 30, 36] } },
      } satisfies FixtureRun;
    });
    const prompts = Array.from({ length: 9 }, (_, i) => `0${i + 1}-scene`);
    let started = performance.now();
    await writeFixtureStore(path.join(root, 'store'), { experiment: 'bench', prompts, seeds: [11, 22, 33, 44], imageSize: 1024, sharedImage: true, control: 'unscored', runs });
    const storeSeconds = (performance.now() - started) / 1000;
    const options = { storeRoot: path.join(root, 'store'), experiment: 'bench', outDir: path.join(root, 'report') };
    started = performance.now();
    const result = await buildReport(options);
    const cold = (performance.now() - started) / 1000;
    started = performance.now();
    await buildReport(options);
    const warm = (performance.now() - started) / 1000;
    return {
      runs: RUNS,
      images: RUNS * 36 + 36,
      files_written: result.files.length,
      synthetic_store_s: storeSeconds,
      report_cold_s: cold,
      report_rebuild_s: warm,
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
