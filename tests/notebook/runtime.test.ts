// notebooks/tok-boy.ipynb run as a first-time user runs it: "Run all" on a fresh Colab or Kaggle runtime, then
// cells again as people do. The runtime is simulated at its boundary only (tests/notebook/sim/runtime.ts);
// git, npm, pip and every harness command are real, on the CPU stack standing in for CUDA.
import { cp, lstat, mkdir, readFile, readdir, readlink, realpath, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { makeRuntime, makeShared, runNotebook, summary, T4, type Runtime, type RunResult, type Shared } from './sim/runtime.ts';

const DEMO_PHOTOS = path.join(REPO, 'data', 'demo');
const NAME = 'notebook-sim';
const SLOW = 360_000;

let shared: Shared;
beforeAll(async () => {
  shared = await makeShared(await tempDir('harness-nbsim-'));
}, 120_000);

type Sim = { runtime: Runtime; result: RunResult };
let sims: Promise<{ colab: Sim; kaggle: Sim }> | undefined;
/** Both platform runs, started together (most of their time is process start-up and waiting, not CPU). */
function bothSims(): Promise<{ colab: Sim; kaggle: Sim }> {
  sims ??= (async () => {
    const [colab, kaggle] = await Promise.all([colabSim(), kaggleSim()]);
    return { colab, kaggle };
  })();
  return sims;
}

/** The demo photos as a user's dataset folder (without the notice file; without captions when asked). */
async function putPhotos(dir: string, { captions = true } = {}): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const file of await readdir(DEMO_PHOTOS)) {
    if (file.endsWith('.png') || (captions && file === 'metadata.jsonl')) await cp(path.join(DEMO_PHOTOS, file), path.join(dir, file));
  }
}

function displays(result: RunResult): { type: string; filename?: string; text?: string }[] {
  return result.log.filter((e) => e.kind === 'display') as never;
}

function allOk(result: RunResult): void {
  expect(result.steps.every((s) => s.status === 'ok'), summary(result)).toBe(true);
}

const HF_TOKEN = 'hf_simulatedSecretValueNeverPrinted';

/** Colab, T4: Run all (baseline only, goldens accepted), then cells again as a user does. */
async function colabSim(): Promise<Sim> {
  const runtime = await makeRuntime(await tempDir('harness-colab-'), 'colab');
  await putPhotos(path.join(runtime.drive, 'harness', 'tok-boy'));
  const result = await runNotebook(runtime, {
    shared,
    gpus: [T4],
    secrets: { HF_TOKEN },
    form: { RUNS_PER_SESSION: 0, ACCEPT_GOLDENS: true },
    steps: [
      'all',
      // the checkout still links data/tok-boy to where the photos were once
      { exec: `os.remove(TARGET); os.symlink(${JSON.stringify(path.join(runtime.root, 'gone'))}, TARGET)` },
      'storage', // Drive again (the last cell unmounted it)
      'checkout', // run twice: stays in the one checkout
      { exec: 'print("cwd:", os.getcwd())' },
      'dataset',
      'baseline', // done: skipped
      'check', // goldens exist now: a real check
    ],
  });
  return { runtime, result };
}

/** Kaggle, T4 ×2: photos without captions in the read-only input; one more run; checkpoints pruned. */
async function kaggleSim(): Promise<Sim> {
  const runtime = await makeRuntime(await tempDir('harness-kaggle-'), 'kaggle');
  await putPhotos(path.join(runtime.kaggle, 'input', 'tok-boy'), { captions: false });
  const result = await runNotebook(runtime, {
    shared,
    gpus: [T4, T4],
    form: { CAPTION: true, RUNS_PER_SESSION: 1, PRUNE_CHECKPOINTS: true },
    env: { HARNESS_CAPTION_SCRIPT: path.join(REPO, 'tests', 'fixtures', 'captioner', 'fake_caption.py') },
    steps: ['all'],
  });
  return { runtime, result };
}

describe('the notebook on a simulated Colab T4', () => {
  let colab: Runtime;
  let result: RunResult;

  beforeAll(async () => {
    ({ runtime: colab, result } = (await bothSims()).colab);
  }, SLOW);

  it('runs every cell, then the same cells again, without a stop', () => {
    allOk(result);
    expect(result.steps.map((s) => s.id).slice(0, 3)).toEqual(['settings', 'runtime', 'storage']);
  });

  it('finds Colab, the T4 and its fp16, mounts Drive, and reads secrets from the Colab panel without printing them', () => {
    expect(result.byId('runtime').output).toContain('GPU 0: Tesla T4, compute capability 7.5');
    expect(result.byId('runtime').output).toContain('platform: colab');
    expect(result.log.filter((e) => e.kind === 'drive.mount').map((e) => e.mountpoint)).toEqual([path.join(colab.content, 'drive'), path.join(colab.content, 'drive')]);
    expect(result.log.filter((e) => e.kind === 'colab.userdata.get').map((e) => e.name)).toEqual(['WANDB_API_KEY', 'HF_TOKEN', 'WANDB_API_KEY', 'HF_TOKEN']);
    expect(result.log.some((e) => e.kind === 'kaggle.get_secret')).toBe(false);
    expect(result.byId('storage').output).toMatch(/HF_TOKEN: set/);
    expect(result.byId('storage').output).toMatch(/WANDB_API_KEY: not set: runs are recorded offline/);
    expect(result.output).not.toContain(HF_TOKEN);
  });

  it('installs a maintained Node.js LTS when the runtime has an older one (compared as major, minor)', async () => {
    expect(result.byId('node').output).toMatch(/Node\.js 20\.\d+ is below 22\.11: installing Node 24 LTS/);
    expect(result.byId('node').output).toContain('Node.js 24.0');
    expect((await stat(path.join(colab.nodePrefix, 'bin', 'node'))).isFile()).toBe(true);
  });

  it('clones once into an absolute checkout and calls its own bin; a second run of the cell stays there', async () => {
    const checkout = path.join(colab.content, 'harness');
    expect((await stat(path.join(checkout, '.git'))).isDirectory()).toBe(true);
    await expect(stat(path.join(checkout, 'harness', '.git'))).rejects.toThrow(); // harness/ is the sources
    expect(result.output).toContain(`cwd: ${checkout}\n`);
    const clones = result.output.match(/\$ git clone /g) ?? [];
    expect(clones).toHaveLength(1);
    expect(result.output).toContain(`$ node ${checkout}/bin/harness.js --version`);
    expect(result.output).not.toMatch(/\bnpx harness\b/);
  });

  it('installs the requirements into the Python the harness uses, and doctor checks it', () => {
    const python = result.byId('python').output;
    expect(python).toMatch(/\$ \S+\/bin\/python -m pip install -r python\/requirements-cpu\.txt/);
    expect(python).toMatch(/ok\s+torch\s+2\.13\.0\+cpu/);
    // the CPU stand-in: doctor judges the environment for the CPU it has, and finds it ready
    expect(python).toContain('ready to train');
    expect(python).not.toContain('sees no CUDA GPU');
  });

  it('puts the dataset where the experiment reads it, checked with --experiment; a stale link is replaced', async () => {
    const target = path.join(colab.content, 'harness', 'data', 'tok-boy');
    expect((await lstat(target)).isSymbolicLink()).toBe(true);
    expect(await readlink(target)).toBe(path.join(colab.content, 'drive', 'MyDrive', 'harness', 'tok-boy'));
    expect(await realpath(target)).toBe(await realpath(path.join(colab.drive, 'harness', 'tok-boy')));
    const runs = result.steps.filter((s) => s.id === 'dataset');
    expect(runs).toHaveLength(2);
    for (const run of runs) expect(run.output).toContain('/bin/harness.js dataset check --experiment experiments/notebook-sim.yaml');
    expect(runs[1]!.output).toContain(`${target} -> `);
  });

  it('trains the baseline into the store on Drive, with per-image sampling progress; the second time it is skipped', async () => {
    const store = path.join(colab.drive, 'harness', 'runs', NAME);
    const runs = (await readdir(store)).filter((r) => r.startsWith('baseline-'));
    expect(runs).toHaveLength(1);
    expect(JSON.parse(await readFile(path.join(store, runs[0]!, 'status.json'), 'utf8')).state).toBe('done');
    const [first, again] = result.steps.filter((s) => s.id === 'baseline');
    expect(first!.output).toContain(`sweep experiments/notebook-sim.yaml --variant baseline\n`);
    expect(first!.output).toMatch(/image 1\/2 \S+\.png \([\d.]+ s, ETA \d+s\)/);
    expect(again!.output).toMatch(/already done, skipped/);
    expect(result.byId('more-runs').output).toMatch(/1 of 2 runs not done yet; none more this session/);
  });

  it('shows the report inline: text, the SVG chart, the contact sheets and the series, read beside report.md', async () => {
    // the report sits beside the run store: reports/ next to runs/ on Drive
    const reportDir = await realpath(path.join(colab.drive, 'harness', 'reports', NAME));
    const shown = displays(result);
    const files = await Promise.all(shown.filter((d) => d.filename).map(async (d) => path.relative(reportDir, await realpath(d.filename!))));
    expect(files).toContain('charts/loss.svg');
    expect(files.filter((f) => /^sheets\/0[12]-[a-z-]+\.png$/.test(f))).toHaveLength(2);
    expect(files.filter((f) => /^series\/baseline-[0-9a-f]{8}\.png$/.test(f))).toHaveLength(1);
    expect(files.every((f) => !f.startsWith('..'))).toBe(true);
    expect(shown.find((d) => d.filename?.endsWith('.svg'))!.type).toBe('svg');
    // in report order: the run table before the charts, the charts before the sheets, the sheets before the series
    const order = (re: RegExp) => shown.findIndex((d) => re.test(d.filename ?? d.text ?? ''));
    expect(order(/## Runs/)).toBeLessThan(order(/charts\/loss\.svg$/));
    expect(order(/charts\/loss\.svg$/)).toBeLessThan(order(/sheets\//));
    expect(order(/sheets\//)).toBeLessThan(order(/series\//));
    // no Markdown image or link left pointing at a file the notebook cannot resolve
    for (const text of shown.filter((d) => d.type === 'markdown').map((d) => d.text!)) {
      expect(text).not.toMatch(/!\[/);
      expect(text).not.toMatch(/\]\((?!https?:)[^)]+\)/);
    }
    const markdown = shown.filter((d) => d.type === 'markdown').map((d) => d.text).join('\n');
    expect(markdown).toContain('## Reproducibility');
  });

  it('accepts goldens only when asked, keeps them on Drive, and checks against them afterwards', async () => {
    const checks = result.steps.filter((s) => s.id === 'check');
    expect(checks[0]!.output).toContain('check experiments/notebook-sim.yaml --accept');
    expect((await stat(path.join(colab.drive, 'harness', 'goldens', NAME, 'baseline', 'golden.json'))).isFile()).toBe(true);
    expect(checks[1]!.output).toContain('$ node ');
    expect(checks[1]!.output).toMatch(/check experiments\/notebook-sim\.yaml\n/);
    expect(checks[1]!.output).toMatch(/^pass: 2 images at the exact tier/m);
  });

  it('flushes and unmounts Drive at the end, after saying how large the store is', () => {
    expect(result.byId('end').output).toMatch(/the run store holds [\d.]+ GiB/);
    expect(result.log.filter((e) => e.kind === 'drive.flush_and_unmount')).toHaveLength(1);
    expect(result.byId('publish').output).toContain('HUB_REPO is empty: nothing is published');
  });
});

describe('the notebook on a simulated Kaggle T4 ×2', () => {
  let kaggle: Runtime;
  let result: RunResult;
  let input: string;

  beforeAll(async () => {
    ({ runtime: kaggle, result } = (await bothSims()).kaggle);
    input = path.join(kaggle.kaggle, 'input', 'tok-boy');
  }, SLOW);

  it('runs every cell', () => allOk(result));

  it('is Kaggle although the image looks like Colab: no Drive, Kaggle secrets only, the store in /kaggle/working', async () => {
    expect(result.byId('runtime').output).toContain('platform: kaggle');
    expect(result.byId('runtime').output).toMatch(/Settings > Internet[\s\S]*Persistence > Files[\s\S]*20 GB/);
    expect(result.log.filter((e) => e.kind.startsWith('drive.') || e.kind === 'colab.userdata.get')).toEqual([]);
    expect(result.log.filter((e) => e.kind === 'kaggle.get_secret').map((e) => e.name)).toEqual(['WANDB_API_KEY', 'HF_TOKEN']);
    expect(result.byId('storage').output).toMatch(/HF_TOKEN: not set: the models download without it; publishing needs it/);
    expect((await stat(path.join(kaggle.kaggle, 'temp', 'harness', '.git'))).isDirectory()).toBe(true);
    expect((await readdir(path.join(kaggle.kaggle, 'working', 'runs', NAME))).filter((r) => /^(baseline|lr-high)-/.test(r))).toHaveLength(2);
  });

  it('captions a writable copy of the read-only input, kept in /kaggle/working, and trains from it', async () => {
    const copy = path.join(kaggle.kaggle, 'working', 'data', 'tok-boy');
    expect(await readdir(input)).not.toContain('metadata.jsonl');
    expect(await readFile(path.join(copy, 'metadata.jsonl'), 'utf8')).toMatch(/"prompt": ?"a photo of TOK boy, /);
    expect(await readlink(path.join(kaggle.kaggle, 'temp', 'harness', 'data', 'tok-boy'))).toBe(copy);
    expect(result.byId('dataset').output).toContain('caption --experiment experiments/notebook-sim.yaml');
  });

  it('trains on both GPUs (--gpus 0,1) and counts --max-runs past the finished baseline', () => {
    expect(result.byId('baseline').output).toContain('--variant baseline --gpus 0,1\n');
    expect(result.byId('more-runs').output).toContain('this session: lr-high (1 of 2 runs not done yet)');
    expect(result.byId('more-runs').output).toContain('sweep experiments/notebook-sim.yaml --max-runs 2 --gpus 0,1\n');
  });

  it('explains where goldens come from on first use instead of failing', async () => {
    expect(result.byId('check').output).toMatch(/No goldens yet[\s\S]*ACCEPT_GOLDENS[\s\S]*harness check --accept/);
    await expect(stat(path.join(kaggle.kaggle, 'temp', 'harness', 'experiments', 'goldens', NAME))).rejects.toThrow();
  });

  it('prunes the checkpoints of finished runs and keeps their weights and samples', async () => {
    const store = path.join(kaggle.kaggle, 'working', 'runs', NAME);
    for (const run of (await readdir(store)).filter((r) => /^(baseline|lr-high)-/.test(r))) {
      const output = await readdir(path.join(store, run, 'output'));
      expect(output.filter((f) => f.startsWith('checkpoint-')), run).toEqual([]);
      expect(output).toContain('pytorch_lora_weights.safetensors');
      expect(result.byId('end').output).toContain(`deleted ${run}/output/checkpoint-3`);
    }
    expect(result.byId('end').output).toMatch(/freed [\d.]+ GiB/);
  });
});

describe('the notebook stops early, with the reason, where a first-time user goes wrong', () => {
  let root: string;
  beforeAll(async () => {
    root = await tempDir('harness-nbstop-');
  });

  it('on a CPU runtime: "choose a GPU runtime", whether nvidia-smi fails or is missing', async () => {
    for (const nvidiaSmi of [true, false]) {
      const runtime = await makeRuntime(path.join(root, `cpu-${nvidiaSmi}`), 'colab');
      const result = await runNotebook(runtime, { shared, gpus: [], nvidiaSmi, steps: ['all'] });
      const last = result.steps[result.steps.length - 1]!;
      expect([last.id, last.status], summary(result)).toEqual(['runtime', 'stopped']);
      expect(last.message).toMatch(/no GPU\. Choose a GPU runtime.*Runtime > Change runtime type/);
    }
  }, SLOW);

  it('publishing asked for without HF_TOKEN: said at the top, before anything is installed or trained', async () => {
    const runtime = await makeRuntime(path.join(root, 'no-token'), 'colab');
    const result = await runNotebook(runtime, { shared, gpus: [T4], form: { HUB_REPO: 'someone/tok-boy-lora' }, steps: ['all'] });
    const last = result.steps[result.steps.length - 1]!;
    expect([last.id, last.status], summary(result)).toEqual(['storage', 'stopped']);
    expect(last.message).toMatch(/HF_TOKEN is not set/);
  }, SLOW);

  describe('a clone URL that cannot work', () => {
    let server: Server;
    beforeAll(async () => {
      // a Git host that wants a password, as GitHub does for a private or mistyped repository
      server = createServer((_req, res) => res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' }).end());
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    });
    afterAll(() => new Promise((resolve) => server.close(resolve)));

    it('the placeholder is refused with what to do; a URL that asks for a password fails instead of waiting', async () => {
      const placeholder = await makeRuntime(path.join(root, 'placeholder'), 'colab');
      const refused = await runNotebook(placeholder, { shared, gpus: [T4], form: { HARNESS_GIT_URL: 'https://github.com/YOUR-ACCOUNT/harness.git' }, steps: ['all'] });
      const last = refused.steps[refused.steps.length - 1]!;
      expect([last.id, last.status], summary(refused)).toEqual(['checkout', 'stopped']);
      expect(last.message).toMatch(/placeholder: fork the harness on GitHub.*Settings cell/);
      expect(last.output).not.toContain('$ git clone');

      const privateRepo = await makeRuntime(path.join(root, 'password'), 'colab');
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/someone/harness.git`;
      const started = Date.now();
      const failed = await runNotebook(privateRepo, { shared, gpus: [T4], form: { HARNESS_GIT_URL: url }, steps: ['all'], env: { GIT_ASKPASS: undefined, SSH_ASKPASS: undefined }, timeoutMs: 120_000 });
      const stop = failed.steps[failed.steps.length - 1]!;
      expect([stop.id, stop.status], summary(failed)).toEqual(['checkout', 'stopped']);
      expect(stop.message).toMatch(/git clone failed with exit code 128/);
      expect(stop.output).toMatch(/terminal prompts disabled/);
      expect(Date.now() - started).toBeLessThan(120_000);
    }, SLOW);
  });
});
