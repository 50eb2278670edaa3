// What `sweep`, `run`, `sample` and `setup` make sure of before any run folder exists: which Python trains and
// samples (--python, $HARNESS_PYTHON, the environment the experiment asks the harness to make, or python3),
// the models the harness builds itself, and the device (a GPU when torch sees one, unless --device says).
// Each step does nothing when its result is already there, so a second sweep starts at once.
import type { Experiment } from '../config/load.ts';
import { ensureBuiltModels } from '../models/built.ts';
import { ensureManagedEnv, type ManagedEnvProgress } from '../pyenv/managed.ts';
import { defaultDevice, defaultPython, probeEnv, type EnvProbe } from '../train/envinfo.ts';

export interface PrepareOptions {
  experiment: Experiment;
  hubCache: string;
  env: NodeJS.ProcessEnv;
  /** --python */
  python?: string | undefined;
  onProgress?: (message: string) => void;
  signal?: AbortSignal;
}

/** --python, then $HARNESS_PYTHON, then the experiment's own environment (made if missing), then python3. */
export async function resolvePython(options: PrepareOptions): Promise<string> {
  if (options.python) return options.python;
  if (options.env.HARNESS_PYTHON) return options.env.HARNESS_PYTHON;
  const requirements = options.experiment.pythonRequirements;
  if (!requirements) return defaultPython(options.env);
  const managed = await ensureManagedEnv({
    requirements,
    env: options.env,
    onProgress: (p: ManagedEnvProgress) => options.onProgress?.(p.message),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return managed.python;
}

/** The Python (resolvePython) with the models the harness builds in place; cheap when both exist already. */
export async function prepareMachine(options: PrepareOptions): Promise<{ python: string }> {
  const python = await resolvePython(options);
  await ensureBuiltModels({
    config: options.experiment.config,
    hubCache: options.hubCache,
    python,
    env: options.env,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  return { python };
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
  const { python } = await prepareMachine({
    experiment: context.experiment,
    hubCache: context.hubCache,
    env: options.env,
    python: options.python,
    onProgress: say,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (options.device) return { python, device: options.device, probe: null };
  // the probe is handed on: the up-front check reads the same facts, and each probe imports torch
  const probe = await probeEnv(python, { cwd: options.cwd, env: options.env });
  return { python, device: defaultDevice(probe), probe };
}
