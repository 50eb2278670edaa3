// What is refused before a GPU minute is spent (DESIGN.md §5). The checks on settings and environment
// are pure; the dataset check is the dataset module's own (`harness dataset check`).
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { TrainingSettings } from '../config/schema.ts';
import type { Experiment } from '../config/load.ts';
import { INSTALL_COMMAND, missingPackages, parseCapability, torchHasKernelsFor, type EnvInfo } from './envinfo.ts';
import { oomAdvice } from './classify.ts';
import { estimateVramMb } from './vram.ts';
import { gib } from '../report/format.ts';

export interface PreflightFinding {
  check: string;
  message: string;
  hint?: string;
}

export interface PreflightReport {
  errors: PreflightFinding[];
  warnings: PreflightFinding[];
}

export interface SettingsInput {
  settings: TrainingSettings;
  argv: string[];
}

/** Checks that need no GPU and are never skipped. */
export function checkSettings({ argv }: SettingsInput): PreflightReport {
  const errors: PreflightFinding[] = [];
  for (const flag of ['--validation_prompt', '--push_to_hub', '--hub_token']) {
    if (argv.includes(flag)) {
      errors.push({
        check: 'settings',
        message: `${flag} must not reach the trainer`,
        hint: flag === '--validation_prompt' ? 'in-training validation keeps fp32 text encoders on the GPU; sampling is a separate step (samples:)' : 'publishing is `harness push`',
      });
    }
  }
  return { errors, warnings: [] };
}

/** Checks against the Python environment and the device it trains on (skipped with --no-preflight). */
export function checkEnvironment(settings: TrainingSettings, info: EnvInfo, expectedDiffusers: string, device: 'cuda' | 'cpu' = 'cuda'): PreflightReport {
  const errors: PreflightFinding[] = [];
  const warnings: PreflightFinding[] = [];
  const missing = missingPackages(info, settings);
  if (missing.length) {
    errors.push({ check: 'packages', message: `Python packages missing in ${info.python.executable}: ${missing.join(', ')}`, hint: INSTALL_COMMAND });
  }
  const diffusers = info.packages.diffusers;
  const wanted = expectedDiffusers.replace(/^v/, '');
  if (diffusers && !diffusers.startsWith(wanted)) {
    warnings.push({ check: 'packages', message: `diffusers ${diffusers} installed, the pinned script is ${expectedDiffusers} (the script refuses other library versions)`, hint: `pip install diffusers==${wanted}` });
  }
  if (device === 'cpu') return mergeReports({ errors, warnings }, checkCpuSettings(settings));
  const gpu = info.gpus[0];
  if (!info.torch?.cuda_available || !gpu) {
    const why = !info.torch ? 'torch is not installed' : info.torch.cuda === null ? `torch ${info.torch.version} is a CPU-only build` : 'torch sees no CUDA GPU';
    errors.push({
      check: 'gpu',
      message: `${why} in ${info.python.executable}: SDXL training needs an NVIDIA GPU`,
      hint: `${info.torch?.cuda === null ? INSTALL_COMMAND : 'train on a machine with an NVIDIA GPU (`harness doctor` shows what torch sees)'}; without one, experiments/demo.yaml runs the whole workflow on the CPU (a tiny SDXL), and --device cpu trains any experiment there`,
    });
    return { errors, warnings };
  }
  const capability = parseCapability(gpu.capability);
  if (settings.mixed_precision === 'bf16' && capability < 80) {
    errors.push({
      check: 'precision',
      message: `mixed_precision bf16 on ${gpu.name} (compute capability ${gpu.capability}): bf16 needs 8.0 or newer and accelerate does not refuse it (it would run emulated)`,
      hint: 'use mixed_precision: fp16',
    });
  }
  if (info.torch && !torchHasKernelsFor(info.torch.arch_list, gpu.capability)) {
    errors.push({
      check: 'torch',
      message: `torch ${info.torch.version} (CUDA ${info.torch.cuda}) has no kernels for ${gpu.name} (sm_${gpu.capability.replace('.', '')}); its arch list: ${info.torch.arch_list.join(' ') || '(empty)'}`,
      hint: `${INSTALL_COMMAND} (torch from the CUDA 12.6 builds, the last with sm_60)`,
    });
  }
  const estimate = estimateVramMb(settings);
  if (gpu.memory_mb !== null && estimate.totalMb > gpu.memory_mb) {
    warnings.push({
      check: 'vram',
      message: `rough VRAM estimate ${gib(estimate.totalMb)} exceeds ${gpu.name}'s ${gib(gpu.memory_mb)}`,
      hint: oomAdvice(settings),
    });
  }
  return { errors, warnings };
}

/** Settings that need a CUDA GPU, refused before a CPU run starts. */
export function checkCpuSettings(settings: TrainingSettings): PreflightReport {
  const errors: PreflightFinding[] = [];
  if (settings.use_8bit_adam === true) {
    errors.push({ check: 'device', message: 'use_8bit_adam on the CPU: bitsandbytes\' 8-bit Adam needs a CUDA GPU', hint: 'train on a GPU machine, or set use_8bit_adam: false (--set use_8bit_adam=false) for a CPU run' });
  }
  if (settings.mixed_precision === 'fp16') {
    // measured with the pinned script on torch 2.13 CPU: "mat1 and mat2 must have the same dtype, but got Float and Half"
    errors.push({ check: 'device', message: 'mixed_precision fp16 on the CPU: the script crashes at the first step (a float32 LoRA layer meets fp16 weights)', hint: 'train on a GPU machine, or set mixed_precision: "no" for a CPU run' });
  }
  return { errors, warnings: [] };
}

export interface DatasetCheckOutcome {
  report: PreflightReport;
  /** false when the dataset module could not be loaded and only the folder's existence was checked */
  fullCheck: boolean;
}

/** `harness dataset check` as a preflight step; the module is loaded lazily (it pulls in image decoding). */
export async function checkTrainingDataset(
  dir: string,
  experiment: Experiment,
  extra: { modelDir?: string | null; resolutions?: { name: string; resolution: number }[] } = {},
): Promise<DatasetCheckOutcome> {
  let mod: typeof import('../dataset/check.ts') | undefined;
  try {
    mod = await import('../dataset/check.ts');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ERR_MODULE_NOT_FOUND') throw error;
  }
  if (!mod) {
    const { access } = await import('node:fs/promises');
    const exists = await access(dir).then(() => true, () => false);
    return { report: { errors: exists ? [] : [{ check: 'dataset', message: `dataset folder not found: ${dir}` }], warnings: [] }, fullCheck: false };
  }
  const ds = experiment.config.dataset;
  const { captionTokenizer } = await import('../dataset/clip-tokens.ts');
  const result = await mod.checkDataset(dir, {
    imageSize: ds.image_size,
    minImages: ds.min_images,
    captionPrefix: ds.caption_prefix,
    instancePrompt: ds.instance_prompt,
    tokenizer: await captionTokenizer(extra.modelDir),
    ...(extra.resolutions ? { resolutions: extra.resolutions } : {}),
  });
  const format = (p: { file: string; line?: number; message: string }) => `${p.file}${p.line ? `:${p.line}` : ''}: ${p.message}`;
  return {
    report: {
      errors: result.problems.map((p) => ({ check: 'dataset', message: format(p), hint: `harness dataset check ${dir}` })),
      warnings: result.warnings.map((p) => ({ check: 'dataset', message: format(p) })),
    },
    fullCheck: true,
  };
}

export function mergeReports(...reports: PreflightReport[]): PreflightReport {
  return { errors: reports.flatMap((r) => r.errors), warnings: reports.flatMap((r) => r.warnings) };
}

/**
 * The model and VAE folders a run's trainer gets: a missing snapshot folder is an error, a Hub id (not a
 * folder) a warning. What `run`/`sweep` check once up front and each run's preflight again.
 */
export async function checkModels(argv: string[]): Promise<PreflightReport> {
  const errors: PreflightFinding[] = [];
  const warnings: PreflightFinding[] = [];
  for (const flag of ['--pretrained_model_name_or_path', '--pretrained_vae_model_name_or_path']) {
    const value = argv[argv.indexOf(flag) + 1];
    if (!value || argv.indexOf(flag) < 0) continue;
    if (!path.isAbsolute(value)) {
      warnings.push({ check: 'models', message: `${flag} ${value} is unpinned: the script resolves it online, so the run id is provisional` });
    } else if (!(await stat(value).then((s) => s.isDirectory(), () => false))) {
      errors.push({ check: 'models', message: `${flag}: snapshot folder not found: ${value}`, hint: 'run `harness setup <experiment>`, or pass --model DIR / --vae DIR' });
    }
  }
  return { errors, warnings };
}
