// The pure planner: experiment + dataset fingerprint + paths → resolved, hashed run specs with their argv.
// It touches no disk; `harness plan` prints exactly what `sweep` will run.
import { FLAGS } from '../config/flags.ts';
import type { ExperimentFile, TrainingSettings } from '../config/schema.ts';
import { runLayout, SCHEMA_VERSION } from '../store/layout.ts';
import { hashObject } from '../util/hash.ts';
import { BASELINE, expandVariants, resolveSettings, type VariantDef } from './expand.ts';

export interface Provenance {
  diffusersRelease: string;
  diffusersCommit: string;
  script: string;
  scriptSha256: string;
  /** false: trained with another script than the pin (a local --script copy); absent in older spec files */
  scriptPinned?: boolean;
  /** that other script's file, and the pin it stands in for: the release and commit above are not its own */
  scriptFile?: string | null;
  pinnedSha256?: string;
  model: { id: string; commit: string | null };
  vae: { id: string; commit: string | null };
  datasetHash: string | null;
  instancePrompt: string;
}

export interface StepEstimate {
  images: number;
  batchesPerEpoch: number;
  stepsPerEpoch: number;
  epochs: number;
  maxTrainSteps: number;
}

export interface RunSpec {
  schemaVersion: number;
  id: string;
  /** the full content hash the id ends with: equal hashes are the same training */
  hash: string;
  experiment: string;
  variant: string;
  /** settings that differ from the baseline */
  overrides: TrainingSettings;
  settings: TrainingSettings;
  provenance: Provenance;
  /** true while the dataset is missing or a model is unpinned: the id will change */
  provisional: boolean;
  provisionalWhy: string[];
  steps: StepEstimate | null;
  /** the trainer's argv after the script path: every flag explicit */
  argv: string[];
  /** other run names that resolve to the same settings (and so the same id) */
  aliases: string[];
}

export interface PlanInputs {
  config: ExperimentFile;
  dataset: { dir: string; hash: string | null; imageCount: number | null };
  storeRoot: string;
  /** where pinned snapshots live: `<hubCache>/models--org--name/snapshots/<commit>` */
  hubCache: string;
  /** the training script when it is not the pinned one (`--script`, or what a stored run was trained with) */
  script?: { sha256: string; path: string | null };
}

export interface Plan {
  schemaVersion: number;
  experiment: string;
  storeRoot: string;
  runs: RunSpec[];
}

export function planExperiment(inputs: PlanInputs): Plan {
  const { config } = inputs;
  const runs: RunSpec[] = [];
  const byHash = new Map<string, RunSpec>();
  for (const variant of expandVariants(config)) {
    const spec = planRun(inputs, variant);
    const twin = byHash.get(spec.hash);
    if (twin) {
      twin.aliases.push(spec.variant);
      continue;
    }
    byHash.set(spec.hash, spec);
    runs.push(spec);
  }
  return { schemaVersion: SCHEMA_VERSION, experiment: config.name, storeRoot: inputs.storeRoot, runs };
}

export function planRun(inputs: PlanInputs, variant: VariantDef): RunSpec {
  const { config } = inputs;
  const baseline = resolveSettings(config.baseline as TrainingSettings, {});
  const settings = orderSettings(resolveSettings(config.baseline as TrainingSettings, variant.overrides));
  const pin = config.base.diffusers.sha256;
  const scriptSha256 = inputs.script?.sha256 ?? pin;
  const provenance: Provenance = {
    diffusersRelease: config.base.diffusers.release,
    diffusersCommit: config.base.diffusers.commit,
    script: config.base.diffusers.script,
    scriptSha256,
    scriptPinned: scriptSha256 === pin,
    ...(scriptSha256 === pin ? {} : { scriptFile: inputs.script?.path ?? null, pinnedSha256: pin }),
    model: { id: config.base.model.id, commit: config.base.model.commit },
    vae: { id: config.base.vae.id, commit: config.base.vae.commit },
    datasetHash: inputs.dataset.hash,
    instancePrompt: config.dataset.instance_prompt,
  };
  const hash = runHash(settings, provenance);
  const id = `${variant.name}-${hash.slice(0, 8)}`;
  const provisionalWhy = [
    ...(inputs.dataset.hash === null ? [`dataset not found at ${inputs.dataset.dir}`] : []),
    ...(provenance.model.commit === null ? [`${provenance.model.id} unpinned`] : []),
    ...(provenance.vae.commit === null ? [`${provenance.vae.id} unpinned`] : []),
  ];
  const layout = runLayout(inputs.storeRoot, config.name, id);
  return {
    schemaVersion: SCHEMA_VERSION,
    id,
    hash,
    experiment: config.name,
    variant: variant.name,
    overrides: diffSettings(baseline, settings),
    settings,
    provenance,
    provisional: provisionalWhy.length > 0,
    provisionalWhy,
    steps: inputs.dataset.imageCount === null ? null : estimateSteps(settings, inputs.dataset.imageCount),
    argv: trainerArgv({
      settings,
      model: snapshotPath(inputs.hubCache, provenance.model),
      vae: snapshotPath(inputs.hubCache, provenance.vae),
      datasetDir: inputs.dataset.dir,
      instancePrompt: config.dataset.instance_prompt,
      outputDir: layout.output,
      datasetsCache: layout.datasetsCache,
    }),
    aliases: [],
  };
}

/** Run ids are `<variant>-<hash8>`: readable, and content-addressed over everything that changes the weights. */
export function runHash(settings: TrainingSettings, provenance: Provenance): string {
  return hashObject({
    settings,
    dataset: { hash: provenance.datasetHash, instancePrompt: provenance.instancePrompt },
    script: { sha256: provenance.scriptSha256 },
    model: provenance.model,
    vae: provenance.vae,
  });
}

export function snapshotPath(hubCache: string, model: { id: string; commit: string | null }): string {
  // Unpinned: the script resolves the id itself (online); the run is marked provisional.
  if (model.commit === null) return model.id;
  return `${hubCache}/models--${model.id.replace('/', '--')}/snapshots/${model.commit}`;
}

export function estimateSteps(settings: TrainingSettings, images: number): StepEstimate {
  const repeats = Number(settings.repeats ?? 1);
  const batch = Number(settings.train_batch_size);
  const accumulation = Number(settings.gradient_accumulation_steps);
  const batchesPerEpoch = Math.ceil((images * repeats) / batch);
  const stepsPerEpoch = Math.ceil(batchesPerEpoch / accumulation);
  const maxTrainSteps =
    typeof settings.max_train_steps === 'number' ? settings.max_train_steps : stepsPerEpoch * Number(settings.num_train_epochs ?? 1);
  return { images, batchesPerEpoch, stepsPerEpoch, epochs: Math.ceil(maxTrainSteps / stepsPerEpoch), maxTrainSteps };
}

export interface ArgvInputs {
  settings: TrainingSettings;
  model: string;
  vae: string;
  datasetDir: string;
  instancePrompt: string;
  outputDir: string;
  datasetsCache: string;
}

export function trainerArgv(inputs: ArgvInputs): string[] {
  const argv = [
    '--pretrained_model_name_or_path', inputs.model,
    '--pretrained_vae_model_name_or_path', inputs.vae,
    '--dataset_name', inputs.datasetDir,
    '--cache_dir', inputs.datasetsCache,
    '--image_column', 'image',
    '--caption_column', 'prompt',
    '--instance_prompt', inputs.instancePrompt,
    '--output_dir', inputs.outputDir,
  ];
  for (const [key, value] of Object.entries(inputs.settings)) {
    if (typeof value === 'boolean') {
      if (value) argv.push(`--${key}`);
    } else {
      argv.push(`--${key}`, formatValue(value));
    }
  }
  return argv;
}

function formatValue(value: string | number): string {
  return typeof value === 'number' ? String(value) : value;
}

/** Flag-table order, so argv and spec files read the same way for every run. */
function orderSettings(settings: TrainingSettings): TrainingSettings {
  const order = Object.keys(FLAGS);
  return Object.fromEntries(Object.entries(settings).sort(([a], [b]) => order.indexOf(a) - order.indexOf(b)));
}

export function diffSettings(baseline: TrainingSettings, settings: TrainingSettings): TrainingSettings {
  const out: TrainingSettings = {};
  for (const [key, value] of Object.entries(settings)) if (baseline[key] !== value) out[key] = value;
  return out;
}

export function findRun(plan: Plan, variant: string): RunSpec | undefined {
  return plan.runs.find((r) => r.variant === variant || r.aliases.includes(variant));
}

export { BASELINE };
