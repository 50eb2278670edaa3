// The real StableDiffusionXLPipeline with load_lora_weights and a fresh CPU generator per image, driven by
// `harness sample` on the tiny SDXL: fixed prompts × fixed seeds must give the same bytes every time, also
// when the sampler and the harness were killed with -9 in the middle of a set.
import { execa } from 'execa';
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, harness } from '../helpers/cli.ts';
import { sha256File } from '../../harness/util/hash.ts';
import { demoWorkspace, realStack } from './stack.ts';
import { killTree, processesWith } from './kill.ts';
import { waitFor } from '../helpers/wait.ts';

const TIMEOUT = 300_000;

/** file name → sha256 of every PNG in a set folder */
async function pngHashes(dir: string): Promise<Record<string, string>> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.png')).sort();
  return Object.fromEntries(await Promise.all(names.map(async (n) => [n, await sha256File(path.join(dir, n))] as const)));
}

describe('sampling through the real pipeline', () => {
  it('renders the same bytes twice, and after kill -9 of harness and sampler mid-set renders only what is missing', { timeout: TIMEOUT }, async () => {
    const stack = await realStack();
    // 2 prompts × 4 seeds at 6 steps: slow enough (about a second an image) to be killed mid-set
    const ws = await demoWorkspace((yaml) => yaml.replace('seeds: [11, 22]', 'seeds: [11, 22, 33, 44]').replace('  steps: 4\n', '  steps: 6\n'));
    const trained = await harness(['run', ws.experiment, '--variant', 'baseline', '--until', 'train', '--store', ws.store], { cwd: ws.root, env: stack.env, timeout: TIMEOUT });
    expect(trained.exitCode, trained.stderr).toBe(0);
    const args = ['sample', ws.experiment, '--variant', 'baseline', '--checkpoint', 'final', '--no-control', '--store', ws.store, '--json'];

    const first = await harness(args, { cwd: ws.root, env: stack.env, timeout: TIMEOUT });
    expect(first.exitCode, first.stderr).toBe(0);
    const [set] = JSON.parse(first.stdout).sets;
    expect(set).toMatchObject({ status: 'rendered', images: 8, rendered: 8 });
    const reference = await pngHashes(set.dir);
    expect(Object.keys(reference)).toHaveLength(8);
    // the sidecars say how each image was made: the real pipeline, on the CPU, with the run's LoRA
    const sidecar = JSON.parse(await readFile(path.join(set.dir, '01-profile-before__s11.json'), 'utf8'));
    expect(sidecar).toMatchObject({
      seed: 11,
      steps: 6,
      generator: "torch.Generator('cpu').manual_seed(seed)",
      device: 'cpu',
      weights: { kind: 'final', path: path.join(path.dirname(path.dirname(set.dir)), 'output', 'pytorch_lora_weights.safetensors') },
      model: { id: 'harness/tiny-sdxl', commit: '68f9b19ffe2b6e5c3285b1b06fff32c22e5267fc' },
      env: { diffusers: '0.40.0', torch: '2.13.0+cpu' },
    });
    // noise by construction, but not constant: a LoRA and a seed change the pixels
    expect(new Set(Object.values(reference)).size).toBe(8);

    await rm(set.dir, { recursive: true });
    const again = await harness(args, { cwd: ws.root, env: stack.env, timeout: TIMEOUT });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(await pngHashes(set.dir)).toEqual(reference);

    await rm(set.dir, { recursive: true });
    const child = execa(process.execPath, [BIN, ...args], { cwd: ws.root, env: { ...stack.env, NO_COLOR: '1' }, reject: false });
    await waitFor('two images of the set', async () => (await readdir(set.dir).catch(() => [] as string[])).filter((n) => n.endsWith('.json') && n.includes('__s')).length >= 2, 240_000);
    killTree([child.pid!, ...(await processesWith(path.join(set.dir, 'sampler-spec.json')))]);
    await child;
    const survivors = Object.keys(await pngHashes(set.dir));
    expect(survivors.length).toBeGreaterThanOrEqual(2);
    expect(survivors.length).toBeLessThan(8);

    const resumed = await harness(args, { cwd: ws.root, env: stack.env, timeout: TIMEOUT });
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    const [after] = JSON.parse(resumed.stdout).sets;
    expect(after.status).toBe('resumed');
    expect(after.rendered).toBeLessThanOrEqual(8 - survivors.length + 1); // a PNG cut mid-write is redone
    expect(await pngHashes(set.dir)).toEqual(reference);
  });
});
