// env.json is written by the trainer and its shape may grow: read what is there under the names a
// trainer is likely to use, and show everything else verbatim in the reproducibility block.

type Json = Record<string, unknown>;

function at(env: Json, dotted: string): unknown {
  let value: unknown = env;
  for (const key of dotted.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Json)[key];
  }
  return value;
}

function first(env: Json | null, paths: string[]): unknown {
  if (!env) return undefined;
  for (const p of paths) {
    const value = at(env, p);
    if (value !== undefined && value !== null && value !== '') return value;
  }
  return undefined;
}

export function envString(env: Json | null, paths: string[]): string | null {
  const value = first(env, paths);
  return typeof value === 'string' || typeof value === 'number' ? String(value) : null;
}

export function gpuName(env: Json | null): string | null {
  return envString(env, ['gpu.name', 'gpu_name', 'gpus.0.name', 'device.name', 'cuda_device_name']);
}

/** The card's memory in MiB, from MiB, bytes or GiB fields. */
export function gpuMemoryMb(env: Json | null): number | null {
  const mb = first(env, ['gpu.memory_mb', 'gpu.total_memory_mb', 'gpu.memory_total_mb', 'gpu_memory_mb', 'gpu_total_memory_mb', 'gpus.0.memory_mb', 'gpus.0.total_memory_mb']);
  if (typeof mb === 'number' && mb > 0) return mb;
  const bytes = first(env, ['gpu.total_memory', 'gpu.memory_bytes', 'gpu_total_memory', 'gpus.0.total_memory']);
  if (typeof bytes === 'number' && bytes > 1e6) return bytes / (1024 * 1024);
  const gb = first(env, ['gpu.memory_gb', 'gpu.total_memory_gb', 'gpu_memory_gb', 'gpus.0.memory_gb']);
  if (typeof gb === 'number' && gb > 0) return gb * 1024;
  return null;
}

/** Scalar leaves as `a.b.c → value`, sorted: the verbatim part of the reproducibility block. */
export function flattenEnv(env: Json | null, prefix = ''): [string, string][] {
  if (!env) return [];
  const out: [string, string][] = [];
  for (const key of Object.keys(env).sort()) {
    if (prefix === '' && key === 'schemaVersion') continue;
    const value = env[key];
    const name = prefix ? `${prefix}.${key}` : key;
    if (value === null || value === undefined) continue;
    if (Array.isArray(value)) {
      if (value.every((v) => typeof v !== 'object' || v === null)) out.push([name, value.join(', ')]);
      else value.forEach((v, i) => out.push(...flattenEnv(v as Json, `${name}.${i}`)));
    } else if (typeof value === 'object') out.push(...flattenEnv(value as Json, name));
    else out.push([name, String(value)]);
  }
  return out;
}
