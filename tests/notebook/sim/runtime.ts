// A simulated Colab or Kaggle runtime for notebooks/tok-boy.ipynb, faked only at the platform's boundary:
// - the GPU probe: a stand-in nvidia-smi on PATH (bin/nvidia-smi) naming the runtime's cards;
// - Google Drive, Colab's and Kaggle's secret stores, IPython's display: fakes/ (recorded in a log);
// - the platform folders (/content, /kaggle, /usr/local) and nodejs.org: the notebook's own constants,
//   pointed at a temp folder and a local copy of the download layout (the "Node 24" there is a wrapper
//   that reports v24.0.0 and runs this machine's Node);
// - GitHub: a local git repository holding the working tree as it is now, plus a trimmed experiment.
// Everything else is real: git, npm ci, pip, and every harness command, with the CPU stack (the harness's
// CPU Python environment, experiments/demo.yaml's tiny SDXL) standing in for the CUDA one.
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { chmod, cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { REPO } from '../../helpers/cli.ts';
import { realStack } from '../../real/stack.ts';

const HERE = import.meta.dirname;
export const NOTEBOOK = path.join(REPO, 'notebooks', 'tok-boy.ipynb');
export const SIM_EXPERIMENT = 'experiments/notebook-sim.yaml';
export const T4 = 'Tesla T4|7.5|15360';

export type Step = string | { exec: string };

export interface StepResult {
  id: string;
  status: 'ok' | 'stopped' | 'error';
  message: string | null;
  output: string;
  seconds: number;
}

export interface LogEntry {
  kind: string;
  [field: string]: unknown;
}

export interface Shared {
  /** file:// URL of the stand-in GitHub repository */
  origin: string;
  /** file:// URL of the stand-in nodejs.org/dist */
  nodeDist: string;
}

/**
 * The repository as it is now (tracked and untracked files, not ignored ones) with the simulation's experiment:
 * tok-boy's layout (photos in data/tok-boy, not in the repository) on demo.yaml's tiny SDXL, trimmed so a
 * run takes well under a minute on this machine: 6 steps, two scenes × one seed, no checkpoint samples, no
 * control set.
 */
export async function makeShared(dir: string): Promise<Shared> {
  const origin = path.join(dir, 'origin');
  const files = (await execa('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: REPO })).stdout.split('\0').filter(Boolean);
  for (const file of files) {
    await mkdir(path.dirname(path.join(origin, file)), { recursive: true });
    await cp(path.join(REPO, file), path.join(origin, file), { verbatimSymlinks: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error; // deleted in the working tree, not yet in the index
    });
  }
  const demo = await readFile(path.join(REPO, 'experiments', 'demo.yaml'), 'utf8');
  await writeFile(path.join(origin, SIM_EXPERIMENT), trimmed(demo));
  const git = (args: string[]) => execa('git', args, { cwd: origin, env: { GIT_AUTHOR_NAME: 'sim', GIT_AUTHOR_EMAIL: 'sim@example.invalid', GIT_COMMITTER_NAME: 'sim', GIT_COMMITTER_EMAIL: 'sim@example.invalid' } });
  await git(['init', '-q', '-b', 'main']);
  await git(['add', '-A']);
  await git(['commit', '-q', '-m', 'the working tree under test']);
  return { origin: `file://${origin}`, nodeDist: `file://${await makeNodeDist(path.join(dir, 'nodejs-dist'))}` };
}

function trimmed(demo: string): string {
  const edits: [string, string][] = [
    ['name: demo\n', 'name: notebook-sim\n'],
    ['  dir: ../data/demo\n', '  dir: ../data/tok-boy\n'],
    ['  max_train_steps: 12\n', '  max_train_steps: 6\n'],
    ['  checkpointing_steps: 6 #', '  checkpointing_steps: 3 #'],
    ['  seeds: [11, 22]\n', '  seeds: [11]\n'],
    ['  checkpoints: [6]\n', '  checkpoints: []\n'],
    ['  control: true\n', '  control: false\n'],
  ];
  let text = demo;
  for (const [from, to] of edits) {
    if (!text.includes(from)) throw new Error(`experiments/demo.yaml changed: "${from.trim()}" is gone; update tests/notebook/sim/runtime.ts`);
    text = text.replace(from, to);
  }
  return text;
}

/** nodejs.org/dist's layout for one release line: SHASUMS256.txt and the linux tarball it names. */
async function makeNodeDist(dist: string): Promise<string> {
  const arch = process.arch === 'arm64' ? 'arm64' : 'x64';
  const name = `node-v24.0.0-linux-${arch}`;
  const bin = path.join(dist, 'build', name, 'bin');
  await mkdir(bin, { recursive: true });
  const node = process.execPath;
  const npm = path.join(path.dirname(node), 'npm');
  await writeFile(
    path.join(bin, 'node'),
    `#!/bin/sh\n# the notebook test's Node 24: says v24.0.0, runs this machine's Node\n[ "$1" = --version ] && { echo v24.0.0; exit 0; }\nexec ${node} "$@"\n`,
  );
  await writeFile(path.join(bin, 'npm'), `#!/bin/sh\nexec ${npm} "$@"\n`);
  await chmod(path.join(bin, 'node'), 0o755);
  await chmod(path.join(bin, 'npm'), 0o755);
  const line = path.join(dist, 'latest-v24.x');
  await mkdir(line, { recursive: true });
  const tarball = path.join(line, `${name}.tar.xz`);
  await execa('tar', ['-cJf', tarball, '-C', path.join(dist, 'build'), name]);
  const sha = createHash('sha256').update(await readFile(tarball)).digest('hex');
  await writeFile(path.join(line, 'SHASUMS256.txt'), `${'0'.repeat(64)}  node-v24.0.0-darwin-arm64.tar.gz\n${sha}  ${name}.tar.xz\n`);
  return dist;
}

export interface Runtime {
  platform: 'colab' | 'kaggle';
  root: string;
  /** /content of the simulated Colab, /kaggle of the simulated Kaggle (both exist; only one is the platform's) */
  content: string;
  kaggle: string;
  /** what is on Google Drive (MyDrive) */
  drive: string;
  nodePrefix: string;
  log: string;
}

export async function makeRuntime(root: string, platform: 'colab' | 'kaggle'): Promise<Runtime> {
  const runtime: Runtime = {
    platform,
    root,
    content: path.join(root, 'content'),
    kaggle: path.join(root, 'kaggle'),
    drive: path.join(root, 'drive-contents'),
    nodePrefix: path.join(root, 'usr-local'),
    log: path.join(root, 'fakes.jsonl'),
  };
  await mkdir(runtime.drive, { recursive: true });
  if (platform === 'colab') await mkdir(runtime.content, { recursive: true });
  else await mkdir(path.join(runtime.kaggle, 'working'), { recursive: true });
  await writeFile(runtime.log, '');
  return runtime;
}

export interface RunOptions {
  shared: Shared;
  /** each card as "name|compute capability|MiB"; none: a CPU runtime */
  gpus: string[];
  /** the Settings form as a user fills it in (HARNESS_GIT_URL defaults to the stand-in repository) */
  form?: Record<string, string | number | boolean>;
  secrets?: Record<string, string>;
  steps: Step[];
  env?: Record<string, string | undefined>;
  /** false: the GPU probe finds no nvidia-smi at all */
  nvidiaSmi?: boolean;
  timeoutMs?: number;
}

export interface RunResult {
  steps: StepResult[];
  log: LogEntry[];
  /** everything printed, in order */
  output: string;
  byId(id: string): StepResult;
}

/** Runs the notebook's cells (tests/notebook/sim/run_notebook.py) in the runtime; resolves when they stop. */
export async function runNotebook(runtime: Runtime, options: RunOptions): Promise<RunResult> {
  const stack = await realStack();
  const spec = path.join(runtime.root, `spec-${Date.now()}.json`);
  const result = path.join(runtime.root, `result-${Date.now()}.json`);
  const overrides = {
    COLAB_ROOT: runtime.content,
    KAGGLE_ROOT: runtime.kaggle,
    NODE_PREFIX: runtime.nodePrefix,
    NODE_DIST: options.shared.nodeDist,
    HARNESS_GIT_URL: options.shared.origin,
    ...options.form,
  };
  await writeFile(spec, JSON.stringify({ notebook: NOTEBOOK, fakes: path.join(HERE, 'fakes'), overrides, steps: options.steps, result }));
  const platformEnv =
    runtime.platform === 'kaggle'
      ? // Kaggle's image is built from Colab's: it has COLAB_RELEASE_TAG (and google.colab) as well
        { KAGGLE_KERNEL_RUN_TYPE: 'Interactive', KAGGLE_URL_BASE: 'https://www.kaggle.com', COLAB_RELEASE_TAG: 'release-colab_20260101-060000_RC00' }
      : { COLAB_RELEASE_TAG: 'release-colab_20260101-060000_RC00', KAGGLE_KERNEL_RUN_TYPE: undefined };
  const child = await execa('/usr/bin/python3', [path.join(HERE, 'run_notebook.py'), spec], {
    cwd: runtime.root,
    reject: false,
    timeout: options.timeoutMs ?? 300_000,
    env: {
      PATH: options.nvidiaSmi === false ? process.env.PATH : `${path.join(HERE, 'bin')}:${process.env.PATH}`,
      ...stack.env,
      HARNESS_PYTHON: stack.python,
      HARNESS_NOTEBOOK_EXPERIMENT: SIM_EXPERIMENT,
      HARNESS_NOTEBOOK_REQUIREMENTS: 'python/requirements-cpu.txt',
      HARNESS_STORE: undefined,
      WANDB_API_KEY: undefined,
      HF_TOKEN: undefined,
      NO_COLOR: '1',
      PYTHONUNBUFFERED: '1',
      NBSIM_PLATFORM: runtime.platform,
      NBSIM_GPUS: options.gpus.join(';'),
      NBSIM_SECRETS: JSON.stringify(options.secrets ?? {}),
      NBSIM_DRIVE: runtime.drive,
      NBSIM_LOG: runtime.log,
      ...platformEnv,
      ...options.env,
    },
  });
  let steps: StepResult[];
  try {
    steps = JSON.parse(await readFile(result, 'utf8')) as StepResult[];
  } catch {
    throw new Error(`the notebook runner wrote no result (exit ${child.exitCode}, timed out: ${child.timedOut}):\n${child.stderr.slice(-4000)}`);
  }
  const log = (await readFile(runtime.log, 'utf8')).split('\n').filter(Boolean).map((line) => JSON.parse(line) as LogEntry);
  return {
    steps,
    log,
    output: steps.map((s) => s.output).join(''),
    byId(id: string) {
      const found = steps.filter((s) => s.id === id);
      if (!found.length) throw new Error(`no step ${id} ran; steps: ${steps.map((s) => `${s.id}:${s.status}`).join(' ')}`);
      return found[found.length - 1]!;
    },
  };
}

/** A readable account of a run for an assertion message: each step's status, the failing one's message and tail. */
export function summary(result: RunResult): string {
  const last = result.steps[result.steps.length - 1];
  return `${result.steps.map((s) => `${s.id}:${s.status}(${s.seconds}s)`).join(' ')}\n${last?.message ?? ''}\n${last?.output.slice(-3000) ?? ''}`;
}
