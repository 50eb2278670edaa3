// `npm run bench -- demo`: the README's main job, stage by stage, on this machine: wall time and peak RSS
// (the largest process of the stage, from GNU time) of environment set-up (a fresh venv from the wheels
// pip can reach), the tiny SDXL build, then one run's train → sample → score, the report, and the whole
// two-run sweep on a fresh store once the environment exists.
// Targets on 2 cores: environment < 2 min; the 2-run sweep < 5 min once the environment exists.
import { execa } from 'execa';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(REPO, 'bin', 'harness.js');
const EXPERIMENT = path.join(REPO, 'experiments', 'demo.yaml');

interface Stage {
  seconds: number;
  peakRssMb: number;
}

/** Runs a command under GNU time; returns wall seconds and the peak RSS of its largest process. */
async function timed(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<Stage> {
  const marker = '@@bench';
  const result = await execa('/usr/bin/time', ['-f', `${marker} %e %M`, file, ...args], { cwd: REPO, env, reject: false, all: true });
  const line = result.all.split('\n').reverse().find((l) => l.startsWith(marker));
  if (result.exitCode !== 0 || !line) throw new Error(`${path.basename(file)} ${args.join(' ')} exited ${result.exitCode}:\n${result.all.split('\n').slice(-15).join('\n')}`);
  const [, seconds, kb] = line.split(' ');
  return { seconds: Number(seconds), peakRssMb: Number(kb) / 1024 };
}

export async function bench(): Promise<Record<string, number | string>> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'harness-bench-demo-'));
  const out: Record<string, number | string> = {};
  const record = (name: string, stage: Stage) => {
    out[`${name} wall s`] = stage.seconds;
    out[`${name} peak RSS MB`] = stage.peakRssMb;
  };
  try {
    // a fresh cache: the venv and the model are made from nothing, exactly as a new user's first sweep does
    const fresh = { ...process.env, XDG_CACHE_HOME: path.join(scratch, 'cache'), HF_HUB_CACHE: path.join(scratch, 'hub'), NO_COLOR: '1' };
    const setup = await timed(process.execPath, [BIN, 'setup', EXPERIMENT, '--json'], fresh);
    record('setup (environment + model + script)', setup);

    // the stages of one run, then the report, with the environment made above
    const store = path.join(scratch, 'store');
    const run = (until: string) => timed(process.execPath, [BIN, 'run', EXPERIMENT, '--variant', 'baseline', '--until', until, '--store', store], fresh);
    record('train (baseline, 12 steps)', await run('train'));
    record('sample (final, checkpoint 6, control: 12 images)', await run('sample'));
    record('score', await run('score'));
    record('report', await timed(process.execPath, [BIN, 'report', EXPERIMENT, '--store', store, '--out', path.join(scratch, 'report')], fresh));

    const sweep = await timed(process.execPath, [BIN, 'sweep', EXPERIMENT, '--store', path.join(scratch, 'sweep-store'), '--out', path.join(scratch, 'sweep-report')], fresh);
    record('sweep of 2 runs, environment ready', sweep);
    out['target: setup < 120 s'] = setup.seconds < 120 ? 'met' : 'MISSED';
    out['target: 2-run sweep < 300 s'] = sweep.seconds < 300 ? 'met' : 'MISSED';
    out.cores = os.cpus().length;
    return out;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
