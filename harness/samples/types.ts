// Contract between sampling (python/sample.py + harness/samples/), scoring, reports, regression and tracking.

/** The sampling spec: everything that decides the pixels besides the weights. Its hash keys sample sets. */
export interface SamplingSpec {
  prompts: { id: string; prompt: string; negative_prompt?: string }[];
  seeds: number[];
  steps: number;
  guidance_scale: number;
  scheduler: string;
  width: number;
  height: number;
  lora_scale: number;
  negative_prompt: string;
}

/** Which weights a set was rendered from: the final LoRA, a checkpoint, or none (the base-model control). */
export type WeightsRef =
  | { kind: 'final'; path: string; sha256: string }
  | { kind: 'checkpoint'; step: number; path: string; sha256: string }
  | { kind: 'control' };

/** `samples/<set-id>/set.json`, written (atomically) once every image of the set exists and verified. */
export interface SampleSetManifest {
  schemaVersion: number;
  setId: string;
  runId: string | null;
  experiment: string;
  weights: WeightsRef;
  spec: SamplingSpec;
  model: { id: string; commit: string | null };
  vae: { id: string; commit: string | null };
  images: SampleImage[];
  /** python, torch, diffusers versions; GPU name, driver, CUDA build (from the sampler's start event) */
  env: Record<string, unknown>;
  createdAt: string;
  /** how the pixels were computed (part of the set id); added after v1 of this contract, so optional */
  render?: { device: string; dtype: string; batchSize: number; modelVariant: string | null };
}

export interface SampleImage {
  promptId: string;
  seed: number;
  /** file name inside the set folder: `<prompt-id>__s<seed>.png` */
  file: string;
  sha256: string;
  width: number;
  height: number;
}
