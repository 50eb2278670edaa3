// A small experiment, a store with "trained" runs (LoRA files with real bytes), and the fixture sampler.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { REPO } from '../helpers/cli.ts';
import { loadPlanContext, type PlanContext } from '../../harness/commands/context.ts';
import { LORA_WEIGHTS_FILE, runLayout } from '../../harness/store/layout.ts';

export const FAKE_SAMPLER = path.join(REPO, 'tests/fixtures/sampler/fake-sampler.mjs');
const SHA = (c: string) => c.repeat(40);

export function experimentYaml(samples: Record<string, unknown> = {}): string {
  const merged = {
    prompts: [
      { id: 'portrait', prompt: 'a photo of TOK boy, portrait' },
      { id: 'forest', prompt: 'a photo of TOK boy, in a forest', negative_prompt: 'sunlight' },
    ],
    seeds: [11, 22],
    steps: 4,
    guidance_scale: 5,
    scheduler: 'euler',
    width: 64,
    height: 64,
    lora_scale: 1,
    negative_prompt: 'blurry',
    checkpoints: [2],
    control: true,
    ...samples,
  };
  return `name: tiny
base:
  model: { id: stabilityai/stable-diffusion-xl-base-1.0, commit: ${SHA('a')} }
  vae: { id: madebyollin/sdxl-vae-fp16-fix, commit: ${SHA('b')} }
  diffusers:
    release: v0.40.0
    commit: d035dcd7cc7c88e0a154609b62887d50bba9fdc2
    sha256: 88ffa83ccf7f45fb79fb7fc7fd23bf49ba87a5ba8b011ae295dd0b57fdd5ddfa
dataset:
  dir: data
  instance_prompt: a photo of TOK boy
  caption_prefix: "a photo of TOK boy, "
baseline:
  resolution: 512
  train_batch_size: 2
  max_train_steps: 4
  checkpointing_steps: 2
  seed: 0
variants:
  lr-low: { learning_rate: 5.0e-5 }
samples: ${JSON.stringify(merged)}
`;
}

export interface Workspace {
  dir: string;
  file: string;
  store: string;
  model: string;
  vae: string;
  env: NodeJS.ProcessEnv;
  context: PlanContext;
}

export async function workspace(dir: string, samples: Record<string, unknown> = {}): Promise<Workspace> {
  const file = path.join(dir, 'exp.yaml');
  await writeFile(file, experimentYaml(samples));
  const model = path.join(dir, 'snapshots/model');
  const vae = path.join(dir, 'snapshots/vae');
  await mkdir(model, { recursive: true });
  await mkdir(vae, { recursive: true });
  const store = path.join(dir, 'runs');
  const env: NodeJS.ProcessEnv = { ...process.env, HARNESS_SAMPLER_SCRIPT: FAKE_SAMPLER, HARNESS_STORE: undefined };
  const context = await loadPlanContext({ experiment: file, cwd: dir, env, store });
  return { dir, file, store, model, vae, env, context };
}

/** Final weights and complete checkpoints, as the trainer leaves them. Returns the final weights' bytes. */
export async function fakeTrained(ws: Workspace, variant: string, checkpoints: number[] = [2]): Promise<Buffer> {
  const run = ws.context.plan.runs.find((r) => r.variant === variant)!;
  const layout = runLayout(ws.store, 'tiny', run.id);
  const weights = randomBytes(256);
  await mkdir(layout.output, { recursive: true });
  await writeFile(layout.weights, weights);
  for (const step of checkpoints) {
    const dir = layout.checkpoint(step);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, LORA_WEIGHTS_FILE), randomBytes(256));
    for (const name of ['optimizer.bin', 'scheduler.bin', 'random_states_0.pkl']) await writeFile(path.join(dir, name), 'x');
  }
  return weights;
}

export function runOf(ws: Workspace, variant: string) {
  return ws.context.plan.runs.find((r) => r.variant === variant)!;
}

export async function readLines(file: string): Promise<{ pid: number; set_id: string; file: string }[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map((line) => JSON.parse(line));
}
