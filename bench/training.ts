// Harness overhead while training (issue 4): how fast events.jsonl is ingested, and how much CPU the
// harness process itself uses while the fixture trainer emits steps (a) as fast as it can, (b) at 10/s.
// Targets: ≥ 50 000 events/s ingest, < 2 % of one core at 10 steps/s.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { run } from '../harness/commands/run.ts';
import { EventLog, FileTail } from '../harness/train/events.ts';
import type { TrainReporter } from '../harness/train/progress.ts';
import { experimentYaml, FIXTURE_SCRIPT, FIXTURE_SITE, makeDataset } from '../tests/training/helpers.ts';

export async function bench(): Promise<Record<string, number | string>> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'harness-bench-train-'));
  try {
    const ingest = await ingestRate(root);
    const fast = await trainingOverhead(root, 'fast', 10_000, 0);
    const paced = await trainingOverhead(root, 'paced', 100, 0.1);
    return {
      'ingest events/s (200k metric lines, tail + parse)': Math.round(ingest),
      'fast fixture: steps': fast.steps,
      'fast fixture: events/s seen by the harness': Math.round(fast.steps / fast.wallSeconds),
      'fast fixture: harness CPU % of one core': round(fast.cpuPercent),
      '10 steps/s fixture: harness CPU % of one core': round(paced.cpuPercent),
      'targets': '≥ 50000 events/s ingest; < 2 % CPU at 10 steps/s',
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

async function ingestRate(root: string): Promise<number> {
  const file = path.join(root, 'events.jsonl');
  const count = 200_000;
  const lines: string[] = [];
  for (let step = 1; step <= count; step++) {
    lines.push(JSON.stringify({ v: 1, type: 'metric', t: 1_790_000_000 + step * 0.1, step, loss: 0.05 + (step % 97) / 1e4, lr: 1e-4, vram_alloc_mb: 9012.4, vram_reserved_mb: 9524.1, vram_peak_mb: 9300.2 }));
  }
  await writeFile(file, `${lines.join('\n')}\n`);
  const started = process.hrtime.bigint();
  const log = new EventLog();
  const tail = new FileTail(file);
  for (const line of await tail.poll()) log.ingestLine(line);
  await tail.close();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (log.metrics.size !== count) throw new Error(`ingested ${log.metrics.size} of ${count}`);
  return count / seconds;
}

async function trainingOverhead(root: string, name: string, steps: number, stepSeconds: number) {
  const dir = path.join(root, name);
  await makeDataset(path.join(dir, 'data'));
  for (const folder of ['model', 'vae', 'cache']) await mkdir(path.join(dir, folder), { recursive: true });
  await writeFile(path.join(dir, 'exp.yaml'), experimentYaml({ max_train_steps: steps, checkpointing_steps: steps * 2 }));
  let firstCpu: NodeJS.CpuUsage | undefined;
  let firstAt = 0;
  let lastCpu: NodeJS.CpuUsage | undefined;
  let lastAt = 0;
  let firstStep = 0;
  let lastStep = 0;
  const reporter: TrainReporter = {
    phase() {},
    warn() {},
    progress(snapshot) {
      if (snapshot.step === 0) return;
      if (!firstCpu) {
        firstCpu = process.cpuUsage();
        firstAt = performance.now();
        firstStep = snapshot.step;
      }
      lastCpu = process.cpuUsage();
      lastAt = performance.now();
      lastStep = snapshot.step;
    },
  };
  const result = await run({
    experiment: path.join(dir, 'exp.yaml'),
    cwd: dir,
    env: { ...process.env, PYTHONPATH: FIXTURE_SITE, XDG_CACHE_HOME: path.join(dir, 'cache'), HARNESS_PYTHON: 'python3', FIXTURE_STEP_SECONDS: String(stepSeconds) },
    selector: { variant: 'baseline' }, until: 'train',
    store: path.join(dir, 'runs'),
    model: path.join(dir, 'model'),
    vae: path.join(dir, 'vae'),
    script: FIXTURE_SCRIPT,
    preflight: false,
    reporter,
  });
  if (result.outcome !== 'trained' || !firstCpu || !lastCpu) throw new Error(`bench run ${name} did not train: ${result.message}`);
  const cpuMicros = lastCpu.user - firstCpu.user + (lastCpu.system - firstCpu.system);
  const wallSeconds = (lastAt - firstAt) / 1000;
  return { steps: lastStep - firstStep, wallSeconds, cpuPercent: wallSeconds > 0 ? (100 * cpuMicros) / 1e6 / wallSeconds : 0 };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await bench());
}
