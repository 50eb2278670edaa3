import { lstat, readFile, readlink, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harness } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import type { HubServer } from '../fixtures/hub-server/server.ts';
import { BASE_ID, copyExperiment, hubEnv, startHub, VAE_ID } from './helpers.ts';

let hub: HubServer;
let baseCommit: string;
let vaeCommit: string;

beforeAll(async () => {
  ({ hub, baseCommit, vaeCommit } = await startHub());
});
afterAll(async () => hub.close());

describe('harness pin', () => {
  it('writes both commits into the file and changes nothing else', async () => {
    const dir = await tempDir();
    const file = await copyExperiment(dir);
    const before = await readFile(file, 'utf8');
    const result = await harness(['pin', file, '--json'], { cwd: dir, env: hubEnv(hub, path.join(dir, 'hf')) });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const out = JSON.parse(result.stdout);
    expect(out.refs.map((r: { commit: string }) => r.commit)).toEqual([baseCommit, vaeCommit]);
    expect(out.written).toBe(true);

    const after = await readFile(file, 'utf8');
    const changed = diffLines(before, after);
    expect(changed).toEqual([
      ['    commit: null', `    commit: ${baseCommit}`],
      ['    commit: null', `    commit: ${vaeCommit}`],
    ]);

    // pinned now: plan no longer warns about it, and a second pin is a no-op
    const plan = await harness(['plan', file, '--json'], { cwd: dir, env: hubEnv(hub, path.join(dir, 'hf')) });
    expect(plan.stderr).not.toMatch(/not pinned/);
    const again = await harness(['pin', file], { cwd: dir, env: hubEnv(hub, path.join(dir, 'hf')) });
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toMatch(/already pinned/);
    expect(await readFile(file, 'utf8')).toBe(after);
  });

  it('--update moves a pin to the new head of main; --dry-run writes nothing', async () => {
    const dir = await tempDir();
    const file = await copyExperiment(dir);
    const env = hubEnv(hub, path.join(dir, 'hf'));
    await harness(['pin', file], { cwd: dir, env });
    const pinned = await readFile(file, 'utf8');
    const newHead = hub.commitFiles('model', VAE_ID, { 'config.json': '{"_class_name": "AutoencoderKL", "v": 2}' });

    const dry = await harness(['pin', file, '--update', '--dry-run', '--json'], { cwd: dir, env });
    expect(dry.exitCode).toBe(0);
    expect(JSON.parse(dry.stdout).refs[1]).toMatchObject({ id: VAE_ID, before: vaeCommit, commit: newHead, changed: true });
    expect(await readFile(file, 'utf8')).toBe(pinned);

    const real = await harness(['pin', file, '--update'], { cwd: dir, env });
    expect(real.exitCode).toBe(0);
    expect(await readFile(file, 'utf8')).toContain(`commit: ${newHead}`);
  });

  it('adds a commit key that is missing, at the mapping\'s indentation', async () => {
    const dir = await tempDir();
    const file = await copyExperiment(dir);
    const text = (await readFile(file, 'utf8')).replace('    id: madebyollin/sdxl-vae-fp16-fix\n    commit: null\n', '    id: madebyollin/sdxl-vae-fp16-fix # the fp16 fix\n');
    await writeFile(file, text);
    const result = await harness(['pin', file], { cwd: dir, env: hubEnv(hub, path.join(dir, 'hf')) });
    expect(result.exitCode).toBe(0);
    expect(await readFile(file, 'utf8')).toContain(`    id: madebyollin/sdxl-vae-fp16-fix # the fp16 fix\n    commit: ${hub.repo('model', VAE_ID)!.head}\n  diffusers:`);
  });

  it('names the repo and what to do when the model does not exist (exit 3)', async () => {
    const dir = await tempDir();
    const file = await copyExperiment(dir);
    await writeFile(file, (await readFile(file, 'utf8')).replace(`id: ${VAE_ID}`, 'id: nobody/no-such-vae'));
    const result = await harness(['pin', file], { cwd: dir, env: hubEnv(hub, path.join(dir, 'hf')) });
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toMatch(/nobody\/no-such-vae/);
    expect(result.stderr).toMatch(/hint/);
    expect(await readFile(file, 'utf8')).toContain('commit: null');
  });

  it('says a model the harness builds has no Hub pin, and --snapshot downloads nothing for it (the demo)', async () => {
    const dir = await tempDir();
    const demo = path.join(dir, 'demo.yaml');
    await writeFile(demo, await readFile(path.join(import.meta.dirname, '../../experiments/demo.yaml'), 'utf8'));
    const hf = path.join(dir, 'hf');
    const requests = hub.requests.length;
    for (const args of [['pin', demo], ['pin', demo, '--snapshot']]) {
      const result = await harness(args, { cwd: dir, env: hubEnv(hub, hf) });
      expect(result.stderr, args.join(' ')).toBe('');
      expect(result.exitCode, args.join(' ')).toBe(0);
      expect(result.stdout).toContain('demo.yaml has no Hub models to pin: its model and VAE are built by the harness');
    }
    expect(hub.requests.length).toBe(requests);
    expect(await readdir(hf).catch(() => [])).toEqual([]);
  });

  it('--snapshot downloads exactly the pipeline files into the HF cache layout', async () => {
    const dir = await tempDir();
    const file = await copyExperiment(dir);
    const home = path.join(dir, 'hf');
    const result = await harness(['pin', file, '--snapshot', '--json'], { cwd: dir, env: hubEnv(hub, home) });
    expect(result.exitCode, result.stderr).toBe(0);
    const cache = path.join(home, 'hub');
    const baseRoot = path.join(cache, 'models--stabilityai--stable-diffusion-xl-base-1.0');
    const snap = path.join(baseRoot, 'snapshots', baseCommit);
    expect((await listTree(snap)).sort()).toEqual(
      [
        'model_index.json',
        'scheduler/scheduler_config.json',
        'text_encoder/config.json',
        'text_encoder/model.safetensors',
        'text_encoder_2/config.json',
        'text_encoder_2/model.safetensors',
        'tokenizer/merges.txt',
        'tokenizer/special_tokens_map.json',
        'tokenizer/tokenizer_config.json',
        'tokenizer/vocab.json',
        'tokenizer_2/merges.txt',
        'tokenizer_2/special_tokens_map.json',
        'tokenizer_2/tokenizer_config.json',
        'tokenizer_2/vocab.json',
        'unet/config.json',
        'unet/diffusion_pytorch_model.safetensors',
        'vae/config.json',
      ].sort(),
    );
    // each snapshot file is a relative link to a blob named by its sha256 (LFS) or git oid, with the Hub's bytes
    const unet = path.join(snap, 'unet', 'diffusion_pytorch_model.safetensors');
    expect((await lstat(unet)).isSymbolicLink()).toBe(true);
    const target = await readlink(unet);
    expect(target).toMatch(/^\.\.\/\.\.\/\.\.\/blobs\/[0-9a-f]{64}$/);
    expect(await readFile(unet)).toEqual(hub.files('model', BASE_ID).get('unet/diffusion_pytorch_model.safetensors'));
    expect(await readlink(path.join(snap, 'model_index.json'))).toMatch(/^\.\.\/\.\.\/blobs\/[0-9a-f]{40}$/);
    expect((await readFile(path.join(baseRoot, 'refs', 'main'), 'utf8')).trim()).toBe(baseCommit);

    // (an earlier test moved the VAE's main)
    const vaeSnap = path.join(cache, 'models--madebyollin--sdxl-vae-fp16-fix', 'snapshots', hub.repo('model', VAE_ID)!.head);
    expect((await listTree(vaeSnap)).sort()).toEqual(['config.json', 'diffusion_pytorch_model.safetensors']);

    // a second run finds everything in place and downloads nothing
    const before = hub.requests.filter((r) => r.path.includes('/resolve/')).length;
    const again = await harness(['pin', file, '--snapshot', '--json'], { cwd: dir, env: hubEnv(hub, home) });
    expect(again.exitCode).toBe(0);
    expect(JSON.parse(again.stdout).snapshots.map((s: { downloaded: number }) => s.downloaded)).toEqual([0, 0]);
    expect(hub.requests.filter((r) => r.path.includes('/resolve/')).length).toBe(before);
  });

  it('takes the fp16 variant files only when a run sets variant: fp16, and says when the VAE has none', async () => {
    const dir = await tempDir();
    const file = await copyExperiment(dir);
    await writeFile(file, (await readFile(file, 'utf8')).replace('  rank-16:\n    rank: 16\n', '  rank-16:\n    rank: 16\n    variant: fp16\n'));
    const home = path.join(dir, 'hf');
    const result = await harness(['pin', file, '--snapshot'], { cwd: dir, env: hubEnv(hub, home) });
    // the fp16-fix VAE repo has no diffusion_pytorch_model.fp16.safetensors: the script would fail offline
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/madebyollin\/sdxl-vae-fp16-fix@[0-9a-f]{12} lacks files the pipeline needs: \*\.fp16\.safetensors/);
    const snap = path.join(home, 'hub', 'models--stabilityai--stable-diffusion-xl-base-1.0', 'snapshots', baseCommit);
    const files = await listTree(snap);
    expect(files).toContain('unet/diffusion_pytorch_model.fp16.safetensors');
    expect(files).toContain('unet/diffusion_pytorch_model.safetensors');
    expect(files).toContain('text_encoder_2/model.fp16.safetensors');
    expect(files.some((f) => f.includes('onnx') || f.startsWith('vae_decoder') || f === 'sd_xl_base_1.0.safetensors')).toBe(false);
  });
});

function diffLines(a: string, b: string): [string, string][] {
  const x = a.split('\n');
  const y = b.split('\n');
  expect(y.length).toBe(x.length);
  return x.flatMap((line, i) => (line === y[i] ? [] : [[line, y[i]!] as [string, string]]));
}

async function listTree(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await listTree(path.join(dir, entry.name), rel)));
    else out.push(rel);
  }
  return out;
}
