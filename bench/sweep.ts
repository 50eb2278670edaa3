// How busy `harness sweep` keeps the GPU: three runs through the fixture trainer (each optimizer step
// sleeps, standing in for GPU time), the fixture sampler and the real CPU scorer. Reports GPU busy and
// idle time and how much the CPU stage (scoring, report) of run k overlapped the training of run k+1.
// Targets: GPU idle between runs < 10 % of GPU busy time; the overlap saves most of the CPU stage time.
import { execa } from 'execa';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sweepWorkspace } from '../tests/sweep/helpers.ts';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../bin/harness.js');

export async function bench(): Promise<Record<string, number | string>> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'harness-bench-sweep-'));
  try {
    const ws = await sweepWorkspace(root);
    const result = await execa(process.execPath, [BIN, ...ws.args(['--json'])], {
      cwd: ws.root,
      env: { NO_COLOR: '1', ...ws.env, FIXTURE_STEP_SECONDS: '0.5' },
      reject: false,
    });
    if (result.exitCode !== 0) throw new Error(`sweep failed (${result.exitCode}): ${result.stderr.slice(-2000)}`);
    const sweep = JSON.parse(result.stdout) as {
      wallSeconds: number;
      runs: { gpuSeconds: number; cpuSeconds: number }[];
      gpu: { busySeconds: number; idle: { why: string; seconds: number }[]; cpuTailSeconds: number };
    };
    const idleBetween = sweep.gpu.idle.filter((i) => i.why.startsWith('between')).reduce((s, i) => s + i.seconds, 0);
    const startup = sweep.gpu.idle.filter((i) => i.why.startsWith('start-up')).reduce((s, i) => s + i.seconds, 0);
    const cpu = sweep.runs.reduce((s, r) => s + r.cpuSeconds, 0);
    const serial = sweep.gpu.busySeconds + cpu + startup;
    return {
      runs: sweep.runs.length,
      wall_s: sweep.wallSeconds,
      gpu_busy_s: sweep.gpu.busySeconds,
      gpu_idle_between_runs_s: idleBetween,
      gpu_idle_between_runs_pct_of_busy: (100 * idleBetween) / sweep.gpu.busySeconds,
      startup_s: startup,
      cpu_stage_total_s: cpu,
      cpu_tail_after_last_gpu_stage_s: sweep.gpu.cpuTailSeconds,
      overlap_saved_s: serial - sweep.wallSeconds,
      target: 'idle between runs < 10 % of GPU busy',
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
