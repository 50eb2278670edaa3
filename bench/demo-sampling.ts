// `npm run bench -- demo-sampling`: sampling cost on the real stack: the CPU demo sweep (experiments/demo.yaml: 2 runs, each with a final and
// a checkpoint set, plus the shared control set; tiny SDXL, the real StableDiffusionXLPipeline). Counts
// sampler processes and SDXL pipeline loads per sweep from the sets' events.jsonl, and the sampling wall of
// each run from status.json (sampling → sampled). Target (issue 21): one pipeline load per run.
import { execa } from 'execa';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadExperiment } from '../harness/config/load.ts';
import { hubCacheDir } from '../harness/commands/context.ts';
import { prepareMachine } from '../harness/pipeline/prepare.ts';
import { readJsonLines } from '../harness/store/atomic.ts';
import type { RunStatus } from '../harness/store/status.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(REPO, 'bin', 'harness.js');

interface SamplerLine {
  type: string;
  pid?: number;
  /** absent before issue 21: every `loaded` was a pipeline load */
  pipeline_loaded?: boolean;
}

export async function bench(): Promise<Record<string, number | string>> {
  const demo = path.join(REPO, 'experiments', 'demo.yaml');
  await prepareMachine({ experiment: await loadExperiment(demo), hubCache: hubCacheDir(process.env), env: process.env });
  const root = await mkdtemp(path.join(os.tmpdir(), 'harness-bench-demo-'));
  try {
    await mkdir(path.join(root, 'experiments'));
    await cp(path.join(REPO, 'data', 'demo'), path.join(root, 'data', 'demo'), { recursive: true });
    const yaml = (await readFile(demo, 'utf8')).replace('../python/requirements-cpu.txt', path.join(REPO, 'python', 'requirements-cpu.txt'));
    await writeFile(path.join(root, 'experiments', 'demo.yaml'), yaml);
    const store = path.join(root, 'runs');
    const started = performance.now();
    const result = await execa(process.execPath, [BIN, 'sweep', 'experiments/demo.yaml', '--store', store, '--out', path.join(root, 'report'), '--json'], {
      cwd: root,
      env: { NO_COLOR: '1', OMP_NUM_THREADS: '1', WANDB_MODE: 'disabled' },
      reject: false,
    });
    const wall = (performance.now() - started) / 1000;
    if (result.exitCode !== 0) throw new Error(`demo sweep failed (${result.exitCode}): ${result.stderr.slice(-3000)}`);

    const experimentDir = path.join(store, 'demo');
    const runs = (await readdir(experimentDir)).filter((name) => !name.startsWith('_') && !name.startsWith('.'));
    const pids = new Set<number>();
    let loads = 0;
    let sets = 0;
    for (const owner of [...runs, '_control']) {
      const samples = path.join(experimentDir, owner, 'samples');
      for (const set of await readdir(samples, { withFileTypes: true }).catch(() => [])) {
        if (!set.isDirectory()) continue;
        sets++;
        const events = await readJsonLines<SamplerLine>(path.join(samples, set.name, 'events.jsonl')).catch(() => [] as SamplerLine[]);
        for (const event of events) {
          if (event.type === 'start' && event.pid) pids.add(event.pid);
          if (event.type === 'loaded' && event.pipeline_loaded !== false) loads++;
        }
      }
    }
    const walls: number[] = [];
    for (const run of runs) {
      const status = JSON.parse(await readFile(path.join(experimentDir, run, 'status.json'), 'utf8')) as RunStatus;
      const from = status.history.find((h) => h.state === 'sampling');
      const to = status.history.find((h) => h.state === 'sampled');
      if (from && to) walls.push((Date.parse(to.at) - Date.parse(from.at)) / 1000);
    }
    return {
      cpu_cores: os.availableParallelism(),
      load_avg_1m: os.loadavg()[0]!,
      runs: runs.length,
      sample_sets: sets,
      sampler_processes: pids.size,
      pipeline_loads_per_sweep: loads,
      sampling_wall_s_per_run: walls.map((s) => s.toFixed(1)).join(', '),
      sampling_wall_s_mean: walls.reduce((a, b) => a + b, 0) / Math.max(1, walls.length),
      sweep_wall_s: wall,
      target: 'one pipeline load per run',
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
