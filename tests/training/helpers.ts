// A small experiment with a real (tiny) dataset, trained by the fixture trainer through the real CLI.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll } from 'vitest';
import { harness, REPO, type CliResult } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { sha256 } from '../../harness/util/hash.ts';

export const FIXTURE_DIR = path.join(REPO, 'tests', 'fixtures', 'trainer');
export const FIXTURE_SCRIPT = path.join(FIXTURE_DIR, 'train_dreambooth_lora_sdxl.py');
export const FIXTURE_SITE = path.join(FIXTURE_DIR, 'site');

export interface Workspace {
  root: string;
  experiment: string;
  store: string;
  model: string;
  vae: string;
  env: Record<string, string | undefined>;
}

export async function makeDataset(dir: string, images = 4, size = 64): Promise<void> {
  await mkdir(dir, { recursive: true });
  const lines: string[] = [];
  for (let i = 0; i < images; i++) {
    const png = new PNG({ width: size, height: size });
    for (let p = 0; p < size * size; p++) {
      png.data[p * 4] = (i * 53 + p) % 256;
      png.data[p * 4 + 1] = (i * 97) % 256;
      png.data[p * 4 + 2] = (p * 7 + i) % 256;
      png.data[p * 4 + 3] = 255;
    }
    const name = `img${String(i).padStart(2, '0')}.png`;
    await writeFile(path.join(dir, name), PNG.sync.write(png));
    lines.push(JSON.stringify({ file_name: name, prompt: `a photo of TOK boy, standing in a field number ${i}` }));
  }
  await writeFile(path.join(dir, 'metadata.jsonl'), `${lines.join('\n')}\n`);
}

export function experimentYaml(baseline: Record<string, string | number | boolean> = {}): string {
  const settings = {
    resolution: 64,
    train_batch_size: 2,
    gradient_accumulation_steps: 1,
    learning_rate: 1e-4,
    lr_scheduler: 'constant',
    lr_warmup_steps: 0,
    max_train_steps: 12,
    rank: 4,
    mixed_precision: 'fp16',
    use_8bit_adam: true,
    gradient_checkpointing: true,
    seed: 0,
    checkpointing_steps: 4,
    report_to: 'tensorboard',
    ...baseline,
  };
  return `name: fixture-exp
base:
  model: { id: stabilityai/stable-diffusion-xl-base-1.0, commit: null }
  vae: { id: madebyollin/sdxl-vae-fp16-fix, commit: null }
  diffusers:
    release: v0.40.0
    commit: d035dcd7cc7c88e0a154609b62887d50bba9fdc2
    script: examples/dreambooth/train_dreambooth_lora_sdxl.py
    sha256: 88ffa83ccf7f45fb79fb7fc7fd23bf49ba87a5ba8b011ae295dd0b57fdd5ddfa
dataset:
  dir: data
  instance_prompt: a photo of TOK boy
  caption_prefix: "a photo of TOK boy, "
  image_size: 64
  min_images: 2
baseline:
${Object.entries(settings).map(([k, v]) => `  ${k}: ${typeof v === 'string' ? JSON.stringify(v) : v}`).join('\n')}
variants:
  accum:
    gradient_accumulation_steps: 2
samples:
  prompts:
    - id: one
      prompt: a photo of TOK boy, in a field
  seeds: [1]
`;
}

export async function workspace(baseline: Record<string, string | number | boolean> = {}): Promise<Workspace> {
  const root = await tempDir('harness-train-');
  await makeDataset(path.join(root, 'data'));
  for (const folder of ['model', 'vae', 'cache']) await mkdir(path.join(root, folder), { recursive: true });
  const experiment = path.join(root, 'exp.yaml');
  await writeFile(experiment, experimentYaml(baseline));
  return {
    root,
    experiment,
    store: path.join(root, 'runs'),
    model: path.join(root, 'model'),
    vae: path.join(root, 'vae'),
    env: { PYTHONPATH: FIXTURE_SITE, XDG_CACHE_HOME: path.join(root, 'cache'), HARNESS_PYTHON: 'python3', HARNESS_KILL_GRACE_MS: '3000' },
  };
}

/** `harness run` with the fixture trainer standing in for the diffusers script. */
export function runArgs(ws: Workspace, variant = 'baseline', extra: string[] = []): string[] {
  return ['run', ws.experiment, '--variant', variant, '--store', ws.store, '--model', ws.model, '--vae', ws.vae, '--script', FIXTURE_SCRIPT, '--no-preflight', '--until', 'train', '--json', ...extra];
}

export async function runFixture(ws: Workspace, env: Record<string, string> = {}, variant = 'baseline', extra: string[] = []): Promise<CliResult & { json: any }> {
  const result = await harness(runArgs(ws, variant, extra), { cwd: ws.root, env: { ...ws.env, ...env }, timeout: 120_000 });
  let json: any;
  try {
    json = JSON.parse(result.stdout);
  } catch {
    json = undefined;
  }
  return { ...result, json };
}

export async function readEvents(runDir: string): Promise<any[]> {
  const text = await readFile(path.join(runDir, 'events.jsonl'), 'utf8');
  return text.trim().split('\n').map((line) => JSON.parse(line));
}

export function metricSteps(events: any[]): number[] {
  return events.filter((e) => e.type === 'metric').map((e) => e.step);
}

/** The diffusers commit the fixture experiment pins the training script at. */
export const SCRIPT_COMMIT = 'd035dcd7cc7c88e0a154609b62887d50bba9fdc2';

export interface RawScriptServer {
  url: string;
  /** the fixture script's bytes, served at /SCRIPT_COMMIT/examples/dreambooth/train_dreambooth_lora_sdxl.py */
  body: Buffer;
  /** every request path, in order */
  requests: string[];
  close(): Promise<void>;
}

/**
 * A loopback server standing in for GitHub's raw files: the fixture script at SCRIPT_COMMIT, an edited copy
 * under /tampered/, 404 otherwise.
 */
export async function rawScriptServer(): Promise<RawScriptServer> {
  const body = await readFile(FIXTURE_SCRIPT);
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.url === `/${SCRIPT_COMMIT}/examples/dreambooth/train_dreambooth_lora_sdxl.py`) res.end(body);
    else if (req.url?.startsWith('/tampered/')) res.end(Buffer.concat([body, Buffer.from('\n# edited\n')]));
    else res.writeHead(404).end('not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    body,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** rawScriptServer() for the test file: started before its tests, closed after; read its fields inside tests. */
export function useRawScriptServer(): RawScriptServer {
  const raw = { url: '', body: Buffer.alloc(0), requests: [] as string[], close: async () => {} };
  beforeAll(async () => Object.assign(raw, await rawScriptServer()));
  afterAll(() => raw.close());
  return raw;
}

/** A fixture workspace whose experiment pins `body`'s sha256 as the script's. */
export async function pinnedWorkspace(body: Buffer): Promise<Workspace> {
  const ws = await workspace();
  const yaml = (await readFile(ws.experiment, 'utf8')).replace(/sha256: [0-9a-f]{64}/, `sha256: ${sha256(body)}`);
  await writeFile(ws.experiment, yaml);
  return ws;
}
