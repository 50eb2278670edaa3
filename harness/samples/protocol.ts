// The protocol between harness/samples/ and a sampler process (python/sample.py or a test stand-in):
// one resolved job file in (a set's spec, or a batch of them), one JSON object per line on stdout out.
// Python decides nothing.
import type { WeightsRef } from './types.ts';

export const SAMPLER_PROTOCOL = 1;

export interface SchedulerChoice {
  /** the experiment's name for it (`samples.scheduler`) */
  name: string;
  /** diffusers class, built with `from_config(<model scheduler config>, **config)` */
  class: string;
  config: Record<string, string | number | boolean>;
}

export interface SamplerImageJob {
  prompt_id: string;
  prompt: string;
  negative_prompt: string;
  seed: number;
  /** file names inside out_dir */
  file: string;
  sidecar: string;
}

/** `samples/<set-id>/sampler-spec.json`: everything the sampler needs, nothing for it to choose. */
export interface SamplerJobSpec {
  schemaVersion: number;
  protocol: number;
  set_id: string;
  run_id: string | null;
  experiment: string;
  out_dir: string;
  model: { id: string; commit: string | null; path: string };
  vae: { id: string; commit: string | null; path: string };
  /** snake_case like the rest of this file; `null` path for the control set */
  weights: WeightsRef;
  device: 'cuda' | 'cpu';
  dtype: 'fp16' | 'fp32';
  /** diffusers `variant=` for from_pretrained; null loads the plain files and casts to dtype */
  model_variant: string | null;
  scheduler: SchedulerChoice;
  steps: number;
  guidance_scale: number;
  width: number;
  height: number;
  /** null for the control set (no LoRA loaded) */
  lora_scale: number | null;
  adapter_name: string;
  /** images of one prompt are generated together, at most this many per pipeline call */
  batch_size: number;
  /** in this order; each with its own `torch.Generator("cpu").manual_seed(seed)` */
  images: SamplerImageJob[];
}

export interface SamplerEnv {
  python?: string;
  torch?: string;
  torch_cuda_build?: string | null;
  diffusers?: string;
  transformers?: string;
  peft?: string | null;
  safetensors?: string;
  gpu?: { name: string; capability: string; memory_mb: number; driver?: string | null } | null;
  device?: string;
  dtype?: string;
  [key: string]: unknown;
}

/**
 * `samples/sampler-batch.json` of a run (or of the control): the spec files of the sets one sampler process
 * renders, in order. The process loads SDXL once and swaps each set's LoRA in and out.
 */
export interface SamplerBatchSpec {
  schemaVersion: number;
  protocol: number;
  /** absolute paths of each set's sampler-spec.json */
  sets: string[];
}

/** Every event after `start` names its set (`set_id`); older samplers left it out (one set per process). */
export type SamplerEvent =
  | { v: number; type: 'start'; t: number; set_id: string; total: number; todo: number; pid: number; env: SamplerEnv }
  /** the set's weights are in place; `pipeline_loaded`: SDXL itself was loaded for this set (false: reused) */
  | { v: number; type: 'loaded'; t: number; set_id?: string; seconds: number; pipeline_loaded?: boolean }
  | {
      v: number;
      type: 'image';
      t: number;
      set_id?: string;
      file: string;
      prompt_id: string;
      seed: number;
      sha256: string;
      skipped: boolean;
      index: number;
      total: number;
      seconds?: number;
      vram_peak_mb?: number;
    }
  | { v: number; type: 'end'; t: number; set_id?: string; rendered: number; skipped: number; seconds: number; vram_peak_mb?: number }
  | { v: number; type: 'error'; t: number; set_id?: string | null; reason: string; message: string };

/** One stdout line → an event, or undefined for anything that is not one (library noise goes to the log). */
export function parseSamplerLine(line: string): SamplerEvent | undefined {
  const text = line.trim();
  if (!text.startsWith('{')) return undefined;
  try {
    const value = JSON.parse(text) as { v?: unknown; type?: unknown };
    if (typeof value.v !== 'number' || typeof value.type !== 'string') return undefined;
    return value as SamplerEvent;
  } catch {
    return undefined;
  }
}

/** What each image's sidecar (`<prompt-id>__s<seed>.json`) holds; the sampler writes it. */
export interface SampleSidecar {
  schemaVersion: number;
  set_id: string;
  file: string;
  sha256: string;
  prompt_id: string;
  prompt: string;
  negative_prompt: string;
  seed: number;
  generator: string;
  steps: number;
  guidance_scale: number;
  scheduler: SchedulerChoice & { resolved?: Record<string, unknown> };
  width: number;
  height: number;
  lora_scale: number | null;
  batch_size: number;
  weights: WeightsRef;
  model: { id: string; commit: string | null; path?: string };
  vae: { id: string; commit: string | null; path?: string };
  device: string;
  dtype: string;
  env: SamplerEnv;
  created_at: string;
  seconds?: number;
}
