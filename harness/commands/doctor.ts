// `harness doctor [experiment]`: the environment and GPU check, without downloading anything.
import type { TrainingSettings } from '../config/schema.ts';
import { loadExperiment } from '../config/load.ts';
import { variantSettings } from '../plan/expand.ts';
import { ALWAYS_EXPLICIT } from '../config/flags.ts';
import { SCHEMA_VERSION } from '../store/layout.ts';
import { envCheck, type EnvCheck } from '../train/envcheck.ts';
import { defaultPython, probeEnv } from '../train/envinfo.ts';
import { cachedScriptPath, findCachedScript } from '../train/script.ts';
import { findManagedEnv } from '../pyenv/managed.ts';

export interface DoctorOptions {
  experiment?: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  python?: string;
}

export interface DoctorResult {
  schemaVersion: number;
  ok: boolean;
  node: string;
  experiment: string | null;
  script: { cached: boolean; path: string } | null;
  environment: EnvCheck;
}

export async function doctor(options: DoctorOptions): Promise<DoctorResult> {
  let settingsList: TrainingSettings[] = [{ ...ALWAYS_EXPLICIT }];
  let release: string | null = null;
  let script: DoctorResult['script'] = null;
  let name: string | null = null;
  let python = options.python ?? options.env.HARNESS_PYTHON;
  if (options.experiment) {
    const experiment = await loadExperiment(options.experiment, options.cwd);
    const { config } = experiment;
    name = experiment.name;
    release = config.base.diffusers.release;
    settingsList = variantSettings(config).map((v) => v.settings);
    const cached = await findCachedScript(options.env, config.base.diffusers);
    script = { cached: cached !== undefined, path: cachedScriptPath(options.env, config.base.diffusers) };
    // the experiment's own environment when it has been made (doctor downloads and builds nothing)
    if (!python && experiment.pythonRequirements) python = await findManagedEnv({ requirements: experiment.pythonRequirements, env: options.env });
  }
  const probe = await probeEnv(python ?? defaultPython(options.env), { cwd: options.cwd, env: options.env });
  const environment = envCheck(probe, settingsList, release);
  return {
    schemaVersion: SCHEMA_VERSION,
    ok: environment.ok && (script?.cached ?? true),
    node: process.version,
    experiment: name,
    script,
    environment,
  };
}
