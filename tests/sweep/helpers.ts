// A small experiment whose whole pipeline runs on this machine: the fixture trainer (Python, stdlib only),
// the fixture sampler (Node, crops of the public-domain face photos) and the real CPU scorer.
import { execa, type ResultPromise } from 'execa';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { BIN, harness, REPO, type CliResult } from '../helpers/cli.ts';
import { PINNED_BASE } from '../helpers/experiment.ts';
import { tempDir } from '../helpers/tmp.ts';

export const FIXTURE_SCRIPT = path.join(REPO, 'tests/fixtures/trainer/train_dreambooth_lora_sdxl.py');
const FIXTURE_SITE = path.join(REPO, 'tests/fixtures/trainer/site');
const FAKE_SAMPLER = path.join(REPO, 'tests/fixtures/sampler/fake-sampler.mjs');
const FACES = path.join(REPO, 'tests/fixtures/faces');

export const EXPERIMENT = `name: sweep-exp
${PINNED_BASE}dataset:
  dir: data
  instance_prompt: a photo of TOK boy
  caption_prefix: "a photo of TOK boy, "
  image_size: 256
  min_images: 2
baseline:
  resolution: 64
  train_batch_size: 2
  learning_rate: 1.0e-4
  lr_warmup_steps: 0
  max_train_steps: 8
  checkpointing_steps: 4
  mixed_precision: fp16
  seed: 0
variants:
  lr-low:
    learning_rate: 5.0e-5
  rank-8:
    rank: 8
samples:
  prompts:
    - id: portrait
      prompt: a photo of TOK boy, portrait
  seeds: [1, 2]
  steps: 2
  width: 256
  height: 256
  control: true
`;

export interface SweepWorkspace {
  root: string;
  store: string;
  env: Record<string, string | undefined>;
  args(extra?: string[]): string[];
}

/** `root`: an existing empty folder (benchmarks); by default a temp folder removed after the test file. */
export async function sweepWorkspace(root?: string): Promise<SweepWorkspace> {
  root ??= await tempDir('harness-sweep-');
  const data = path.join(root, 'data');
  await mkdir(data, { recursive: true });
  const lines: string[] = [];
  const photos = ['astronaut.jpg', 'astronaut.jpg', 'grace_hopper.jpg'];
  for (const [i, photo] of photos.entries()) {
    const name = `img${i}.png`;
    let image = sharp(path.join(FACES, photo)).resize(256, 256, { fit: 'cover' });
    if (i === 1) image = image.flop();
    await image.png().toFile(path.join(data, name));
    lines.push(JSON.stringify({ file_name: name, prompt: `a photo of TOK boy, photo number ${i}` }));
  }
  await writeFile(path.join(data, 'metadata.jsonl'), `${lines.join('\n')}\n`);
  for (const folder of ['model', 'vae', 'cache']) await mkdir(path.join(root, folder), { recursive: true });
  await writeFile(path.join(root, 'exp.yaml'), EXPERIMENT);
  const store = path.join(root, 'runs');
  return {
    root,
    store,
    env: {
      PYTHONPATH: FIXTURE_SITE,
      XDG_CACHE_HOME: path.join(root, 'cache'),
      HARNESS_PYTHON: 'python3',
      HARNESS_SAMPLER_SCRIPT: FAKE_SAMPLER,
      HARNESS_SAMPLER_PYTHON: process.execPath,
      HARNESS_KILL_GRACE_MS: '3000',
      HARNESS_MIN_FREE_MB: '1',
      WANDB_MODE: 'disabled',
    },
    args: (extra = []) => [
      'sweep', 'exp.yaml', '--store', store, '--script', FIXTURE_SCRIPT, '--model', 'model', '--vae', 'vae', '--no-preflight', '--device', 'cpu', ...extra,
    ],
  };
}

export function runSweep(ws: SweepWorkspace, extra: string[] = [], env: Record<string, string> = {}): Promise<CliResult> {
  return harness(ws.args(extra), { cwd: ws.root, env: { ...ws.env, ...env }, timeout: 240_000 });
}

/** The harness as a child we can signal or kill -9 mid-way. */
export function startSweep(ws: SweepWorkspace, extra: string[] = [], env: Record<string, string> = {}): ResultPromise {
  return execa(process.execPath, [BIN, ...ws.args(extra)], { cwd: ws.root, env: { NO_COLOR: '1', ...ws.env, ...env }, reject: false, timeout: 240_000 });
}

export async function readJsonLinesOf(file: string): Promise<any[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

/**
 * What a finished store holds, independent of timing: per run its state, the metric steps, the sample
 * sets with their images' sha256, and the score reports. Two stores that reached the same end agree here.
 */
export async function storeDigest(store: string): Promise<Record<string, unknown>> {
  const experiment = path.join(store, 'sweep-exp');
  const out: Record<string, unknown> = {};
  for (const id of (await readdir(experiment)).sort()) {
    if (id.startsWith('.') || id === '_cache') continue;
    const dir = path.join(experiment, id);
    const status = JSON.parse(await readFile(path.join(dir, 'status.json'), 'utf8').catch(() => '{}'));
    const events = await readJsonLinesOf(path.join(dir, 'events.jsonl'));
    const sets: Record<string, Record<string, string>> = {};
    for (const set of (await readdir(path.join(dir, 'samples')).catch(() => [])).sort()) {
      const files = (await readdir(path.join(dir, 'samples', set))).filter((f) => f.endsWith('.png')).sort();
      sets[set] = Object.fromEntries(await Promise.all(files.map(async (f) => [f, createHash('sha256').update(await readFile(path.join(dir, 'samples', set, f))).digest('hex')])));
    }
    const scores: Record<string, unknown> = {};
    for (const file of (await readdir(path.join(dir, 'scores')).catch(() => [])).sort()) {
      const report = JSON.parse(await readFile(path.join(dir, 'scores', file), 'utf8'));
      delete report.reference.dir; // the workspace's temp folder
      scores[file] = report;
    }
    out[id] = { state: status.state ?? null, metricSteps: events.filter((e) => e.type === 'metric').map((e) => e.step), sets, scores };
  }
  return out;
}

export async function runIds(store: string): Promise<string[]> {
  return (await readdir(path.join(store, 'sweep-exp'))).filter((n) => !n.startsWith('_') && !n.startsWith('.')).sort();
}

export { REPO };
export { waitFor } from '../helpers/wait.ts';
