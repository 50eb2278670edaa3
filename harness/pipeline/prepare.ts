// What `sweep`, `run`, `sample` and `setup` make sure of before any run folder exists: which Python trains and
// samples (--python, $HARNESS_PYTHON, the environment the experiment asks the harness to make, or python3),
// the models the harness builds itself, and the device (a GPU when torch sees one, unless --device says).
// Each step does nothing when its result is already there, so a second sweep starts at once.
import type { Experiment } from '../config/load.ts';
import { ensureBuiltModels, type BuiltModel } from '../models/built.ts';
import { ensureManagedEnv, type ManagedEnvProgress } from '../pyenv/managed.ts';
import { defaultDevice, defaultPython, probeEnv, type EnvProbe } from '../train/envinfo.ts';

export type PythonSource = '--python' | 'HARNESS_PYTHON' | 'python.requirements' | 'python3';

export interface ResolvedPython {
  python: string;
  source: PythonSource;
  /** the managed environment was made by this call */
  built: boolean;
}

export interface PrepareOptions {
  experiment: Experiment;
  hubCache: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** --python */
  python?: string | undefined;
  onProgress?: (message: string) => void;
  signal?: AbortSignal;
}

/** --python, then $HARNESS_PYTHON, then the experiment's own environment (made if missing), then python3. */
export async function resolvePython(options: PrepareOptions): Promise<ResolvedPython> {
  if (options.python) return { python: options.python, source: '--python', built: false };
  if (options.env.HARNESS_PYTHON) return { python: options.env.HARNESS_PYTHON, source: 'HARNESS_PYTHON', built: false };
  const requirements = options.experiment.pythonRequirements;
  if (!requirements) return { python: defaultPython(options.env), source: 'python3', built: false };
  const managed = await ensureManagedEnv({
    requirements,
    env: options.env,
    onProgress: (p: ManagedEnvProgress) => options.onProgress?.(p.message),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return { python: managed.python, source: 'python.requirements', built: managed.built };
}

export interface Prepared {
  python: ResolvedPython;
  models: BuiltModel[];
}

/** The Python and the built models; cheap when both exist already. */
export async function prepareMachine(options: PrepareOptions): Promise<Prepared> {
  const python = await resolvePython(options);
  const models = await ensureBuiltModels({
    config: options.experiment.config,
    hubCache: options.hubCache,
    python: python.python,
    env: options.env,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  return { python, models };
}

export async function probeDevice(python: string, options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<{ probe: EnvProbe; device: 'cuda' | 'cpu' }> {
  const probe = await probeEnv(python, options);
  return { probe, device: defaultDevice(probe) };
}

/**
 * For `sweep` and `run`: the Python (made if the experiment asks for its own), the built models, and the
 * device: --device, else what the machine has (one probe of the Python, returned for the up-front check;
 * null when --device made it unnecessary). Progress lines go to `say`.
 */
export async function prepareForRuns(
  context: { experiment: Experiment; hubCache: string },
  options: { python?: string | undefined; device?: 'cuda' | 'cpu' | undefined; cwd: string; env: NodeJS.ProcessEnv; signal?: AbortSignal | undefined },
  say: (message: string) => void,
): Promise<{ python: string; device: 'cuda' | 'cpu'; probe: EnvProbe | null }> {
  const prepared = await prepareMachine({
    experiment: context.experiment,
    hubCache: context.hubCache,
    cwd: options.cwd,
    env: options.env,
    python: options.python,
    onProgress: say,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const python = prepared.python.python;
  if (options.device) return { python, device: options.device, probe: null };
  // the probe is handed on: the up-front check reads the same facts, and each probe imports torch
  const { probe, device } = await probeDevice(python, { cwd: options.cwd, env: options.env });
  return { python, device, probe };
}
