// Models the harness makes itself instead of downloading (`build:` on base.model / base.vae): today the tiny
// random SDXL of python/make_tiny_sdxl.py, which lets the real training script and the real pipeline run on a
// CPU in seconds. A built model is pinned like a Hub model, by a 40-hex "commit": here the digest of its files
// (treeDigest), so the run id covers exactly which weights were trained, and a rebuild that does not give the
// same bytes (other library versions) is refused instead of silently giving other runs.
//
// The built folders are placed where pinned Hub snapshots live (<hub cache>/models--org--name/snapshots/<commit>),
// so everything downstream (plan, trainer argv, sampler, setup's report) treats them like any snapshot.
import { createHash } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ExperimentFile } from '../config/schema.ts';
import { HarnessError } from '../errors.ts';
import { snapshotPath } from '../plan/planner.ts';
import { runCapture } from '../runner/process.ts';
import { PYTHON_DIR, REPO_ROOT } from '../train/envinfo.ts';
import { sha256File } from '../util/hash.ts';
import { listDatasetFiles } from '../dataset/hash.ts';

export const BUILDERS = { 'tiny-sdxl': 'make_tiny_sdxl.py' } as const;
export type BuilderName = keyof typeof BUILDERS;

/**
 * A folder's content digest: sha1 (40 hex, the shape of a commit) over its files' relative paths and sha256,
 * in sorted order. Hidden files (names starting with ".") are left out.
 */
export async function treeDigest(dir: string): Promise<string> {
  // the dataset's walk: hidden names left out, symlinks followed (a Hub snapshot's files are links to blobs)
  const files = await listDatasetFiles(dir);
  const hash = createHash('sha1');
  for (const file of files) hash.update(`${file}\0${await sha256File(path.join(dir, file))}\n`);
  return hash.digest('hex');
}

export interface BuiltModel {
  role: 'model' | 'vae';
  id: string;
  commit: string;
  dir: string;
  /** false: the snapshot was there already */
  built: boolean;
}

export interface BuildOptions {
  config: ExperimentFile;
  hubCache: string;
  python: string;
  env: NodeJS.ProcessEnv;
  onProgress?: (message: string) => void;
}

/** The roles whose `build:` asks the harness to make the model. */
export function builtRoles(config: ExperimentFile): Array<'model' | 'vae'> {
  return (['model', 'vae'] as const).filter((role) => config.base[role].build !== undefined);
}

/**
 * Makes the built models that are not in the hub cache yet. One builder run writes both the pipeline (model/)
 * and its VAE (vae/); each is checked against its pinned digest, then renamed into its snapshot folder.
 * Throws when a digest differs from the pin (the pin names other bytes than this machine builds).
 */
export async function ensureBuiltModels(options: BuildOptions): Promise<BuiltModel[]> {
  const roles = builtRoles(options.config);
  if (roles.length === 0) return [];
  const wanted = roles.map((role) => ({ role, ref: options.config.base[role] }));
  const present = await Promise.all(wanted.map(({ ref }) => (ref.commit ? isDir(snapshotPath(options.hubCache, ref)) : Promise.resolve(false))));
  if (present.every(Boolean)) return wanted.map(({ role, ref }) => ({ role, id: ref.id, commit: ref.commit!, dir: snapshotPath(options.hubCache, ref), built: false }));

  const builder = new Set(wanted.map(({ ref }) => ref.build!));
  if (builder.size !== 1) throw new HarnessError('base.model.build and base.vae.build name different builders', { exitCode: 2 });
  const name = [...builder][0]!;
  const scratch = path.join(options.hubCache, `.harness-build-${process.pid}-${Date.now()}`);
  await mkdir(scratch, { recursive: true });
  try {
    options.onProgress?.(`building the ${name} model (python/${BUILDERS[name]})`);
    const started = Date.now();
    const result = await runCapture(options.python, [path.join(PYTHON_DIR, BUILDERS[name]), scratch], {
      cwd: REPO_ROOT,
      baseEnv: options.env,
      env: { PYTHONHASHSEED: '0', OMP_NUM_THREADS: options.env.OMP_NUM_THREADS ?? '1', CUDA_VISIBLE_DEVICES: '', HF_HUB_OFFLINE: '1' },
      timeoutMs: 600_000,
    });
    if (result.failure || result.exitCode !== 0) {
      throw new HarnessError(`building ${name} failed: ${result.failure ?? result.stderr.trim().split('\n').slice(-4).join(' / ')}`, {
        hint: `run \`${options.python} python/${BUILDERS[name]} /tmp/tiny\` to see the whole error`,
      });
    }
    const digests = await Promise.all(wanted.map(({ role }) => treeDigest(path.join(scratch, role))));
    const unpinned = wanted.filter(({ ref }) => !ref.commit);
    if (unpinned.length) {
      throw new HarnessError(`built ${name}, but ${unpinned.map(({ role }) => `base.${role}.commit`).join(' and ')} ${unpinned.length > 1 ? 'are' : 'is'} not pinned`, {
        exitCode: 2,
        hint: `write the digests into the experiment file: ${wanted.map(({ role }, i) => `base.${role}.commit: ${digests[i]}`).join(', ')}`,
      });
    }
    const out: BuiltModel[] = [];
    for (const [index, { role, ref }] of wanted.entries()) {
      const dir = path.join(scratch, role);
      const digest = digests[index]!;
      if (ref.commit !== digest) {
        throw new HarnessError(`the ${name} ${role} built here has digest ${digest}, but the experiment pins base.${role}.commit ${ref.commit}`, {
          exitCode: 2,
          hint: 'the builder gives other bytes with other library versions: build with the pinned python/requirements-cpu.txt environment, or pin the new digest if the change is intended',
        });
      }
      const target = snapshotPath(options.hubCache, { id: ref.id, commit: digest });
      if (present[index]) {
        out.push({ role, id: ref.id, commit: digest, dir: target, built: false });
        continue;
      }
      await mkdir(path.dirname(target), { recursive: true });
      await rm(target, { recursive: true, force: true });
      await rename(dir, target);
      out.push({ role, id: ref.id, commit: digest, dir: target, built: true });
    }
    options.onProgress?.(`built ${out.map((m) => `${m.id}@${m.commit.slice(0, 12)}`).join(' and ')} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return out;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function isDir(dir: string): Promise<boolean> {
  return stat(dir).then((s) => s.isDirectory(), () => false);
}
