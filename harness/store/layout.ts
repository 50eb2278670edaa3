// Every file name of the run store lives here (DESIGN.md §4).
import path from 'node:path';

export const SCHEMA_VERSION = 1;

export function experimentDir(storeRoot: string, experiment: string): string {
  return path.join(storeRoot, experiment);
}

export function runLayout(storeRoot: string, experiment: string, runId: string) {
  const dir = path.join(storeRoot, experiment, runId);
  return {
    dir,
    spec: path.join(dir, 'spec.json'),
    env: path.join(dir, 'env.json'),
    command: path.join(dir, 'command.json'),
    events: path.join(dir, 'events.jsonl'),
    trainLog: path.join(dir, 'train.log'),
    status: path.join(dir, 'status.json'),
    lock: path.join(dir, 'lock.json'),
    accelerateConfig: path.join(dir, 'accelerate.yaml'),
    output: path.join(dir, 'output'),
    datasetsCache: path.join(dir, 'datasets-cache'),
    weights: path.join(dir, 'output', 'pytorch_lora_weights.safetensors'),
    checkpoint: (step: number) => path.join(dir, 'output', `checkpoint-${step}`),
    samplesDir: path.join(dir, 'samples'),
    sampleSet: (setId: string) => path.join(dir, 'samples', setId),
    scoresDir: path.join(dir, 'scores'),
    scores: (setId: string) => path.join(dir, 'scores', `${setId}.json`),
    tracking: path.join(dir, 'tracking'),
    /** what the last training attempt concluded (harness/train): outcome, loss, VRAM, timings */
    trainResult: path.join(dir, 'train-result.json'),
  };
}

export type RunLayout = ReturnType<typeof runLayout>;

/** Sample sets of the base model without LoRA are shared by every run of an experiment. */
export function controlLayout(storeRoot: string, experiment: string) {
  const dir = path.join(storeRoot, experiment, '_control');
  return {
    dir,
    samplesDir: path.join(dir, 'samples'),
    sampleSet: (setId: string) => path.join(dir, 'samples', setId),
    scores: (setId: string) => path.join(dir, 'scores', `${setId}.json`),
    lock: path.join(dir, 'lock.json'),
  };
}

export function sampleFileName(promptId: string, seed: number): string {
  return `${promptId}__s${seed}.png`;
}

export function sampleSidecarName(promptId: string, seed: number): string {
  return `${promptId}__s${seed}.json`;
}

export const DEFAULT_STORE = 'runs';

export type StoreSource = 'flag' | 'env' | 'experiment' | 'default';

/**
 * --store beats HARNESS_STORE beats the experiment's `store:` beats runs/. Like dataset.dir, the experiment's
 * `store:` and the default runs/ are relative to the experiment file, not to the working folder, so the
 * same command finds the same store from anywhere. Flags and HARNESS_STORE are relative to the working folder.
 */
export function resolveStore(opts: { flag?: string | undefined; env?: NodeJS.ProcessEnv; experimentStore?: string | undefined; experimentFile?: string; cwd: string }): { root: string; source: StoreSource } {
  if (opts.flag) return { root: path.resolve(opts.cwd, opts.flag), source: 'flag' };
  const fromEnv = opts.env?.HARNESS_STORE;
  if (fromEnv) return { root: path.resolve(opts.cwd, fromEnv), source: 'env' };
  const base = opts.experimentFile ? path.dirname(opts.experimentFile) : opts.cwd;
  if (opts.experimentStore) return { root: path.resolve(base, opts.experimentStore), source: 'experiment' };
  return { root: path.resolve(base, DEFAULT_STORE), source: 'default' };
}

/** How a store was chosen, for messages: "--store x", "HARNESS_STORE", … */
export function describeStoreSource(source: StoreSource): string {
  return { flag: '--store', env: '$HARNESS_STORE', experiment: "the experiment's store:", default: 'the default (runs/ beside the experiment file)' }[source];
}

/** The LoRA file the diffusers script writes, in `output/` and in each `checkpoint-N/`. */
export const LORA_WEIGHTS_FILE = 'pytorch_lora_weights.safetensors';

/** Files of one sample set folder (`samples/<set-id>/`) besides the images and their sidecars. */
export function sampleSetFiles(setDir: string) {
  return {
    manifest: path.join(setDir, 'set.json'),
    samplerSpec: path.join(setDir, 'sampler-spec.json'),
    events: path.join(setDir, 'events.jsonl'),
    /** small pictures of the set's images for contact sheets (derived data, see harness/samples/previews.ts) */
    previewsDir: path.join(setDir, 'previews'),
    /** named by the sha256 of the PNG it was made from: a re-rendered image never finds a stale preview */
    preview: (sha256: string, side: number) => path.join(setDir, 'previews', `${sha256}-${side}.png`),
  };
}

/**
 * One sampler process renders every set of a run (the control set too, when it is due): the batch it was
 * given and its log (stderr, library noise) live in the run's folder beside train.log, or in `_control/`.
 */
export function samplerBatchFiles(ownerDir: string) {
  return {
    batch: path.join(ownerDir, 'sampler-batch.json'),
    log: path.join(ownerDir, 'sample.log'),
  };
}

/** Regression-check results of an experiment: `_checks/<variant>.json` plus diff images beside it. */
export function checksLayout(storeRoot: string, experiment: string) {
  const dir = path.join(storeRoot, experiment, '_checks');
  return {
    dir,
    report: (variant: string) => path.join(dir, `${variant}.json`),
    diffsDir: (variant: string) => path.join(dir, `${variant}-diffs`),
  };
}

/**
 * Reports follow the store: reports/<experiment>/ beside a store named runs/, DIR-reports/<experiment>/
 * beside any other store DIR, so two stores never overwrite one report.
 */
export function reportDir(storeRoot: string, experiment: string): string {
  const name = path.basename(storeRoot);
  return path.join(path.dirname(storeRoot), name === DEFAULT_STORE ? 'reports' : `${name}-reports`, experiment);
}

/** Tracking files of one run (`<run>/tracking/`): the W&B-shaped history ledger and the W&B sync state. */
export function trackingFiles(runDir: string) {
  const dir = path.join(runDir, 'tracking');
  return {
    dir,
    /** every history row mirrored to trackers, in order (line N = W&B history line N) */
    history: path.join(dir, 'history.jsonl'),
    /** which W&B run this is and what it has acknowledged (offsets, uploaded files, summary, complete) */
    wandb: path.join(dir, 'wandb.json'),
  };
}

/** Accepted goldens of one variant (meant to be committed): `<goldensDir>/<variant>/` with golden.json. */
export function goldenLayout(goldensDir: string, variant: string) {
  const dir = path.join(goldensDir, variant);
  return {
    dir,
    manifest: path.join(dir, 'golden.json'),
    set: path.join(dir, 'set.json'),
    scores: path.join(dir, 'scores.json'),
    imagesDir: path.join(dir, 'images'),
    image: (file: string) => path.join(dir, 'images', file),
  };
}

/** Per-image scoring features, shared by every run of a store: `_cache/score-features/<scorer-version>/…`. */
export function scoreFeatureCacheDir(storeRoot: string): string {
  return path.join(storeRoot, '_cache', 'score-features');
}
