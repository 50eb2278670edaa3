// Named rules that the shape cannot express. Each returns problems with a key path; the loader adds lines.
import { BASELINE, expandVariants, variantSettings } from '../plan/expand.ts';
import { didYouMean } from '../util/suggest.ts';
import { FLAGS, SETTABLE_FLAGS } from './flags.ts';
import type { ExperimentFile, TrainingSettings } from './schema.ts';

export interface RuleProblem {
  path: (string | number)[];
  message: string;
  atKey?: boolean;
}

type Rule = (config: ExperimentFile) => { errors?: RuleProblem[]; warnings?: RuleProblem[] };

/** Every resolved run's settings, with the key path of the variant (for messages). */
function eachRun(config: ExperimentFile): { name: string; path: (string | number)[]; settings: TrainingSettings }[] {
  return variantSettings(config).map((v) => ({ name: v.name, path: [...v.origin], settings: v.settings }));
}

function settingPath(run: { path: (string | number)[] }, key: string, config: ExperimentFile): (string | number)[] {
  const own = run.path[0] === 'variants' && key in ((config.variants[run.path[1] as string] ?? {}) as object);
  if (own) return [...run.path, key];
  if (run.path[0] === 'grid' && config.grid && key in config.grid) return ['grid', key];
  return ['baseline', key];
}

const resolutionMultipleOf8: Rule = (config) => ({
  errors: eachRun(config)
    .filter((run) => Number(run.settings.resolution) % 8 !== 0)
    .map((run) => ({
      path: settingPath(run, 'resolution', config),
      message: `must be a multiple of 8 (SDXL's VAE downsamples by 8), got ${run.settings.resolution}`,
    })),
});

const gridAxesAreSettings: Rule = (config) => {
  const errors: RuleProblem[] = [];
  for (const [key, values] of Object.entries(config.grid ?? {})) {
    const info = FLAGS[key];
    if (!info || info.managed) {
      errors.push({ path: ['grid', key], atKey: true, message: info ? `is set by the harness: ${info.managed}` : `unknown training setting${didYouMean(key, SETTABLE_FLAGS)}` });
      continue;
    }
    values.forEach((value, i) => {
      const ok = info.type === 'bool' ? typeof value === 'boolean' : info.type === 'str' ? typeof value === 'string' : typeof value === 'number';
      const expected = info.type === 'bool' ? 'true or false' : info.type === 'str' ? 'a text' : info.type === 'int' ? 'a whole number' : 'a number';
      if (!ok) errors.push({ path: ['grid', key, i], message: `expected ${expected}, got ${JSON.stringify(value)}` });
      else if (info.type === 'int' && !Number.isInteger(value)) errors.push({ path: ['grid', key, i], message: `expected a whole number, got ${value}` });
      else if (info.choices && !info.choices.includes(String(value))) {
        errors.push({ path: ['grid', key, i], message: `must be one of ${info.choices.map((c) => JSON.stringify(c)).join(', ')}; got ${JSON.stringify(value)}` });
      } else if (typeof value === 'number' && ((info.min !== undefined && value < info.min) || (info.gt !== undefined && value <= info.gt))) {
        errors.push({ path: ['grid', key, i], message: `out of range: ${value} (${info.min !== undefined ? `at least ${info.min}` : `above ${info.gt}`})` });
      }
    });
  }
  return { errors };
};

const uniqueRunNames: Rule = (config) => {
  const errors: RuleProblem[] = [];
  if (BASELINE in config.variants) errors.push({ path: ['variants', BASELINE], atKey: true, message: '"baseline" is the name of the baseline run itself' });
  const seen = new Set<string>();
  for (const v of expandVariants(config)) {
    if (seen.has(v.name)) errors.push({ path: [...v.origin], atKey: true, message: `two runs would be named "${v.name}"` });
    seen.add(v.name);
  }
  return { errors };
};

const edmExcludesSnr: Rule = (config) => ({
  errors: eachRun(config)
    .filter((run) => run.settings.do_edm_style_training === true && run.settings.snr_gamma !== undefined)
    .map((run) => ({ path: settingPath(run, 'snr_gamma', config), message: 'the script refuses snr_gamma together with do_edm_style_training' })),
});

/** A warning about one run's resolved settings, with the keys it is about (the rule places it on the first). */
export interface SettingsWarning {
  keys: string[];
  message: string;
}

/**
 * Warnings that depend only on one run's resolved settings: what `plan` shows for the experiment and what
 * `run --set` / a sweep agent's parameter file must show for the settings they change.
 */
export function settingsWarnings(name: string, settings: TrainingSettings): SettingsWarning[] {
  const out: SettingsWarning[] = [];
  const steps = settings.max_train_steps;
  const warmup = Number(settings.lr_warmup_steps);
  if (settings.lr_scheduler !== 'constant' && typeof steps === 'number' && warmup >= steps) {
    const reached = steps / warmup;
    out.push({
      keys: ['lr_warmup_steps', 'lr_scheduler'],
      message:
        `${name}: lr_scheduler ${settings.lr_scheduler} warms up for ${warmup} steps${warmup === FLAGS.lr_warmup_steps!.scriptDefault ? " (the script's default)" : ''}, ` +
        `${warmup > steps ? 'longer than' : 'as long as'} the whole run of ${steps} steps: the learning rate reaches at most ${formatNumber(reached * 100)}% of ${settings.learning_rate} ` +
        `(${formatNumber(Number(settings.learning_rate) * reached)}); set lr_warmup_steps below ${steps}, e.g. 0`,
    });
  }
  const prodigy = String(settings.optimizer).toLowerCase() === 'prodigy';
  if (prodigy && settings.use_8bit_adam === true) out.push({ keys: ['use_8bit_adam'], message: `${name}: the script ignores use_8bit_adam with the prodigy optimizer` });
  if (prodigy && Number(settings.learning_rate) <= 0.1) out.push({ keys: ['learning_rate'], message: `${name}: prodigy expects learning_rate around 1.0` });
  if (settings.report_to === 'wandb' || settings.report_to === 'all') {
    out.push({
      keys: ['report_to'],
      message: `${name}: report_to ${settings.report_to} makes the script log to W&B itself, but the harness already mirrors every metric to W&B (tracking:): the run would be logged twice; keep report_to: tensorboard`,
    });
  }
  const limit = settings.checkpoints_total_limit;
  if (limit === 1) {
    out.push({
      keys: ['checkpoints_total_limit'],
      message: `${name}: checkpoints_total_limit 1: the script deletes the only checkpoint before it writes the next one, so a kill during that save leaves no complete checkpoint to resume from; use 2 or more`,
    });
  }
  return out;
}

function formatNumber(value: number): string {
  return Number(value.toPrecision(2)).toString();
}

const runSettingsWarnings: Rule = (config) => ({
  warnings: eachRun(config).flatMap((run) => settingsWarnings(run.name, run.settings).map((w) => ({ path: settingPath(run, w.keys[0]!, config), message: w.message }))),
});

/** Training above the dataset's image size upscales every image (the config knows the size it expects). */
const resolutionFitsImages: Rule = (config) => ({
  warnings: eachRun(config)
    .filter((run) => Number(run.settings.resolution) > config.dataset.image_size)
    .map((run) => ({
      path: settingPath(run, 'resolution', config),
      message: `${run.name}: resolution ${run.settings.resolution} is above dataset.image_size ${config.dataset.image_size}: every image is upscaled ${formatNumber(Number(run.settings.resolution) / config.dataset.image_size)}× (soft detail the LoRA learns); prepare the dataset at ${run.settings.resolution} px or train at ${config.dataset.image_size}`,
    })),
});

const checkpointsSampled: Rule = (config) => {
  const errors: RuleProblem[] = [];
  const wanted = config.samples.checkpoints;
  if (!Array.isArray(wanted)) return { errors };
  for (const run of eachRun(config)) {
    const every = Number(run.settings.checkpointing_steps);
    const max = typeof run.settings.max_train_steps === 'number' ? run.settings.max_train_steps : Infinity;
    const limit = run.settings.checkpoints_total_limit;
    const written = Number.isFinite(max) ? Array.from({ length: Math.floor(max / every) }, (_, k) => (k + 1) * every) : [];
    const kept = typeof limit === 'number' && Number.isFinite(max) ? written.slice(-limit) : written;
    wanted.forEach((step, i) => {
      if (step % every !== 0 || step > max) {
        errors.push({
          path: ['samples', 'checkpoints', i],
          message: `${run.name} writes checkpoints every ${every} steps up to ${max}: there will be no checkpoint-${step}`,
        });
      } else if (typeof limit === 'number' && !kept.includes(step)) {
        errors.push({
          path: ['samples', 'checkpoints', i],
          message:
            `${run.name}: checkpoints_total_limit ${limit} makes the script delete checkpoint-${step} before training ends ` +
            `(it keeps only ${kept.map((s) => `checkpoint-${s}`).join(', ')}), so its sample set cannot be made; raise the limit to ${written.length - written.indexOf(step)} or drop ${step} from samples.checkpoints`,
        });
      }
    });
  }
  return { errors };
};

const promptsCarryTrigger: Rule = (config) => {
  const warnings: RuleProblem[] = [];
  const errors: RuleProblem[] = [];
  const trigger = config.dataset.instance_prompt;
  const ids = new Set<string>();
  config.samples.prompts.forEach((p, i) => {
    if (ids.has(p.id)) errors.push({ path: ['samples', 'prompts', i, 'id'], message: `duplicate prompt id "${p.id}"` });
    ids.add(p.id);
    if (!p.prompt.includes(trigger)) {
      warnings.push({ path: ['samples', 'prompts', i, 'prompt'], message: `does not contain the instance prompt "${trigger}": the LoRA may not be triggered` });
    }
  });
  const seeds = config.samples.seeds;
  if (new Set(seeds).size !== seeds.length) errors.push({ path: ['samples', 'seeds'], message: 'seeds repeat' });
  if (!config.dataset.caption_prefix.startsWith(trigger)) {
    warnings.push({ path: ['dataset', 'caption_prefix'], message: `does not start with the instance prompt "${trigger}"` });
  }
  return { errors, warnings };
};

const regressionVariantExists: Rule = (config) => {
  const names = expandVariants(config).map((v) => v.name);
  return names.includes(config.regression.variant)
    ? {}
    : { errors: [{ path: ['regression', 'variant'], message: `no run named "${config.regression.variant}" (runs: ${names.join(', ')})` }] };
};

const pinned: Rule = (config) => ({
  warnings: (['model', 'vae'] as const)
    .filter((which) => config.base[which].commit === null)
    .map((which) => ({
      path: ['base', which, 'commit'],
      message: config.base[which].build
        ? `${config.base[which].id} (built by the harness) is not pinned: \`harness setup\` builds it and prints the digest to pin as its commit`
        : `${config.base[which].id} is not pinned to a commit: run ids are provisional until \`harness pin\``,
    })),
});

export const RULES: Record<string, Rule> = {
  resolutionMultipleOf8,
  gridAxesAreSettings,
  uniqueRunNames,
  edmExcludesSnr,
  runSettingsWarnings,
  resolutionFitsImages,
  checkpointsSampled,
  promptsCarryTrigger,
  regressionVariantExists,
  pinned,
};

export function checkRules(config: ExperimentFile): { errors: RuleProblem[]; warnings: RuleProblem[] } {
  const errors: RuleProblem[] = [];
  const warnings: RuleProblem[] = [];
  // grid values must be sound before runs are resolved from them
  const gridErrors = gridAxesAreSettings(config).errors ?? [];
  if (gridErrors.length > 0) return { errors: gridErrors, warnings };
  for (const rule of Object.values(RULES)) {
    const result = rule(config);
    errors.push(...(result.errors ?? []));
    warnings.push(...(result.warnings ?? []));
  }
  return { errors, warnings };
}
