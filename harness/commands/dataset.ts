// `harness dataset check` and `harness dataset prepare`.
import path from 'node:path';
import { loadExperiment } from '../config/load.ts';
import { UsageError } from '../errors.ts';
import { checkDataset, type CheckResult } from '../dataset/check.ts';
import { captionTokenizer } from '../dataset/clip-tokens.ts';
import { variantSettings } from '../plan/expand.ts';
import { snapshotPath } from '../plan/planner.ts';
import { hubCacheDir } from './context.ts';
import { displayPath } from '../dataset/files.ts';
import { prepareDataset, type CropMode, type PrepareResult } from '../dataset/prepare.ts';
import { didYouMeanPath } from '../util/near-path.ts';

export interface DatasetCheckOptions {
  dir?: string;
  experiment?: string;
  size?: number;
  minImages?: number;
  prefix?: string;
  /** a local model folder whose tokenizer/ counts caption tokens (default: the experiment's pinned snapshot) */
  model?: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

/** Flags beat the experiment, which beats the defaults of checkDataset. */
export async function datasetCheck(options: DatasetCheckOptions): Promise<CheckResult> {
  const experiment = options.experiment ? await loadExperiment(options.experiment, options.cwd) : null;
  const dir = options.dir ? path.resolve(options.cwd, options.dir) : experiment?.datasetDir;
  if (!dir) throw new UsageError('which dataset? pass a folder, or --experiment FILE to check its dataset.dir', 'e.g. harness dataset check data/tok-boy');
  const dataset = experiment?.config.dataset;
  const captionPrefix = options.prefix ?? dataset?.caption_prefix;
  const base = experiment?.config.base.model;
  const modelDir = options.model ? path.resolve(options.cwd, options.model) : base?.commit ? snapshotPath(hubCacheDir(options.env), base) : null;
  const resolutions = experiment
    ? variantSettings(experiment.config).map((v) => ({ name: v.name, resolution: Number(v.settings.resolution) }))
    : undefined;
  const result = await checkDataset(dir, {
    display: displayPath(options.cwd, dir),
    ...definedOnly({
      imageSize: options.size ?? dataset?.image_size,
      minImages: options.minImages ?? dataset?.min_images,
      captionPrefix,
      // a --prefix without an experiment implies its own trigger phrase
      instancePrompt: options.prefix === undefined ? dataset?.instance_prompt : undefined,
      resolutions,
    }),
    tokenizer: await captionTokenizer(modelDir),
  });
  if (result.problems.some((p) => p.code === 'not-a-folder')) {
    throw new UsageError(`dataset folder not found: ${result.dir}${await didYouMeanPath(result.dir, options.cwd, { kind: 'folder' })}`, 'pass the folder that holds the training PNGs and metadata.jsonl');
  }
  return result;
}

export interface DatasetPrepareOptions {
  src: string;
  dst: string;
  size?: number;
  crop?: CropMode;
  force?: boolean;
  cwd: string;
  signal?: AbortSignal;
}

export async function datasetPrepare(options: DatasetPrepareOptions): Promise<PrepareResult> {
  return prepareDataset(path.resolve(options.cwd, options.src), path.resolve(options.cwd, options.dst), {
    ...definedOnly({ size: options.size, crop: options.crop, force: options.force, signal: options.signal }),
  });
}

function definedOnly<T extends object>(value: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}
