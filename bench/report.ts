// Report cost: build a report for a synthetic 50-run store (9 scenes × 4 seeds of 1024² PNGs, 500 metric
// events per run, scores and a checkpoint set each). Cold as a sweep leaves the store (each image's preview
// beside it, made by the scoring stage), cold from the same store pulled from a Hub dataset repo (loopback
// stand-in, through `harness pull`'s code), cold from a store without previews (every thumbnail resized from
// its 1024² PNG, as before issue 21), and warm (a rebuild: charts and sheets whose inputs are unchanged are
// kept). Target (issue 21): a cold report of 50 runs in < 5 s on 2 cores.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { hubContext } from '../harness/hub/client.ts';
import { pullStore, storeEntries } from '../harness/hub/store-sync.ts';
import { buildReport } from '../harness/report/build.ts';
import { startHubServer } from '../tests/fixtures/hub-server/server.ts';
import { writeFixtureStore, type FixtureRun, type FixtureStore } from '../tests/fixtures/report/store.ts';

const RUNS = 50;

export async function bench(): Promise<Record<string, number | string>> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'harness-bench-report-'));
  const hub = await startHubServer({ users: { bench: { token: 'hf_bench', role: 'write' } } });
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
    const fixture: FixtureStore = { experiment: 'bench', prompts, seeds: [11, 22, 33, 44], imageSize: 1024, sharedImage: true, control: 'unscored', runs };
    let started = performance.now();
    await writeFixtureStore(path.join(root, 'store'), { ...fixture, previews: true });
    const storeSeconds = (performance.now() - started) / 1000;
    await writeFixtureStore(path.join(root, 'store-without-previews'), fixture);

    // CPU seconds (all threads of this process) say what free cores would give when other processes load them
    const timed = async (storeRoot: string, outDir: string) => {
      const t = performance.now();
      const cpu = process.cpuUsage();
      const result = await buildReport({ storeRoot, experiment: 'bench', outDir });
      const used = process.cpuUsage(cpu);
      return { seconds: (performance.now() - t) / 1000, cpuSeconds: (used.user + used.system) / 1e6, result };
    };
    const options = { storeRoot: path.join(root, 'store'), outDir: path.join(root, 'report') };
    const cold = await timed(options.storeRoot, options.outDir);
    const warm = await timed(options.storeRoot, options.outDir);

    // `harness push --store` sends what storeEntries lists; `harness pull` brings it into an empty store.
    const entries = await storeEntries(path.join(options.storeRoot, 'bench'), 'bench');
    const files: Record<string, Buffer> = {};
    for (const entry of entries.entries) files[entry.path] = entry.file ? await readFile(entry.file) : Buffer.from(entry.content ?? []);
    hub.addRepo({ type: 'dataset', id: 'bench/runs', files });
    const pulledRoot = path.join(root, 'pulled');
    started = performance.now();
    await pullStore(await hubContext({}, { hubUrl: hub.url, token: 'hf_bench' }), { type: 'dataset', id: 'bench/runs' }, 'bench', path.join(pulledRoot, 'bench'));
    const pullSeconds = (performance.now() - started) / 1000;
    const pulled = await timed(pulledRoot, path.join(root, 'report-pulled'));

    const bare = await timed(path.join(root, 'store-without-previews'), path.join(root, 'report-without-previews'));
    const thumbs = (r: typeof cold) => `${r.result.thumbnails.previews} previews, ${r.result.thumbnails.resized} resized`;
    return {
      cpu_cores: os.availableParallelism(),
      load_avg_1m: os.loadavg()[0]!,
      runs: RUNS,
      images: RUNS * 36 + 36,
      files_written: cold.result.files.length,
      synthetic_store_s: storeSeconds,
      report_cold_s: cold.seconds,
      report_cold_cpu_s: cold.cpuSeconds,
      report_cold_thumbnails: thumbs(cold),
      report_cold_pulled_store_s: pulled.seconds,
      report_cold_pulled_thumbnails: thumbs(pulled),
      pull_s: pullSeconds,
      report_cold_without_previews_s: bare.seconds,
      report_cold_without_previews_cpu_s: bare.cpuSeconds,
      report_rebuild_s: warm.seconds,
      target: 'cold < 5 s on 2 cores',
    };
  } finally {
    await hub.close();
    await rm(root, { recursive: true, force: true });
  }
}
