// Named rules that the shape cannot express. Each returns problems with a key path; the loader adds lines.
import { BASELINE, expandVariants, resolveSettings } from '../plan/expand.ts';
import { FLAGS } from './flags.ts';
import type { ExperimentFile, TrainingSettings } from './schema.ts';

export interface RuleProblem {
  path: (string | number)[];
  message: string;
  atKey?: boolean;
}

type Rule = (config: ExperimentFile) => { errors?: RuleProblem[]; warnings?: RuleProblem[] };

/** Every resolved run's settings, with the key path of the variant (for messages). */
function eachRun(config: ExperimentFile): { name: string; path: (string | number)[]; settings: TrainingSettings }[] {
  return expandVariants(config).map((v) => ({
    name: v.name,
    path: [...v.origin],
    settings: resolveSettings(config.baseline as TrainingSettings, v.overrides),
  }));
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
      errors.push({ path: ['grid', key], atKey: true, message: info ? `is set by the harness: ${info.managed}` : 'unknown training setting' });
      continue;
    }
    values.forEach((value, i) => {
      const ok = info.type === 'bool' ? typeof value === 'boolean' : info.type === 'str' ? typeof value === 'string' : typeof value === 'number';
      if (!ok) errors.push({ path: ['grid', key, i], message: `expected ${info.type}, got ${JSON.stringify(value)}` });
      else if (typeof value === 'number' && ((info.min !== undefined && value < info.min) || (info.gt !== undefined && value <= info.gt))) {
        errors.push({ path: ['grid', key, i], message: `out of range: ${value}` });
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

const warmupFitsRun: Rule = (config) => ({
  warnings: eachRun(config)
    .filter((run) => {
      const steps = run.settings.max_train_steps;
      return run.settings.lr_scheduler !== 'constant' && typeof steps === 'number' && Number(run.settings.lr_warmup_steps) >= steps;
    })
    .map((run) => ({
      path: settingPath(run, 'lr_warmup_steps', config),
      message: `${run.name}: warm-up (${run.settings.lr_warmup_steps} steps) lasts the whole run of ${run.settings.max_train_steps} steps`,
    })),
});

const optimizerCombos: Rule = (config) => {
  const warnings: RuleProblem[] = [];
  for (const run of eachRun(config)) {
    const prodigy = String(run.settings.optimizer).toLowerCase() === 'prodigy';
    if (prodigy && run.settings.use_8bit_adam === true) {
      warnings.push({ path: settingPath(run, 'use_8bit_adam', config), message: `${run.name}: the script ignores use_8bit_adam with the prodigy optimizer` });
    }
    if (prodigy && Number(run.settings.learning_rate) <= 0.1) {
      warnings.push({ path: settingPath(run, 'learning_rate', config), message: `${run.name}: prodigy expects learning_rate around 1.0` });
    }
    if (run.settings.report_to === 'wandb') {
      warnings.push({ path: settingPath(run, 'report_to', config), message: `${run.name}: the harness mirrors metrics to W&B itself (tracking:); report_to wandb would log twice` });
    }
  }
  return { warnings };
};

const checkpointsSampled: Rule = (config) => {
  const errors: RuleProblem[] = [];
  const wanted = config.samples.checkpoints;
  if (!Array.isArray(wanted)) return { errors };
  for (const run of eachRun(config)) {
    const every = Number(run.settings.checkpointing_steps);
    const max = typeof run.settings.max_train_steps === 'number' ? run.settings.max_train_steps : Infinity;
    wanted.forEach((step, i) => {
      if (step % every !== 0 || step > max) {
        errors.push({
          path: ['samples', 'checkpoints', i],
          message: `${run.name} writes checkpoints every ${every} steps up to ${max}: there will be no checkpoint-${step}`,
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
  warmupFitsRun,
  optimizerCombos,
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
