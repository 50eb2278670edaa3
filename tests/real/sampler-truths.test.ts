// Issue 18 item 5: the sampler runs where the machine can (the CPU here) unless --device says otherwise, with
// the Python the experiment asks for; and a sample set records the diffusers it really imported, also from a
// source tree on PYTHONPATH (no distribution metadata of its own).
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.ts';
import { demoWorkspace, realStack } from './stack.ts';
import { driver, readJsonFile, SMALL, yamlWith } from './drive.ts';

interface SampleJson {
  sets: { setId: string; dir: string; images: number; status: string }[];
}

async function firstSidecar(setDir: string): Promise<{ device: string; dtype: string; env: Record<string, unknown> }> {
  const name = (await readdir(setDir)).filter((f) => f.endsWith('.json') && f.includes('__s')).sort()[0]!;
  return readJsonFile(path.join(setDir, name));
}

/** The installed diffusers as a source tree: every file linked, __init__.py copied with another __version__. */
async function diffusersSourceTree(python: string, version: string): Promise<string> {
  const { stdout } = await execa(python, ['-c', 'import os, diffusers; print(os.path.dirname(diffusers.__file__))'], { env: { HF_HUB_OFFLINE: '1' } });
  const installed = stdout.trim().split('\n').pop()!;
  const root = await tempDir('harness-diffusers-src-');
  const tree = path.join(root, 'diffusers');
  await mkdir(tree);
  for (const entry of await readdir(installed)) {
    if (entry === '__init__.py' || entry === '__pycache__') continue;
    await symlink(path.join(installed, entry), path.join(tree, entry));
  }
  const init = await readFile(path.join(installed, '__init__.py'), 'utf8');
  expect(init).toMatch(/^__version__ = "[^"]+"/m);
  await writeFile(path.join(tree, '__init__.py'), init.replace(/^__version__ = "[^"]+"/m, `__version__ = "${version}"`));
  return root;
}

describe('the sampler on the real stack', () => {
  it('renders on the CPU by default, obeys --device, and records the diffusers it imported', async () => {
    const stack = await realStack();
    const ws = await demoWorkspace(yamlWith(SMALL));
    const d = driver(stack, ws);
    const trained = await d.cli(['run', ws.experiment, '--variant', 'baseline', '--until', 'train']);
    expect(trained.exitCode, `${trained.stdout}\n${trained.stderr}`).toBe(0);

    // no --python, no --device: the experiment's own environment, on what the machine has (no GPU here)
    const plain = await d.cli(['sample', ws.experiment, '--variant', 'baseline', '--no-control', '--json']);
    expect(plain.exitCode, `${plain.stdout}\n${plain.stderr}`).toBe(0);
    const [set] = (JSON.parse(plain.stdout) as SampleJson).sets;
    expect(set).toMatchObject({ images: 4 });
    const sidecar = await firstSidecar(set!.dir);
    expect(sidecar).toMatchObject({ device: 'cpu', dtype: 'fp32' });
    expect(sidecar.env).toMatchObject({ device: 'cpu', torch: expect.stringMatching(/\+cpu$/), diffusers: '0.40.0' });

    // --device overrides the default: asked for cuda, the sampler refuses a machine without one
    const cuda = await d.cli(['sample', ws.experiment, '--variant', 'baseline', '--no-control', '--seeds', '5', '--device', 'cuda']);
    expect(cuda.exitCode).not.toBe(0);
    expect(cuda.stderr).toMatch(/asks for cuda but torch sees no CUDA device/);

    // diffusers imported from a source tree: its own version is recorded, not the installed metadata's
    const source = await diffusersSourceTree(stack.python, '0.40.0.dev0');
    const fromSource = await d.cli(['sample', ws.experiment, '--variant', 'baseline', '--no-control', '--seeds', '7', '--json'], { env: { PYTHONPATH: source } });
    expect(fromSource.exitCode, `${fromSource.stdout}\n${fromSource.stderr}`).toBe(0);
    const [sourceSet] = (JSON.parse(fromSource.stdout) as SampleJson).sets;
    expect((await firstSidecar(sourceSet!.dir)).env).toMatchObject({ diffusers: '0.40.0.dev0' });
    const manifest = await readJsonFile<{ env?: Record<string, unknown> }>(path.join(sourceSet!.dir, 'set.json'));
    expect(manifest.env).toMatchObject({ diffusers: '0.40.0.dev0' });
  }, 900_000);
});

