// The diffusers training script at the pinned commit: downloaded once, checked against its sha256, cached
// by hash under $XDG_CACHE_HOME/harness, never edited. A local copy (--script) is allowed; its own hash is
// what goes into the run id, so a different script can never pass for a finished pinned run.
import { mkdir, readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { RemoteError, UsageError } from '../errors.ts';
import { writeFileAtomic } from '../store/atomic.ts';
import { sha256, sha256File } from '../util/hash.ts';
import { REPO_ROOT } from './envinfo.ts';
import { didYouMeanPath } from '../util/near-path.ts';

export const DEFAULT_SCRIPT_BASE_URL = 'https://raw.githubusercontent.com/huggingface/diffusers';

export interface ScriptPin {
  commit: string;
  /** path inside the diffusers repository */
  script: string;
  sha256: string;
}

export function harnessCacheDir(env: NodeJS.ProcessEnv): string {
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'harness');
}

export function cachedScriptPath(env: NodeJS.ProcessEnv, pin: ScriptPin): string {
  return path.join(harnessCacheDir(env), 'diffusers-scripts', pin.sha256, path.basename(pin.script));
}

export function scriptUrl(env: NodeJS.ProcessEnv, pin: ScriptPin): string {
  const base = (env.HARNESS_SCRIPT_BASE_URL || DEFAULT_SCRIPT_BASE_URL).replace(/\/+$/, '');
  return `${base}/${pin.commit}/${pin.script}`;
}

export interface ScriptFile {
  path: string;
  sha256: string;
  /** true when the file is the pinned script (hash equal to the pin) */
  pinned: boolean;
  /** the pin's sha256 (base.diffusers.sha256) */
  expected: string;
  source: 'cache' | 'download' | 'local' | 'mirror';
}

/** The cached pinned script, re-verified; undefined when it is not in the cache yet. */
export async function findCachedScript(env: NodeJS.ProcessEnv, pin: ScriptPin): Promise<ScriptFile | undefined> {
  const file = cachedScriptPath(env, pin);
  const exists = await stat(file).then((s) => s.isFile(), () => false);
  if (!exists) return undefined;
  const actual = await sha256File(file);
  if (actual !== pin.sha256) {
    throw new UsageError(`cached script ${file} has sha256 ${actual}, expected ${pin.sha256}: the cache was modified`, `delete ${file} and run \`harness setup\` again`);
  }
  return { path: file, sha256: actual, pinned: true, expected: pin.sha256, source: 'cache' };
}

/**
 * The pinned script from a local mirror of upstream files (a folder holding `train_dreambooth_lora_sdxl.py`:
 * $HARNESS_MIRROR, else ../shared/mirror beside the checkout), copied into the cache when its sha256 is the
 * pin's. For machines without internet; a mirror file with another hash is ignored, never used.
 */
export async function mirrorScript(env: NodeJS.ProcessEnv, pin: ScriptPin): Promise<ScriptFile | undefined> {
  for (const dir of await mirrorFolders(env)) {
    const candidate = path.join(dir, path.basename(pin.script));
    const bytes = await readFile(candidate).catch(() => undefined);
    if (!bytes || sha256(bytes) !== pin.sha256) continue;
    return cacheScript(env, pin, bytes, 'mirror');
  }
  return undefined;
}

/** The pinned script's bytes (already checked against the pin) into the cache, where `sweep` and `run` find it. */
async function cacheScript(env: NodeJS.ProcessEnv, pin: ScriptPin, bytes: Uint8Array, source: ScriptFile['source']): Promise<ScriptFile> {
  const file = cachedScriptPath(env, pin);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomic(file, bytes);
  return { path: file, sha256: pin.sha256, pinned: true, expected: pin.sha256, source };
}

/**
 * Folders of pinned upstream files for machines without internet: $HARNESS_MIRROR when set (an empty value:
 * none), else ../shared/mirror beside the checkout when it exists.
 */
export async function mirrorFolders(env: NodeJS.ProcessEnv): Promise<string[]> {
  const candidates = env.HARNESS_MIRROR !== undefined ? [env.HARNESS_MIRROR].filter(Boolean) : [path.resolve(REPO_ROOT, '..', 'shared', 'mirror')];
  const found: string[] = [];
  for (const dir of candidates) if (await stat(dir).then((s) => s.isDirectory(), () => false)) found.push(path.resolve(dir));
  return [...new Set(found)];
}

export async function downloadScript(env: NodeJS.ProcessEnv, pin: ScriptPin, fetchImpl: typeof fetch = fetch): Promise<ScriptFile> {
  const cached = (await findCachedScript(env, pin)) ?? (await mirrorScript(env, pin));
  if (cached) return cached;
  const url = scriptUrl(env, pin);
  let body: Uint8Array;
  try {
    const response = await fetchImpl(url, { signal: AbortSignal.timeout(60_000) });
    if (!response.ok) throw new RemoteError(`GET ${url}: HTTP ${response.status}`, { status: response.status, hint: 'check base.diffusers.commit and .script in the experiment file' });
    body = new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    if (error instanceof RemoteError) throw error;
    throw new RemoteError(`cannot download ${url}: ${(error as Error).message}`, {
      hint: 'without network, download the file elsewhere and put it in a folder named by HARNESS_MIRROR (checked against the pin), or pass it to `run`/`sweep` with --script FILE',
      cause: error,
    });
  }
  const actual = sha256(body);
  if (actual !== pin.sha256) {
    throw new UsageError(`sha256 mismatch for ${url}: expected ${pin.sha256} (base.diffusers.sha256), got ${actual}`, 'the pin and the commit disagree: fix base.diffusers.sha256 or .commit; nothing was cached');
  }
  return cacheScript(env, pin, body, 'download');
}

/** --script FILE: any local copy; its hash is recorded and compared with the pin. */
export async function localScript(file: string, cwd: string, pin: ScriptPin): Promise<ScriptFile> {
  const { bytes: _bytes, ...script } = await readLocalScript(file, cwd, pin);
  return script;
}

async function readLocalScript(file: string, cwd: string, pin: ScriptPin): Promise<ScriptFile & { bytes: Buffer }> {
  const absolute = path.resolve(cwd, file);
  let bytes: Buffer;
  try {
    bytes = await readFile(absolute);
  } catch {
    throw new UsageError(`--script ${file}: no such file${await didYouMeanPath(file, cwd, { kind: 'file', extensions: ['.py'] })}`, 'pass a local copy of examples/dreambooth/train_dreambooth_lora_sdxl.py');
  }
  const actual = sha256(bytes);
  return { path: absolute, sha256: actual, pinned: actual === pin.sha256, expected: pin.sha256, source: 'local', bytes };
}

/**
 * `setup --script FILE` on a machine without network: a copy of the pinned script fetched elsewhere goes
 * into the cache, so `sweep` and `run` find it as if it had been downloaded. Only the pinned bytes are
 * cached; another file is refused (run and sweep take it with --script, under its own run ids).
 */
export async function installLocalScript(env: NodeJS.ProcessEnv, pin: ScriptPin, file: string, cwd: string): Promise<ScriptFile> {
  const local = await readLocalScript(file, cwd, pin);
  if (!local.pinned) {
    throw new UsageError(
      `--script ${file} has sha256 ${local.sha256}, not the pinned ${pin.sha256} (base.diffusers.sha256): it is not the script at ${pin.commit.slice(0, 12)}`,
      'fetch the file at the pinned commit, or train with it as it is: `harness run|sweep … --script FILE` (its own hash names the runs)',
    );
  }
  return (await findCachedScript(env, pin)) ?? cacheScript(env, pin, local.bytes, 'local');
}
