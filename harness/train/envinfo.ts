// The Python environment as python/envinfo.py reports it, and what training needs from it.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TrainingSettings } from '../config/schema.ts';
import { runCapture } from '../runner/process.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const PYTHON_DIR = path.join(REPO_ROOT, 'python');
export const REQUIREMENTS_FILE = 'python/requirements-cuda.txt';
export const INSTALL_COMMAND = `pip install -r ${REQUIREMENTS_FILE}`;

export interface GpuInfo {
  index: number;
  name: string;
  capability: string;
  memory_mb: number | null;
  driver: string | null;
}

export interface EnvInfo {
  schemaVersion: number;
  python: { version: string; executable: string; implementation: string };
  platform: string;
  packages: Record<string, string | null>;
  torch: { version: string | null; cuda: string | null; cudnn: number | null; arch_list: string[]; cuda_available: boolean; device_count: number } | null;
  gpus: GpuInfo[];
  errors: string[];
}

export type EnvProbe = { ok: true; info: EnvInfo } | { ok: false; python: string; message: string };

export function defaultPython(env: NodeJS.ProcessEnv): string {
  return env.HARNESS_PYTHON || 'python3';
}

export async function probeEnv(python: string, options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<EnvProbe> {
  const result = await runCapture(python, [path.join(PYTHON_DIR, 'envinfo.py')], { cwd: options.cwd, baseEnv: options.env, timeoutMs: 180_000 });
  if (result.failure) return { ok: false, python, message: `cannot run ${python}: ${result.failure}` };
  if (result.exitCode !== 0) return { ok: false, python, message: `${python} python/envinfo.py exited ${result.exitCode}: ${result.stderr.trim().split('\n').slice(-3).join(' / ')}` };
  try {
    return { ok: true, info: JSON.parse(result.stdout) as EnvInfo };
  } catch {
    return { ok: false, python, message: `${python} python/envinfo.py printed no JSON` };
  }
}

/** Packages the script imports for these settings (missing ones fail at import or, worse, silently). */
/**
 * Where training and sampling run when --device does not say: the CPU when torch is there and sees no CUDA
 * GPU, else cuda (also when the Python or its torch is missing: the checks then say so, for the GPU the
 * experiment was written for, rather than judging its settings for a CPU nobody chose).
 */
export function defaultDevice(probe: EnvProbe): 'cuda' | 'cpu' {
  if (!probe.ok || !probe.info.torch) return 'cuda';
  return probe.info.torch.cuda_available && probe.info.gpus.length > 0 ? 'cuda' : 'cpu';
}

export function requiredPackages(settings: TrainingSettings): string[] {
  const names = ['torch', 'torchvision', 'diffusers', 'transformers', 'accelerate', 'peft', 'datasets', 'safetensors', 'huggingface-hub', 'pillow', 'numpy', 'tqdm'];
  if (settings.use_8bit_adam === true) names.push('bitsandbytes');
  if (String(settings.optimizer ?? '').toLowerCase() === 'prodigy') names.push('prodigyopt');
  if (settings.enable_xformers_memory_efficient_attention === true) names.push('xformers');
  if (settings.report_to === 'tensorboard' || settings.report_to === 'all') names.push('tensorboard');
  return names;
}

export function missingPackages(info: EnvInfo, settings: TrainingSettings): string[] {
  return requiredPackages(settings).filter((name) => !info.packages[name]);
}

export function parseCapability(text: string): number {
  const [major, minor] = text.split('.').map(Number);
  return (major ?? 0) * 10 + (minor ?? 0);
}

/** torch ships kernels for the GPU when its arch list has sm_XY for the card, or PTX (compute_XY) at or below it. */
export function torchHasKernelsFor(archList: string[], capability: string): boolean {
  const target = parseCapability(capability);
  return archList.some((arch) => {
    const sm = /^sm_(\d+)$/.exec(arch);
    // a cubin runs on its own major version at the same or a higher minor (sm_60 kernels run on sm_61)
    if (sm) return Math.floor(Number(sm[1]) / 10) === Math.floor(target / 10) && Number(sm[1]) <= target;
    const ptx = /^compute_(\d+)$/.exec(arch);
    return ptx ? Number(ptx[1]) <= target : false;
  });
}
