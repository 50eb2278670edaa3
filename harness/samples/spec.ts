// Pure: the sampling spec from the experiment (+ filters), set identity, and the sampler's job file.
import type { ExperimentFile } from '../config/schema.ts';
import { UsageError } from '../errors.ts';
import { sampleFileName, sampleSidecarName, SCHEMA_VERSION } from '../store/layout.ts';
import { hashObject } from '../util/hash.ts';
import { closest } from '../util/suggest.ts';
import { SAMPLER_PROTOCOL, type SamplerJobSpec } from './protocol.ts';
import { schedulerChoice } from './schedulers.ts';
import type { SamplingSpec, WeightsRef } from './types.ts';

export type SamplesConfig = ExperimentFile['samples'];

/** How the pixels are computed, besides the spec and the weights. Part of a set's identity. */
export interface RenderSettings {
  device: 'cuda' | 'cpu';
  /** fp16 on CUDA, fp32 on CPU (an fp16 CPU pipeline is slow and unsupported for some ops) */
  dtype: 'fp16' | 'fp32';
  batchSize: number;
  modelVariant: string | null;
}

export interface ModelRef {
  id: string;
  commit: string | null;
}

export interface SpecFilters {
  seeds?: number[];
  prompts?: string[];
}

export function samplingSpecFrom(samples: SamplesConfig, filters: SpecFilters = {}): SamplingSpec {
  let prompts = samples.prompts.map((p) => ({ ...p }));
  if (filters.prompts && filters.prompts.length > 0) {
    const known = new Map(prompts.map((p) => [p.id, p]));
    const unknown = filters.prompts.filter((id) => !known.has(id));
    if (unknown.length > 0) {
      const hints = unknown.map((id) => {
        const guess = closest(id, known.keys());
        return guess ? `"${id}" (did you mean "${guess}"?)` : `"${id}"`;
      });
      throw new UsageError(`unknown prompt id ${hints.join(', ')}`, `the experiment's samples.prompts ids are: ${[...known.keys()].join(', ')}`);
    }
    prompts = [...new Set(filters.prompts)].map((id) => known.get(id)!);
  }
  const seeds = [...new Set(filters.seeds && filters.seeds.length > 0 ? filters.seeds : samples.seeds)];
  for (const seed of seeds) {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new UsageError(`seed ${seed} is not a whole number ≥ 0`);
  }
  return {
    prompts,
    seeds,
    steps: samples.steps,
    guidance_scale: samples.guidance_scale,
    scheduler: samples.scheduler,
    width: samples.width,
    height: samples.height,
    lora_scale: samples.lora_scale,
    negative_prompt: samples.negative_prompt,
  };
}

/** The base model renders without LoRA, so the LoRA scale must not split its set id. */
export function controlSpec(spec: SamplingSpec): SamplingSpec {
  return { ...spec, lora_scale: 0 };
}

export function renderSettings(options: { device?: 'cuda' | 'cpu'; batchSize?: number; modelVariant?: string | null } = {}): RenderSettings {
  const device = options.device ?? 'cuda';
  const batchSize = options.batchSize ?? 1;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new UsageError(`--batch-size must be a whole number ≥ 1, not ${batchSize}`);
  return { device, dtype: device === 'cuda' ? 'fp16' : 'fp32', batchSize, modelVariant: options.modelVariant ?? null };
}

/** Content key of a set: the weights' bytes, every sampling setting, the base models, how it was computed. */
export function setKey(weights: WeightsRef, spec: SamplingSpec, model: ModelRef, vae: ModelRef, render: RenderSettings): string {
  return hashObject({
    weights: weights.kind === 'control' ? null : weights.sha256,
    spec: weights.kind === 'control' ? controlSpec(spec) : spec,
    model: { id: model.id, commit: model.commit },
    vae: { id: vae.id, commit: vae.commit },
    render,
  });
}

/** Readable and content-addressed: `final-<hash10>`, `ckpt200-<hash10>`, `control-<hash10>`. */
export function setId(weights: WeightsRef, spec: SamplingSpec, model: ModelRef, vae: ModelRef, render: RenderSettings): string {
  const prefix = weights.kind === 'checkpoint' ? `ckpt${weights.step}` : weights.kind;
  return `${prefix}-${setKey(weights, spec, model, vae, render).slice(0, 10)}`;
}

export interface JobInputs {
  setId: string;
  runId: string | null;
  experiment: string;
  outDir: string;
  model: ModelRef & { path: string };
  vae: ModelRef & { path: string };
  weights: WeightsRef;
  spec: SamplingSpec;
  render: RenderSettings;
}

export function samplerJob(inputs: JobInputs): SamplerJobSpec {
  const { spec, weights } = inputs;
  const images = spec.prompts.flatMap((p) =>
    spec.seeds.map((seed) => ({
      prompt_id: p.id,
      prompt: p.prompt,
      negative_prompt: p.negative_prompt ?? spec.negative_prompt,
      seed,
      file: sampleFileName(p.id, seed),
      sidecar: sampleSidecarName(p.id, seed),
    })),
  );
  return {
    schemaVersion: SCHEMA_VERSION,
    protocol: SAMPLER_PROTOCOL,
    set_id: inputs.setId,
    run_id: inputs.runId,
    experiment: inputs.experiment,
    out_dir: inputs.outDir,
    model: { id: inputs.model.id, commit: inputs.model.commit, path: inputs.model.path },
    vae: { id: inputs.vae.id, commit: inputs.vae.commit, path: inputs.vae.path },
    weights,
    device: inputs.render.device,
    dtype: inputs.render.dtype,
    model_variant: inputs.render.modelVariant,
    scheduler: schedulerChoice(spec.scheduler),
    steps: spec.steps,
    guidance_scale: spec.guidance_scale,
    width: spec.width,
    height: spec.height,
    lora_scale: weights.kind === 'control' ? null : spec.lora_scale,
    adapter_name: 'harness_lora',
    batch_size: inputs.render.batchSize,
    images,
  };
}
