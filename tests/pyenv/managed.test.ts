// The Python environment the harness makes itself (harness/pyenv/managed.ts): where it lives, what pip's
// failures turn into, and real small builds (python3 -m venv, pip from the local indexes) into a temp
// XDG_CACHE_HOME, with a one-package requirements file instead of the 1.5 GB training stack.
import { execa } from 'execa';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RemoteError } from '../../harness/errors.ts';
import { ensureManagedEnv, findManagedEnv, managedEnvDir, pipFailure, type ManagedEnvProgress } from '../../harness/pyenv/managed.ts';
import { tempDir } from '../helpers/tmp.ts';

const BUILD_TIMEOUT = 300_000;

async function requirementsFile(root: string, text: string, name = 'requirements-tiny.txt'): Promise<string> {
  const file = path.join(root, name);
  await writeFile(file, text);
  return file;
}

async function cacheEnv(): Promise<{ root: string; env: NodeJS.ProcessEnv; pythonDir: string }> {
  const root = await tempDir('harness-pyenv-');
  const env = { ...process.env, XDG_CACHE_HOME: path.join(root, 'cache') };
  return { root, env, pythonDir: path.join(root, 'cache', 'harness', 'python') };
}

const exists = (file: string) => stat(file).then(() => true, () => false);

describe('pipFailure', () => {
  const output = [
    'Collecting harness-no-such-package==9.9.9 (from -r requirements-tiny.txt (line 1))',
    'ERROR: Could not find a version that satisfies the requirement harness-no-such-package==9.9.9 (from versions: none)',
    'ERROR: No matching distribution found for harness-no-such-package==9.9.9',
  ].join('\n');

  it('offline: a remote error (exit 3) naming the package, whose hint says to bring its wheel', () => {
    const error = pipFailure(output, '/somewhere/requirements-tiny.txt', true);
    expect(error).toBeInstanceOf(RemoteError);
    expect(error.exitCode).toBe(3);
    expect(error.message).toContain('pip could not get harness-no-such-package==9.9.9');
    expect(error.hint).toContain('reaches no package index');
    expect(error.hint).toContain('harness-no-such-package==9.9.9');
    expect(error.hint).toContain('HARNESS_WHEELS=');
  });

  it('online: the hint names the package and how to ask the index about it', () => {
    const error = pipFailure(output, '/somewhere/requirements-tiny.txt', false);
    expect(error).toBeInstanceOf(RemoteError);
    expect(error.hint).toContain('check that the index serves harness-no-such-package==9.9.9');
    expect(error.hint).toContain('pip index versions');
    expect(error.hint).not.toContain('reaches no package index');
  });

  it('names every missing package once; any other pip failure is pip\'s own last lines (exit 2)', () => {
    const twice = `${output}\nERROR: No matching distribution found for other-missing==1.0\n${output}`;
    expect(pipFailure(twice, '/x/requirements-tiny.txt', true).message).toMatch(/pip could not get harness-no-such-package==9\.9\.9, other-missing==1\.0 \(/);
    const other = pipFailure('Collecting six\nERROR: THESE PACKAGES DO NOT MATCH THE HASHES', '/x/requirements-tiny.txt', false);
    expect(other).not.toBeInstanceOf(RemoteError);
    expect(other.exitCode).toBe(2);
    expect(other.message).toContain('DO NOT MATCH THE HASHES');
  });
});

describe('managedEnvDir', () => {
  it('the same requirements give the same folder (wherever the file is); changed requirements give a new one', async () => {
    const { root, env, pythonDir } = await cacheEnv();
    const first = await managedEnvDir({ requirements: await requirementsFile(root, 'six==1.17.0\n'), env });
    expect(path.dirname(first)).toBe(pythonDir);
    expect(path.basename(first)).toMatch(/^tiny-[0-9a-f]{12}$/);
    await mkdir(path.join(root, 'elsewhere'));
    const copy = await requirementsFile(path.join(root, 'elsewhere'), 'six==1.17.0\n');
    expect(await managedEnvDir({ requirements: copy, env })).toBe(first);
    const changed = await managedEnvDir({ requirements: await requirementsFile(root, 'six==1.16.0\n', 'requirements-tiny.txt'), env });
    expect(changed).not.toBe(first);
    expect(path.basename(changed)).toMatch(/^tiny-[0-9a-f]{12}$/);
    // nothing is created
    expect(await exists(pythonDir)).toBe(false);
  });

  it('a missing requirements file is a usage error naming it', async () => {
    const { root, env } = await cacheEnv();
    await expect(managedEnvDir({ requirements: path.join(root, 'requirements-none.txt'), env })).rejects.toThrow(/requirements file not found: .*requirements-none\.txt/);
  });
});

describe('ensureManagedEnv (real venv + pip)', () => {
  it(
    'builds a one-package environment, replacing a half-built folder, marks it ready, and reuses it the next time',
    async () => {
      const { root, env } = await cacheEnv();
      const requirements = await requirementsFile(root, 'six==1.17.0\n');
      const dir = await managedEnvDir({ requirements, env });
      // a half-built environment from a killed pip: a folder without the ready marker
      await mkdir(path.join(dir, 'bin'), { recursive: true });
      await writeFile(path.join(dir, 'left-over-from-a-killed-pip'), '');
      expect(await findManagedEnv({ requirements, env })).toBeUndefined();

      const phases: ManagedEnvProgress['phase'][] = [];
      const made = await ensureManagedEnv({ requirements, env, imports: ['six'], onProgress: (p) => phases.push(p.phase) });
      expect(made).toMatchObject({ dir, python: path.join(dir, 'bin', 'python'), built: true });
      expect(phases[0]).toBe('create');
      expect(phases).toContain('install');
      expect(phases).toContain('verify');
      expect(phases.at(-1)).toBe('ready');
      expect(await exists(path.join(dir, 'left-over-from-a-killed-pip'))).toBe(false);
      expect(await exists(path.join(dir, '.harness-ready'))).toBe(true);
      const six = await execa(made.python, ['-c', 'import six, harness_torchvision_ops; print(six.__version__)']);
      expect(six.stdout.trim()).toBe('1.17.0');
      expect(await findManagedEnv({ requirements, env })).toBe(made.python);
      // no lock file is left behind
      expect((await readdir(path.dirname(dir))).sort()).toEqual([path.basename(dir)]);

      const again = await ensureManagedEnv({ requirements, env, imports: ['six'], onProgress: () => phases.push('create') });
      expect(again).toMatchObject({ dir, python: made.python, built: false });
    },
    BUILD_TIMEOUT,
  );

  it(
    'a pin pip cannot get: a RemoteError naming the package, no half-built folder, no ready marker',
    async () => {
      const { root, env, pythonDir } = await cacheEnv();
      const requirements = await requirementsFile(root, 'six==1.17.0\nharness-no-such-package==9.9.9\n');
      const dir = await managedEnvDir({ requirements, env });
      const failure = await ensureManagedEnv({ requirements, env, imports: ['six'] }).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(RemoteError);
      expect((failure as RemoteError).message).toContain('harness-no-such-package==9.9.9');
      expect((failure as RemoteError).message).toContain('requirements-tiny.txt');
      expect(await exists(dir)).toBe(false);
      expect(await findManagedEnv({ requirements, env })).toBeUndefined();
      expect(await readdir(pythonDir)).toEqual([]);
    },
    BUILD_TIMEOUT,
  );

  it(
    'by default the new environment must import the training stack: without torch it is not marked ready',
    async () => {
      const { root, env, pythonDir } = await cacheEnv();
      const requirements = await requirementsFile(root, 'six==1.17.0\n');
      const dir = await managedEnvDir({ requirements, env });
      await expect(ensureManagedEnv({ requirements, env })).rejects.toThrow(/cannot import torch, torchvision\.transforms, diffusers, transformers, accelerate, peft, datasets:[\s\S]*No module named 'torch'/);
      expect(await exists(dir)).toBe(false);
      expect(await readdir(pythonDir)).toEqual([]);
    },
    BUILD_TIMEOUT,
  );
});
