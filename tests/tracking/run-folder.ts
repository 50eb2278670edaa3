// Builds a run folder by hand, as the trainer, sampler and scorer leave it: spec.json, env.json,
// events.jsonl, samples/<set>/set.json + PNGs, scores/<set>.json, status.json.
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PNG } from 'pngjs';
import { REPO } from '../helpers/cli.ts';
import { PINNED_PROVENANCE } from '../helpers/experiment.ts';
import type { RunSpec } from '../../harness/plan/planner.ts';
import type { SampleSetManifest } from '../../harness/samples/types.ts';
import type { ScoreReport } from '../../harness/scoring/types.ts';
import { appendJsonLine, writeJsonAtomic } from '../../harness/store/atomic.ts';
import { controlLayout, runLayout, sampleFileName, sampleSetFiles } from '../../harness/store/layout.ts';
import { sha256 } from '../../harness/util/hash.ts';

export const EXPERIMENT = 'tok-boy';
export const T0 = 1_795_693_973; // unix seconds

export function spec(runId: string, variant = 'baseline'): RunSpec {
  return {
    schemaVersion: 1,
    id: runId,
    hash: `${runId.slice(-8)}${'0'.repeat(56)}`,
    experiment: EXPERIMENT,
    variant,
    overrides: variant === 'baseline' ? {} : { learning_rate: 5e-5 },
    settings: { resolution: 512, train_batch_size: 2, learning_rate: variant === 'baseline' ? 1e-4 : 5e-5, max_train_steps: 20, rank: 4, mixed_precision: 'fp16', seed: 0 },
    provenance: {
      ...PINNED_PROVENANCE,
      datasetHash: 'ab'.repeat(32),
      instancePrompt: 'a photo of TOK boy',
    },
    provisional: false,
    provisionalWhy: [],
    steps: null,
    argv: ['--pretrained_model_name_or_path', '/hub/sdxl'],
    aliases: [],
  };
}

/** env.json as harness/train/records.ts writes it, with python/envinfo.py's report under `python`. */
export const ENV_JSON = {
  recordedAt: new Date(T0 * 1000).toISOString(),
  host: 'gpu-box',
  node: 'v20.19.0',
  harnessGitSha: '0123456789abcdef0123456789abcdef01234567',
  launcher: 'python',
  python: {
    schemaVersion: 1,
    python: { version: '3.11.7', executable: '/venv/bin/python', implementation: 'CPython' },
    platform: 'Linux-6.8.0-x86_64-with-glibc2.36',
    packages: { torch: '2.5.1', diffusers: '0.40.0', accelerate: '1.2.1', xformers: null },
    torch: { version: '2.5.1', cuda: '12.4', cudnn: 90100, arch_list: ['sm_60', 'sm_70'], cuda_available: true, device_count: 1 },
    gpus: [{ index: 0, name: 'Tesla P100-PCIE-16GB', capability: '6.0', memory_mb: 16280, driver: '550.54.15' }],
    errors: [],
  },
};

/** command.json as the runner writes it. */
export const COMMAND_JSON = { attempt: 1, launcher: 'python', file: '/venv/bin/python', args: ['python/train.py', 'spec.json'], cwd: '/work/harness', env: {} };

export function metricEvent(step: number, t = T0 + step * 1.5) {
  return { v: 1, type: 'metric', step, t, loss: 0.5 / step, lr: 1e-4, vram_alloc_mb: 9000 + step, vram_reserved_mb: 11000, vram_peak_mb: 10240 + step };
}

export async function writeEvents(runDir: string, events: object[]): Promise<void> {
  for (const event of events) await appendJsonLine(path.join(runDir, 'events.jsonl'), event);
}

function png(width: number, height: number, shade: number): Buffer {
  const image = new PNG({ width, height });
  for (let i = 0; i < image.data.length; i += 4) {
    image.data[i] = shade;
    image.data[i + 1] = (i / 4) % 256;
    image.data[i + 2] = 255 - shade;
    image.data[i + 3] = 255;
  }
  return PNG.sync.write(image);
}

export const PROMPTS = [
  { id: '01-profile-before', prompt: 'a photo of TOK boy, profile portrait before the event' },
  { id: '02-forest-haze', prompt: 'a photo of TOK boy, standing in a forest in thick haze' },
];
export const SEEDS = [7, 42];

export async function writeSampleSet(runDir: string, runId: string, setId = 'final-abc123'): Promise<{ manifest: SampleSetManifest; dir: string }> {
  const layout = runLayout(path.dirname(path.dirname(runDir)), path.basename(path.dirname(runDir)), runId);
  return writeSet(layout.sampleSet(setId), setId, runId, { kind: 'final', path: 'output/pytorch_lora_weights.safetensors', sha256: 'cd'.repeat(32) });
}

/** The base model's control set of the experiment (shared by its runs), as the sampler leaves it. */
export async function writeControlSet(storeRoot: string, setId = 'control-ef4567', spec: Partial<SampleSetManifest['spec']> = {}): Promise<{ manifest: SampleSetManifest; dir: string }> {
  return writeSet(controlLayout(storeRoot, EXPERIMENT).sampleSet(setId), setId, null, { kind: 'control' }, spec);
}

async function writeSet(
  dir: string,
  setId: string,
  runId: string | null,
  weights: SampleSetManifest['weights'],
  specOverrides: Partial<SampleSetManifest['spec']> = {},
): Promise<{ manifest: SampleSetManifest; dir: string }> {
  await mkdir(dir, { recursive: true });
  const images: SampleSetManifest['images'] = [];
  let shade = 10;
  for (const prompt of PROMPTS) {
    for (const seed of SEEDS) {
      const bytes = png(16, 16, (shade += 40));
      const file = sampleFileName(prompt.id, seed);
      await writeFile(path.join(dir, file), bytes);
      images.push({ promptId: prompt.id, seed, file, sha256: sha256(bytes), width: 16, height: 16 });
    }
  }
  const manifest: SampleSetManifest = {
    schemaVersion: 1,
    setId,
    runId,
    experiment: EXPERIMENT,
    weights,
    spec: { prompts: PROMPTS, seeds: SEEDS, steps: 30, guidance_scale: 5, scheduler: 'euler', width: 16, height: 16, lora_scale: 1, negative_prompt: '', ...specOverrides },
    model: { id: 'stabilityai/stable-diffusion-xl-base-1.0', commit: null },
    vae: { id: 'madebyollin/sdxl-vae-fp16-fix', commit: null },
    images,
    env: {},
    createdAt: new Date((T0 + 100) * 1000).toISOString(),
  };
  await writeJsonAtomic(sampleSetFiles(dir).manifest, manifest);
  return { manifest, dir };
}

export function scoreReport(identity = 0.71): ScoreReport {
  const aggregate = (mean: number | null) => ({ mean, median: mean, ci95: mean === null ? null : ([mean - 0.05, mean + 0.05] as [number, number]), n: 4, total: 4 });
  return {
    schemaVersion: 1,
    scorer: { version: 'test', models: {} },
    reference: { count: 11, ceiling: {} },
    images: [],
    summary: { identity: aggregate(identity), curls: aggregate(0.6), nose: aggregate(null), neck: aggregate(0.8) },
  };
}

export interface RunFolderOptions {
  runId: string;
  variant?: string;
  steps?: number;
  samples?: boolean;
  scores?: boolean;
  state?: 'done' | 'failed' | 'training' | 'trained' | 'sampled';
}

/** A whole run as a finished sweep leaves it. */
export async function makeRunFolder(storeRoot: string, options: RunFolderOptions): Promise<string> {
  const layout = runLayout(storeRoot, EXPERIMENT, options.runId);
  await mkdir(layout.dir, { recursive: true });
  await writeJsonAtomic(layout.spec, spec(options.runId, options.variant));
  await writeJsonAtomic(layout.env, ENV_JSON);
  await writeJsonAtomic(layout.command, COMMAND_JSON);
  const steps = options.steps ?? 20;
  await writeEvents(layout.dir, [{ v: 1, type: 'start', t: T0 }, ...Array.from({ length: steps }, (_, i) => metricEvent(i + 1)), { v: 1, type: 'weights_saved', t: T0 + 60 }]);
  if (options.samples !== false) {
    await writeSampleSet(layout.dir, options.runId);
    if (options.scores !== false) await writeJsonAtomic(layout.scores('final-abc123'), scoreReport());
  }
  const state = options.state ?? 'done';
  await writeJsonAtomic(layout.status, {
    runId: options.runId,
    variant: options.variant ?? 'baseline',
    state,
    ...(state === 'failed' ? { reason: 'crashed', exitCode: 3 } : {}),
    updatedAt: new Date().toISOString(),
    history: [],
  });
  return layout.dir;
}

/** The repository's experiment file, pointed at a W&B project (and mode). */
export async function experimentFile(dir: string, mode = 'auto'): Promise<string> {
  const file = path.join(dir, 'tok-boy.yaml');
  await copyFile(path.join(REPO, 'experiments', 'tok-boy.yaml'), file);
  const text = (await readFile(file, 'utf8')).replace(/tracking:\n  wandb:\n[\s\S]*?(?=\n\S|$)/, `tracking:\n  wandb:\n    project: tok-boy-test\n    mode: ${mode}\n`);
  await writeFile(file, text);
  return file;
}

/** Every byte under a folder, as text, for leak checks. */
export async function allFileText(dir: string): Promise<string> {
  const { readdir } = await import('node:fs/promises');
  let text = '';
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) text += (await readFile(path.join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name))).toString('latin1');
  }
  return text;
}
