// The Python environment the harness makes and uses itself: a virtual environment built with pip from one of
// python/requirements-*.txt, under $XDG_CACHE_HOME/harness/python/<name>-<hash>/, reused for as long as the
// requirements file, the shim and the base interpreter are unchanged (the hash is over all three). An
// experiment asks for one with `python.requirements`; --python and $HARNESS_PYTHON still pick any other.
//
// The folder is complete only once its `.harness-ready` marker exists (written last); a half-built one (a
// killed pip) is removed and built again. Builds of the same environment by two processes take turns under
// a lock file, so a sweep and a test run starting together do not install into one folder at once.
import { copyFile, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { lookup } from 'node:dns/promises';
import path from 'node:path';
import { HarnessError, RemoteError } from '../errors.ts';
import { runCapture } from '../runner/process.ts';
import { runLineChild } from '../runner/lines.ts';
import { tryLock } from '../store/lock.ts';
import { harnessCacheDir, mirrorFolders } from '../train/script.ts';
import { PYTHON_DIR, REPO_ROOT } from '../train/envinfo.ts';
import { sha256 } from '../util/hash.ts';

const READY = '.harness-ready';
/** What a new environment must import before it is marked ready, unless the caller names other modules. */
export const TRAINING_IMPORTS = ['torch', 'torchvision.transforms', 'diffusers', 'transformers', 'accelerate', 'peft', 'datasets'] as const;
const SHIM = path.join(PYTHON_DIR, 'envshim', 'harness_torchvision_ops.py');

export interface ManagedEnvProgress {
  /** 'create' (venv), 'install' (pip, one line per package), 'verify', 'ready' */
  phase: 'create' | 'install' | 'verify' | 'ready';
  message: string;
}

export interface ManagedEnvOptions {
  /** absolute path of a requirements file */
  requirements: string;
  env: NodeJS.ProcessEnv;
  onProgress?: (progress: ManagedEnvProgress) => void;
  /** the interpreter that makes the venv (default: $HARNESS_BASE_PYTHON or python3) */
  basePython?: string;
  signal?: AbortSignal;
  /** modules the new environment must import (default: TRAINING_IMPORTS, the training stack) */
  imports?: readonly string[];
}

export interface ManagedEnv {
  dir: string;
  python: string;
  /** false: it was already there */
  built: boolean;
  seconds: number;
}

/**
 * Where pip finds what the package index lacks: $HARNESS_WHEELS (a folder of wheels), else the pinned upstream
 * mirror beside the checkout (../shared/mirror, which holds diffusers 0.40.0 for machines without internet).
 * Never a folder inside the project: upstream code is not vendored.
 */
export async function wheelFolders(env: NodeJS.ProcessEnv): Promise<string[]> {
  const wheels = env.HARNESS_WHEELS && (await isDir(env.HARNESS_WHEELS)) ? [path.resolve(env.HARNESS_WHEELS)] : [];
  return [...new Set([...wheels, ...(await mirrorFolders(env))])];
}

/** The folder an environment for these requirements lives in (nothing is created). */
export async function managedEnvDir(options: Pick<ManagedEnvOptions, 'requirements' | 'env' | 'basePython'>): Promise<string> {
  const requirements = await readRequirements(options.requirements);
  const shim = await readFile(SHIM, 'utf8');
  const base = options.basePython ?? basePython(options.env);
  const version = await runCapture(base, ['-c', 'import sys; print(sys.version)'], { cwd: REPO_ROOT, baseEnv: options.env, timeoutMs: 30_000 });
  if (version.failure || version.exitCode !== 0) {
    throw new HarnessError(`cannot run ${base} to make the Python environment: ${version.failure ?? version.stderr.trim().split('\n').pop()}`, {
      exitCode: 2,
      hint: 'install Python ≥ 3.10 with its venv module (Debian: apt-get install python3-venv), or set HARNESS_BASE_PYTHON',
    });
  }
  const name = path.basename(options.requirements).replace(/^requirements-/, '').replace(/\.txt$/, '');
  const key = sha256(`${requirements}\0${shim}\0${version.stdout.trim()}`).slice(0, 12);
  return path.join(harnessCacheDir(options.env), 'python', `${name}-${key}`);
}

export function venvPython(dir: string): string {
  return path.join(dir, 'bin', 'python');
}

/** The environment's interpreter if the environment is complete, else undefined (nothing is built). */
export async function findManagedEnv(options: Pick<ManagedEnvOptions, 'requirements' | 'env' | 'basePython'>): Promise<string | undefined> {
  const dir = await managedEnvDir(options);
  return (await isFile(path.join(dir, READY))) ? venvPython(dir) : undefined;
}

/** Makes the environment unless it is complete already; returns its interpreter. */
export async function ensureManagedEnv(options: ManagedEnvOptions): Promise<ManagedEnv> {
  const started = Date.now();
  const dir = await managedEnvDir(options);
  const progress = options.onProgress ?? (() => {});
  if (await isFile(path.join(dir, READY))) return { dir, python: venvPython(dir), built: false, seconds: 0 };
  await mkdir(path.dirname(dir), { recursive: true });
  const lockFile = `${dir}.lock`;
  for (;;) {
    const lock = await tryLock(lockFile, { purpose: 'python-env' });
    if ('release' in lock) {
      try {
        if (await isFile(path.join(dir, READY))) return { dir, python: venvPython(dir), built: false, seconds: (Date.now() - started) / 1000 };
        await build(dir, options, progress);
        return { dir, python: venvPython(dir), built: true, seconds: (Date.now() - started) / 1000 };
      } finally {
        await lock.release();
      }
    }
    progress({ phase: 'create', message: `waiting for pid ${lock.heldBy.pid}, which is making ${dir}` });
    await new Promise((resolve) => setTimeout(resolve, 2000));
    if (options.signal?.aborted) throw new HarnessError('interrupted while waiting for the Python environment', { exitCode: 130 });
  }
}

async function build(dir: string, options: ManagedEnvOptions, progress: (p: ManagedEnvProgress) => void): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  const base = options.basePython ?? basePython(options.env);
  progress({ phase: 'create', message: `making a Python environment in ${dir}` });
  const venv = await runCapture(base, ['-m', 'venv', dir], { cwd: REPO_ROOT, baseEnv: options.env, timeoutMs: 180_000 });
  if (venv.failure || venv.exitCode !== 0) {
    await rm(dir, { recursive: true, force: true });
    throw new HarnessError(`${base} -m venv failed: ${venv.failure ?? lastLines(venv.stderr + venv.stdout, 3)}`, {
      exitCode: 2,
      hint: 'install the venv module (Debian/Ubuntu: apt-get install python3-venv), or set HARNESS_BASE_PYTHON to a Python ≥ 3.10 that has it',
    });
  }
  const python = venvPython(dir);
  const args = await pipArgs(options);
  progress({ phase: 'install', message: `pip install -r ${path.relative(REPO_ROOT, options.requirements)}${args.offline ? ' (no network: local package sources only)' : ''}` });
  const output: string[] = [];
  let collected = 0;
  let lastSaid = 0;
  const pip = await runLineChild({
    command: { file: python, args: args.argv, cwd: REPO_ROOT, env: { PIP_DISABLE_PIP_VERSION_CHECK: '1', PYTHONUNBUFFERED: '1' } },
    baseEnv: options.env,
    ownGroup: true,
    stderr: 'capture',
    ...(options.signal ? { signal: options.signal } : {}),
    onLine: (line) => {
      output.push(line);
      const text = line.trim();
      if (/^(Collecting|Processing) /.test(text)) {
        collected += 1;
        // one line every 5 s at most while pip gathers packages, then each phase once
        if (Date.now() - lastSaid > 5000) {
          lastSaid = Date.now();
          progress({ phase: 'install', message: `pip: ${collected} packages gathered (${text.split(' ')[1]?.split('/').pop()?.slice(0, 60)})` });
        }
      } else if (text.startsWith('Installing collected packages:')) {
        progress({ phase: 'install', message: `pip: installing ${text.split(':')[1]!.split(',').length} packages` });
      } else if (text.startsWith('Successfully installed')) {
        progress({ phase: 'install', message: `pip: installed ${text.split(' ').length - 2} packages` });
      }
    },
  });
  if (pip.aborted) {
    await rm(dir, { recursive: true, force: true });
    throw new HarnessError('interrupted while installing the Python environment (nothing kept; it is made again next time)', { exitCode: 130 });
  }
  if (pip.exitCode !== 0) {
    await rm(dir, { recursive: true, force: true });
    throw pipFailure(`${output.join('\n')}\n${pip.stderr}`, options.requirements, args.offline);
  }
  await installShim(python, options.env);
  progress({ phase: 'verify', message: 'checking the environment (pip check, imports)' });
  const check = await runCapture(python, ['-m', 'pip', 'check'], { cwd: REPO_ROOT, baseEnv: options.env, timeoutMs: 120_000 });
  if (check.exitCode !== 0) {
    await rm(dir, { recursive: true, force: true });
    throw new HarnessError(`pip check found broken requirements in the new environment:\n${lastLines(check.stdout + check.stderr, 10)}`, {
      exitCode: 2,
      hint: `the pins of ${path.relative(REPO_ROOT, options.requirements)} do not fit together; fix the file`,
    });
  }
  const modules = options.imports ?? TRAINING_IMPORTS;
  const imports = await runCapture(python, ['-c', IMPORT_CHECK, ...modules], {
    cwd: REPO_ROOT,
    baseEnv: options.env,
    timeoutMs: 300_000,
  });
  if (imports.exitCode !== 0) {
    await rm(dir, { recursive: true, force: true });
    throw new HarnessError(`the new environment cannot import ${modules.join(', ')}:\n${lastLines(imports.stderr, 6)}`, { exitCode: 2 });
  }
  await writeFile(path.join(dir, READY), `${new Date().toISOString()}\n`);
  const torch = imports.stdout.trim();
  progress({ phase: 'ready', message: `Python environment ready: ${python}${torch ? ` (torch ${torch})` : ''}` });
}

/** Imports each module named in argv; prints torch's version when torch is among them. */
const IMPORT_CHECK = 'import importlib, sys\nfor name in sys.argv[1:]: importlib.import_module(name)\nprint(sys.modules["torch"].__version__ if "torch" in sys.modules else "")';

/** pip's arguments; without network (no DNS answer for the index) pip must not retry each package 5 times. */
async function pipArgs(options: ManagedEnvOptions): Promise<{ argv: string[]; offline: boolean }> {
  const argv = ['-m', 'pip', 'install', '--no-input', '--progress-bar', 'off', '-r', options.requirements];
  for (const dir of await wheelFolders(options.env)) argv.push('--find-links', dir);
  const offline = !(await reachable('pypi.org'));
  if (offline) argv.push('--retries', '0', '--timeout', '5');
  return { argv, offline };
}

async function reachable(host: string): Promise<boolean> {
  const timeout = new Promise<false>((resolve) => setTimeout(() => resolve(false), 3000).unref());
  return Promise.race([lookup(host).then(() => true, () => false), timeout]);
}

/** The .pth line imports the shim at start-up; the shim itself only acts right before torchvision loads. */
async function installShim(python: string, env: NodeJS.ProcessEnv): Promise<void> {
  const where = await runCapture(python, ['-c', "import sysconfig; print(sysconfig.get_paths()['purelib'])"], { cwd: REPO_ROOT, baseEnv: env });
  const site = where.stdout.trim();
  await copyFile(SHIM, path.join(site, path.basename(SHIM)));
  await writeFile(path.join(site, 'harness-torchvision-ops.pth'), 'import harness_torchvision_ops\n');
}

/** pip's own words on a package it could not get, as the next step for the user. */
export function pipFailure(output: string, requirements: string, offline: boolean): HarnessError {
  const missing = [...output.matchAll(/No matching distribution found for ([^\s]+)/g)].map((m) => m[1]);
  const file = path.relative(REPO_ROOT, requirements);
  if (missing.length) {
    const names = [...new Set(missing)].join(', ');
    return new RemoteError(`pip could not get ${names} (from ${file})`, {
      hint: offline
        ? `this machine reaches no package index: put the wheel(s) of ${names} in a folder and set HARNESS_WHEELS=<folder> (or PIP_FIND_LINKS), then run the command again`
        : `check that the index serves ${names} for Python on this platform (pip index versions NAME), or put the wheel in a folder and set HARNESS_WHEELS=<folder>`,
    });
  }
  return new HarnessError(`pip install -r ${file} failed:\n${lastLines(output, 12)}`, { exitCode: 2, hint: 'the lines above are pip\'s; fix what they name and run the command again' });
}

export function basePython(env: NodeJS.ProcessEnv): string {
  return env.HARNESS_BASE_PYTHON || 'python3';
}

async function readRequirements(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    throw new HarnessError(`requirements file not found: ${file}`, { exitCode: 2, hint: 'python.requirements in the experiment file is relative to the experiment file' });
  }
}

function lastLines(text: string, n: number): string {
  return text.trim().split('\n').slice(-n).join('\n');
}

async function isFile(file: string): Promise<boolean> {
  return stat(file).then((s) => s.isFile(), () => false);
}

async function isDir(dir: string): Promise<boolean> {
  return stat(dir).then((s) => s.isDirectory(), () => false);
}

