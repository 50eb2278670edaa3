// `harness run <experiment> --variant <name>`: one run, as far as training goes. Re-plans the run with the
// user's one-off changes (--set, --script) so its id says what was really trained, then hands it to
// trainRun, which `harness sweep` calls per run the same way.
import path from 'node:path';
import { FLAGS } from '../config/flags.ts';
import { trainingSettings, type TrainingSettings } from '../config/schema.ts';
import { UsageError } from '../errors.ts';
import { expandVariants } from '../plan/expand.ts';
import { planRun, snapshotPath, trainerArgv, type RunSpec } from '../plan/planner.ts';
import type { Launcher } from '../runner/command.ts';
import { runLayout } from '../store/layout.ts';
import { didYouMean } from '../util/suggest.ts';
import { defaultPython } from '../train/envinfo.ts';
import type { TrainReporter } from '../train/progress.ts';
import { DEFAULT_TRAIN_OPTIONS, trainRun, type TrainResult } from '../train/run.ts';
import { findCachedScript, localScript, type ScriptFile, type ScriptPin } from '../train/script.ts';
import { loadPlanContext, requireDataset, type ContextOptions, type PlanContext } from './context.ts';

export interface RunCommandOptions extends ContextOptions {
  variant: string;
  model?: string;
  vae?: string;
  script?: string;
  python?: string;
  launcher?: Launcher;
  numProcesses?: number;
  /** `key=value` one-off training settings */
  set?: string[];
  /** false: skip the environment and GPU checks */
  preflight?: boolean;
  finalReload?: boolean;
  reporter?: TrainReporter;
  signal?: AbortSignal;
}

export interface RunCommandResult extends TrainResult {
  experiment: string;
  overrides: TrainingSettings;
  script: { path: string; sha256: string; pinned: boolean };
}

export async function run(options: RunCommandOptions): Promise<RunCommandResult> {
  const context = await loadPlanContext(options);
  requireDataset(context);
  const sets = parseSetOverrides(options.set ?? []);
  const pin: ScriptPin = context.experiment.config.base.diffusers;
  const script = await resolveScript(options, pin);
  const spec = replan(context, options, sets, script);
  const result = await trainRun({
    context: {
      experiment: context.experiment,
      storeRoot: context.storeRoot,
      hubCache: context.hubCache,
      datasetDir: context.datasetDir,
      cwd: options.cwd,
      env: options.env,
    },
    run: spec,
    options: {
      ...DEFAULT_TRAIN_OPTIONS,
      python: options.python ?? defaultPython(options.env),
      launcher: options.launcher ?? DEFAULT_TRAIN_OPTIONS.launcher,
      numProcesses: options.numProcesses ?? 1,
      script,
      preflight: options.preflight ?? true,
      finalReload: options.finalReload ?? false,
      ...(options.env.HARNESS_KILL_GRACE_MS ? { killGraceMs: Number(options.env.HARNESS_KILL_GRACE_MS) } : {}),
    },
    ...(options.reporter ? { reporter: options.reporter } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return { ...result, experiment: context.experiment.name, overrides: spec.overrides, script: { path: script.path, sha256: script.sha256, pinned: script.pinned } };
}

async function resolveScript(options: RunCommandOptions, pin: ScriptPin): Promise<ScriptFile> {
  if (options.script) return localScript(options.script, options.cwd, pin);
  const cached = await findCachedScript(options.env, pin);
  if (cached) return cached;
  throw new UsageError(
    `the pinned diffusers script (${pin.script} at ${pin.commit.slice(0, 12)}) is not in the cache`,
    `run \`harness setup ${options.experiment}\` (downloads and verifies it), or pass --script FILE`,
  );
}

/** The run as planned, with --set overrides and the script actually used folded into its id. */
function replan(context: PlanContext, options: RunCommandOptions, sets: TrainingSettings, script: ScriptFile): RunSpec {
  const { experiment } = context;
  const variants = expandVariants(experiment.config);
  const planned = context.plan.runs.find((r) => r.variant === options.variant || r.aliases.includes(options.variant));
  const variant = variants.find((v) => v.name === options.variant);
  if (!planned || !variant) {
    throw new UsageError(
      `no variant "${options.variant}" in ${experiment.file}${didYouMean(options.variant, variants.map((v) => v.name))}`,
      `variants: ${variants.map((v) => v.name).join(', ')}`,
    );
  }
  const config = { ...experiment.config, base: { ...experiment.config.base, diffusers: { ...experiment.config.base.diffusers, sha256: script.sha256 } } };
  const inputs = {
    config,
    dataset: { dir: context.datasetDir, hash: context.dataset?.hash ?? null, imageCount: context.dataset?.imageCount ?? null },
    storeRoot: context.storeRoot,
    hubCache: context.hubCache,
  };
  const spec = planRun(inputs, { ...variant, overrides: { ...variant.overrides, ...sets } });
  if (!options.model && !options.vae) return spec;
  const layout = runLayout(context.storeRoot, spec.experiment, spec.id);
  // Local folders change where the weights come from, not which weights: the id keeps the pinned commits.
  return {
    ...spec,
    argv: trainerArgv({
      settings: spec.settings,
      model: options.model ? path.resolve(options.cwd, options.model) : snapshotPath(context.hubCache, spec.provenance.model),
      vae: options.vae ? path.resolve(options.cwd, options.vae) : snapshotPath(context.hubCache, spec.provenance.vae),
      datasetDir: context.datasetDir,
      instancePrompt: experiment.config.dataset.instance_prompt,
      outputDir: layout.output,
      datasetsCache: layout.datasetsCache,
    }),
  };
}

/** `--set key=value` → typed settings, validated like the experiment file's baseline. */
export function parseSetOverrides(pairs: string[]): TrainingSettings {
  const out: TrainingSettings = {};
  const problems: string[] = [];
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      problems.push(`--set ${pair}: expected key=value, e.g. --set learning_rate=5e-5`);
      continue;
    }
    const key = pair.slice(0, eq).trim();
    const raw = pair.slice(eq + 1).trim();
    const info = FLAGS[key];
    if (!info) {
      problems.push(`--set ${key}: unknown training setting${didYouMean(key, Object.keys(FLAGS).filter((k) => !FLAGS[k]!.managed))}`);
      continue;
    }
    if (info.managed) {
      problems.push(`--set ${key}: set by the harness, not by hand: ${info.managed}`);
      continue;
    }
    out[key] = info.type === 'bool' ? parseBool(raw) : info.type === 'int' || info.type === 'float' ? Number(raw) : raw;
  }
  const parsed = trainingSettings.safeParse(out);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`--set ${issue.path.join('.')}=${String(out[String(issue.path[0])])}: ${issue.message}`);
  }
  if (problems.length) throw new UsageError(problems.join('\n'), 'settings are the diffusers flags without dashes; see `harness plan --help`');
  return out;
}

function parseBool(raw: string): boolean | string {
  if (/^(true|yes|1|on)$/i.test(raw)) return true;
  if (/^(false|no|0|off)$/i.test(raw)) return false;
  return raw; // left for the schema to refuse with its own message
}
