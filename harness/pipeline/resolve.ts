// Which run, trained by which script, from which model folders: everything `harness run` and
// `harness sweep` decide before a process starts. One-off changes (--set, --script, a sweep agent's
// parameter file) are folded into the run id, so the id always says what was really trained.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { TrainingSettings } from '../config/schema.ts';
import { planInputs, type PlanContext } from '../commands/context.ts';
import { UsageError } from '../errors.ts';
import { expandVariants } from '../plan/expand.ts';
import { runFromParams, type RunParams } from '../plan/params.ts';
import { planExperiment, planRun, snapshotPath, trainerArgv, type RunSpec } from '../plan/planner.ts';
import { runLayout } from '../store/layout.ts';
import { findCachedScript, localScript, mirrorScript, type ScriptFile, type ScriptPin } from '../train/script.ts';
import { didYouMean } from '../util/suggest.ts';

/** How a run is named on the command line: exactly one of these. */
export type RunSelector = { variant: string } | { index: number } | { paramsFile: string };

export async function resolveScript(options: { script?: string; cwd: string; env: NodeJS.ProcessEnv; experimentArg: string }, pin: ScriptPin): Promise<ScriptFile> {
  if (options.script) return localScript(options.script, options.cwd, pin);
  const cached = (await findCachedScript(options.env, pin)) ?? (await mirrorScript(options.env, pin));
  if (cached) return cached;
  throw new UsageError(
    `the pinned diffusers script (${pin.script} at ${pin.commit.slice(0, 12)}) is not in the cache`,
    `run \`harness setup ${options.experimentArg}\` (downloads and verifies it), or pass --script FILE`,
  );
}

export interface SelectOptions {
  selector: RunSelector;
  sets?: TrainingSettings;
  /** local model folders: they change where the weights come from, not which weights (the id stays) */
  model?: string;
  vae?: string;
  cwd: string;
}

export async function selectRun(context: PlanContext, script: ScriptFile, options: SelectOptions): Promise<RunSpec> {
  const inputs = planInputs(context, script);
  const plan = planExperiment(inputs);
  const { selector } = options;
  let spec: RunSpec;
  if ('paramsFile' in selector) {
    spec = runFromParams(inputs, plan, await readParams(selector.paramsFile, options.cwd), selector.paramsFile);
  } else if ('index' in selector) {
    const run = plan.runs[selector.index];
    if (!run) throw new UsageError(`--index ${selector.index}: the experiment plans ${plan.runs.length} runs (0-${plan.runs.length - 1})`, 'see `harness plan` for the order');
    spec = run;
  } else {
    const variants = expandVariants(inputs.config);
    const variant = variants.find((v) => v.name === selector.variant);
    if (!variant) {
      throw new UsageError(
        `no variant "${selector.variant}" in ${context.experiment.file}${didYouMean(selector.variant, variants.map((v) => v.name))}`,
        `variants: ${variants.map((v) => v.name).join(', ')}`,
      );
    }
    spec = planRun(inputs, variant);
  }
  if (options.sets && Object.keys(options.sets).length > 0) {
    const variant = expandVariants(inputs.config).find((v) => v.name === spec.variant) ?? { name: spec.variant, origin: ['set'], overrides: spec.overrides };
    spec = planRun(inputs, { ...variant, overrides: { ...spec.overrides, ...options.sets } });
  }
  return withModelFolders(context, spec, options);
}

/** --model/--vae local folders change where the weights come from, not which weights: the id stays. */
export function withModelFolders(context: PlanContext, spec: RunSpec, options: Pick<SelectOptions, 'model' | 'vae' | 'cwd'>): RunSpec {
  if (!options.model && !options.vae) return spec;
  const layout = runLayout(context.storeRoot, spec.experiment, spec.id);
  return {
    ...spec,
    argv: trainerArgv({
      settings: spec.settings,
      model: options.model ? path.resolve(options.cwd, options.model) : snapshotPath(context.hubCache, spec.provenance.model),
      vae: options.vae ? path.resolve(options.cwd, options.vae) : snapshotPath(context.hubCache, spec.provenance.vae),
      datasetDir: context.datasetDir,
      instancePrompt: context.experiment.config.dataset.instance_prompt,
      outputDir: layout.output,
      datasetsCache: layout.datasetsCache,
    }),
  };
}

async function readParams(file: string, cwd: string): Promise<RunParams> {
  let text: string;
  try {
    text = await readFile(path.resolve(cwd, file), 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read the parameter file ${file}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UsageError(`${file} is not JSON`, 'a W&B agent writes it through ${args_json_file}: {"learning_rate": 0.0001, "rank": 16}');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new UsageError(`${file}: expected a JSON object of settings`);
  return value as RunParams;
}
