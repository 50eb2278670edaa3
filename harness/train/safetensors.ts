// Reads a safetensors header (8-byte little-endian length + JSON) without loading tensors, and checks that
// a LoRA file is what the settings asked for: LoRA tensor names, paired down/up matrices of the right rank,
// the UNet attention targets the script trains, and text-encoder tensors exactly when they were trained.
import { open } from 'node:fs/promises';

export interface TensorInfo {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

export interface SafetensorsHeader {
  tensors: Record<string, TensorInfo>;
  metadata: Record<string, string>;
  fileBytes: number;
}

const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export async function readSafetensorsHeader(file: string): Promise<SafetensorsHeader> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    if (size < 8) throw new Error(`${file}: ${size} bytes, too short for a safetensors file`);
    const prefix = Buffer.alloc(8);
    await handle.read(prefix, 0, 8, 0);
    const headerBytes = Number(prefix.readBigUInt64LE(0));
    if (headerBytes > MAX_HEADER_BYTES || 8 + headerBytes > size) {
      throw new Error(`${file}: header length ${headerBytes} does not fit the file (${size} bytes): not a safetensors file or cut short`);
    }
    const json = Buffer.alloc(headerBytes);
    await handle.read(json, 0, headerBytes, 8);
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(json.toString('utf8')) as Record<string, unknown>;
    } catch {
      throw new Error(`${file}: the header is not JSON`);
    }
    const { __metadata__: metadata, ...tensors } = parsed;
    let end = 0;
    for (const [name, info] of Object.entries(tensors as Record<string, TensorInfo>)) {
      if (!info || !Array.isArray(info.shape) || !Array.isArray(info.data_offsets)) throw new Error(`${file}: tensor ${name} has no shape or offsets`);
      end = Math.max(end, info.data_offsets[1]);
    }
    if (8 + headerBytes + end !== size) {
      throw new Error(`${file}: tensors end at byte ${8 + headerBytes + end} but the file has ${size}: cut short or padded`);
    }
    return { tensors: tensors as Record<string, TensorInfo>, metadata: (metadata ?? {}) as Record<string, string>, fileBytes: size };
  } finally {
    await handle.close();
  }
}

export interface LoraExpectation {
  rank: number;
  trainTextEncoder: boolean;
}

export interface LoraCheck {
  ok: boolean;
  problems: string[];
  tensors: number;
  pairs: number;
  ranks: number[];
  components: string[];
  bytes: number;
}

// diffusers writes `…lora.down.weight` (its own format), PEFT `…lora_A.weight`, text encoders `lora_linear_layer.down`.
const DOWN = /\.(lora\.down|lora_A|lora_down|lora_linear_layer\.down)\.weight$/;
const UP = /\.(lora\.up|lora_B|lora_up|lora_linear_layer\.up)\.weight$/;
const EXTRA = /\.(lora_magnitude_vector|alpha)(\.weight)?$|\.lora_magnitude_vector\.[\w.]+$/;
const UNET_TARGETS = ['to_q', 'to_k', 'to_v', 'to_out.0'];

export async function checkLoraFile(file: string, expected: LoraExpectation): Promise<LoraCheck> {
  let header: SafetensorsHeader;
  try {
    header = await readSafetensorsHeader(file);
  } catch (error) {
    return { ok: false, problems: [(error as Error).message], tensors: 0, pairs: 0, ranks: [], components: [], bytes: 0 };
  }
  return checkLoraHeader(header, expected);
}

/** Pure: the header's tensors against the settings. */
export function checkLoraHeader(header: SafetensorsHeader, expected: LoraExpectation): LoraCheck {
  const problems: string[] = [];
  const names = Object.keys(header.tensors);
  const ranks = new Set<number>();
  const components = new Set<string>();
  const downs = new Map<string, TensorInfo>();
  const ups = new Map<string, TensorInfo>();
  for (const name of names) {
    components.add(name.split('.')[0]!);
    const info = header.tensors[name]!;
    if (DOWN.test(name)) downs.set(name.replace(DOWN, ''), info);
    else if (UP.test(name)) ups.set(name.replace(UP, ''), info);
    else if (!EXTRA.test(name)) problems.push(`unexpected tensor ${name}: not a LoRA matrix`);
  }
  if (names.length === 0) problems.push('the file holds no tensors');
  for (const [module, down] of downs) {
    const up = ups.get(module);
    if (!up) {
      problems.push(`${module}: down matrix without its up matrix`);
      continue;
    }
    const downRank = down.shape[0];
    const upRank = up.shape[1]; // [out, rank] for linear layers, [out, rank, 1, 1] for convolutions
    if (downRank !== undefined) ranks.add(downRank);
    if (downRank !== expected.rank || upRank !== expected.rank) {
      problems.push(`${module}: rank ${downRank}/${upRank} (down/up), settings say rank ${expected.rank}`);
    }
  }
  for (const module of ups.keys()) if (!downs.has(module)) problems.push(`${module}: up matrix without its down matrix`);
  const unetModules = [...downs.keys()].filter((m) => m.startsWith('unet.'));
  if (unetModules.length === 0) problems.push('no UNet LoRA tensors (names starting with "unet.")');
  for (const target of UNET_TARGETS) {
    if (unetModules.length && !unetModules.some((m) => m.endsWith(`.${target}`))) problems.push(`no UNet LoRA for ${target}`);
  }
  const hasText = [...components].some((c) => c.startsWith('text_encoder'));
  if (expected.trainTextEncoder && !hasText) problems.push('train_text_encoder is set but the file has no text-encoder LoRA');
  if (!expected.trainTextEncoder && hasText) problems.push('the file has text-encoder LoRA tensors but train_text_encoder is not set');
  const unknown = [...components].filter((c) => !['unet', 'text_encoder', 'text_encoder_2'].includes(c));
  if (unknown.length) problems.push(`tensors outside unet/text_encoder/text_encoder_2: ${unknown.join(', ')}`);
  return {
    ok: problems.length === 0,
    problems: problems.slice(0, 20),
    tensors: names.length,
    pairs: downs.size,
    ranks: [...ranks].sort((a, b) => a - b),
    components: [...components].sort(),
    bytes: header.fileBytes,
  };
}
