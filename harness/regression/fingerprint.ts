// Pure: the environment a sample set was rendered in, and which comparison tier two environments allow.
import type { SamplerEnv, SamplerJobSpec } from '../samples/protocol.ts';
import type { SampleSetManifest } from '../samples/types.ts';
import { canonicalJson } from '../util/hash.ts';
import type { FingerprintDifference, Tier } from './types.ts';

export interface EnvFingerprint {
  gpu: { name: string | null; capability: string | null; driver: string | null } | null;
  cudaBuild: string | null;
  python: string | null;
  torch: string | null;
  diffusers: string | null;
  transformers: string | null;
  peft: string | null;
  scriptSha256: string | null;
  model: { id: string; commit: string | null };
  vae: { id: string; commit: string | null };
  /** the LoRA bytes; null for the base-model control */
  weightsSha256: string | null;
  sampler: {
    device: string | null;
    dtype: string | null;
    batchSize: number | null;
    modelVariant: string | null;
    scheduler: { class: string; config: Record<string, unknown> } | null;
  };
}

/** From a set's manifest, its sampler job file (when kept) and the training script's sha256. */
export function fingerprintOf(
  manifest: SampleSetManifest,
  options: { scriptSha256: string | null; samplerJob?: Pick<SamplerJobSpec, 'batch_size' | 'model_variant' | 'scheduler' | 'device' | 'dtype'> | null },
): EnvFingerprint {
  const env = manifest.env as SamplerEnv;
  const job = options.samplerJob ?? null;
  const gpu = env.gpu ?? null;
  return {
    gpu: gpu ? { name: gpu.name ?? null, capability: gpu.capability ?? null, driver: gpu.driver ?? null } : null,
    cudaBuild: str(env.torch_cuda_build),
    python: str(env.python),
    torch: str(env.torch),
    diffusers: str(env.diffusers),
    transformers: str(env.transformers),
    peft: str(env.peft),
    scriptSha256: options.scriptSha256,
    model: { id: manifest.model.id, commit: manifest.model.commit },
    vae: { id: manifest.vae.id, commit: manifest.vae.commit },
    weightsSha256: manifest.weights.kind === 'control' ? null : manifest.weights.sha256,
    sampler: {
      device: str(env.device) ?? job?.device ?? null,
      dtype: str(env.dtype) ?? job?.dtype ?? null,
      batchSize: job?.batch_size ?? null,
      modelVariant: job?.model_variant ?? null,
      scheduler: job ? { class: job.scheduler.class, config: job.scheduler.config } : null,
    },
  };
}

function str(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

/** Different inputs to the pixels themselves: no pixel tolerance can be expected to hold. */
const CONTENT_FIELDS = ['weightsSha256', 'model.commit', 'model.id', 'vae.commit', 'vae.id', 'sampler.device', 'sampler.dtype'];
const GPU_MODEL_FIELDS = ['gpu.name', 'gpu.driver'];
const ARCH_FIELDS = ['gpu.capability', 'gpu'];

export interface TierChoice {
  tier: Tier;
  reason: string;
  differences: FingerprintDifference[];
}

export function compareFingerprints(golden: EnvFingerprint, current: EnvFingerprint): FingerprintDifference[] {
  const out: FingerprintDifference[] = [];
  const walk = (a: unknown, b: unknown, at: string) => {
    if (isPlainObject(a) && isPlainObject(b) && !at.endsWith('scheduler')) {
      for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
        walk(a[key], b[key], at ? `${at}.${key}` : key);
      }
      return;
    }
    if (canonicalJson(a ?? null) !== canonicalJson(b ?? null)) out.push({ field: at, golden: a ?? null, current: b ?? null });
  };
  walk(golden, current, '');
  return out;
}

/**
 * Same inputs, stack and GPU → exact; same inputs and GPU architecture (compute capability) with other
 * versions, driver or card → perceptual; other weights, base models, device or dtype, or another GPU
 * architecture → statistical.
 */
export function chooseTier(golden: EnvFingerprint, current: EnvFingerprint): TierChoice {
  const differences = compareFingerprints(golden, current);
  const fields = differences.map((d) => d.field);
  const content = fields.filter((f) => CONTENT_FIELDS.includes(f));
  if (content.length > 0) {
    return { tier: 'statistical', reason: `the pixels have other inputs (${describe(differences, content)})`, differences };
  }
  const arch = fields.filter((f) => ARCH_FIELDS.includes(f));
  if (arch.length > 0) {
    return { tier: 'statistical', reason: `another GPU architecture (${describe(differences, arch)})`, differences };
  }
  if (differences.length === 0) {
    const gpu = current.gpu ? `${current.gpu.name ?? 'GPU'}, compute ${current.gpu.capability ?? '?'}` : `no GPU, ${current.sampler.device ?? 'cpu'}`;
    return { tier: 'exact', reason: `same stack and GPU (${gpu})`, differences };
  }
  if ((golden.gpu && !golden.gpu.capability) || (current.gpu && !current.gpu.capability)) {
    return { tier: 'statistical', reason: `the GPU architecture is not recorded, and ${describe(differences, fields)}`, differences };
  }
  const card = fields.filter((f) => GPU_MODEL_FIELDS.includes(f));
  const stack = fields.filter((f) => !GPU_MODEL_FIELDS.includes(f));
  const parts = [card.length ? `card: ${describe(differences, card)}` : '', stack.length ? `stack: ${describe(differences, stack)}` : ''].filter(Boolean);
  const archName = current.gpu?.capability ? `compute ${current.gpu.capability}` : 'CPU';
  return { tier: 'perceptual', reason: `same GPU architecture (${archName}), other ${parts.join('; ')}`, differences };
}

function describe(differences: FingerprintDifference[], fields: string[]): string {
  return differences
    .filter((d) => fields.includes(d.field))
    .map((d) => `${d.field} ${short(d.golden)} → ${short(d.current)}`)
    .join(', ');
}

function short(value: unknown): string {
  if (value === null || value === undefined) return 'unknown';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return /^[0-9a-f]{40,64}$/.test(text) ? text.slice(0, 10) : text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
