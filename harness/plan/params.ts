// A run from a parameter file (what a W&B sweep agent passes through ${args_json_file}): the baseline plus
// those values. It resolves to the same run id as the equivalent variant or grid point.
import { FLAGS } from '../config/flags.ts';
import type { TrainingSettings } from '../config/schema.ts';
import { trainingSettings } from '../config/schema.ts';
import { ConfigError, type Problem } from '../errors.ts';
import { didYouMean } from '../util/suggest.ts';
import { BASELINE, expandVariants, gridName } from './expand.ts';
import { planRun, runHash, type Plan, type PlanInputs, type RunSpec } from './planner.ts';

/** `variant` names a run of the experiment; every other key overrides a training setting. */
export interface RunParams {
  variant?: string;
  [setting: string]: unknown;
}

export function runFromParams(inputs: PlanInputs, plan: Plan, params: RunParams, file = 'params.json'): RunSpec {
  const { variant, ...settings } = params;
  const problems: Problem[] = [];
  const names = expandVariants(inputs.config).map((v) => v.name);
  if (variant !== undefined && (typeof variant !== 'string' || !names.includes(variant))) {
    problems.push({ file, key: 'variant', message: `no run named ${JSON.stringify(variant)}${didYouMean(String(variant), names)}` });
  }
  for (const key of Object.keys(settings)) {
    const info = FLAGS[key];
    if (!info) problems.push({ file, key, message: `unknown training setting${didYouMean(key, Object.keys(FLAGS))}` });
    else if (info.managed) problems.push({ file, key, message: `is set by the harness: ${info.managed}` });
  }
  const parsed = trainingSettings.safeParse(settings);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (issue.code !== 'unrecognized_keys') problems.push({ file, key: issue.path.join('.'), message: issue.message });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const base = expandVariants(inputs.config).find((v) => v.name === (variant ?? BASELINE))!;
  const overrides: TrainingSettings = { ...base.overrides, ...(parsed.data as TrainingSettings) };
  const candidate = planRun(inputs, { name: variant ?? BASELINE, origin: ['params'], overrides });
  // The same training under any name is the same run: reuse the planned run's name and id.
  const twin = plan.runs.find((run) => run.hash === runHash(candidate.settings, candidate.provenance));
  if (twin) return twin;
  if (Object.keys(settings).length === 0) return candidate;
  const sorted = Object.fromEntries(Object.entries(parsed.data as TrainingSettings).sort(([a], [b]) => (a < b ? -1 : 1)));
  return planRun(inputs, { name: gridName(sorted).replace(/^grid-/, 'sweep-'), origin: ['params'], overrides });
}
