// The pinned script from a mirror folder of upstream files ($HARNESS_MIRROR): taken only when its sha256 is
// the pin's, copied into the cache; a mirror file with any other hash is ignored, so the download (setup) or
// "not in the cache" (run) path applies. A loopback server stands in for GitHub's raw files and counts requests.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sha256 } from '../../harness/util/hash.ts';
import { harness, REPO } from '../helpers/cli.ts';
import { pinnedWorkspace, useRawScriptServer, SCRIPT_COMMIT, workspace, type Workspace } from './helpers.ts';

const SCRIPT_NAME = 'train_dreambooth_lora_sdxl.py';
const raw = useRawScriptServer();

/** A workspace whose experiment pins the fixture script's sha256, and a mirror folder holding `mirrorBytes`. */
async function mirrored(mirrorBytes: Buffer): Promise<{ ws: Workspace; mirror: string; env: Record<string, string | undefined>; cached: string }> {
  const ws = await pinnedWorkspace(raw.body);
  const mirror = path.join(ws.root, 'mirror');
  await mkdir(mirror);
  await writeFile(path.join(mirror, SCRIPT_NAME), mirrorBytes);
  return {
    ws,
    mirror,
    env: { ...ws.env, HARNESS_MIRROR: mirror, HARNESS_SCRIPT_BASE_URL: raw.url },
    cached: path.join(ws.root, 'cache', 'harness', 'diffusers-scripts', sha256(raw.body), SCRIPT_NAME),
  };
}

const requestsFor = (from: number) => raw.requests.slice(from).filter((url) => url.endsWith(SCRIPT_NAME));

describe('the pinned script from a mirror folder', () => {
  it('setup takes a mirror file whose sha256 is the pin (source mirror, copied into the cache, nothing downloaded); the next setup finds it cached', async () => {
    const { ws, env, cached } = await mirrored(raw.body);
    const before = raw.requests.length;
    const first = await harness(['setup', ws.experiment, '--json'], { cwd: ws.root, env });
    const result = JSON.parse(first.stdout);
    expect(result.script, first.stderr).toMatchObject({ source: 'mirror', sha256: sha256(raw.body), path: cached });
    expect(await readFile(cached)).toEqual(raw.body);
    expect(requestsFor(before)).toEqual([]);

    const second = await harness(['setup', ws.experiment, '--json'], { cwd: ws.root, env });
    expect(JSON.parse(second.stdout).script).toMatchObject({ source: 'cache', path: cached });
    expect(requestsFor(before)).toEqual([]);
  });

  it('setup ignores a mirror file with another sha256 and downloads the pinned one instead', async () => {
    const edited = Buffer.concat([raw.body, Buffer.from('\n# edited in the mirror\n')]);
    const { ws, mirror, env, cached } = await mirrored(edited);
    const before = raw.requests.length;
    const r = await harness(['setup', ws.experiment, '--json'], { cwd: ws.root, env });
    expect(JSON.parse(r.stdout).script, r.stderr).toMatchObject({ source: 'download', sha256: sha256(raw.body), path: cached });
    expect(requestsFor(before)).toEqual([`/${SCRIPT_COMMIT}/examples/dreambooth/${SCRIPT_NAME}`]);
    expect(await readFile(cached)).toEqual(raw.body);
    // the mirror is read, never written
    expect(await readFile(path.join(mirror, SCRIPT_NAME))).toEqual(edited);
  });

  it('run uses the mirror file when its sha256 is the pin, and says "not in the cache" when it is not', async () => {
    const bad = await mirrored(Buffer.concat([raw.body, Buffer.from('\n# edited in the mirror\n')]));
    const refused = await harness(['run', bad.ws.experiment, '--variant', 'baseline', '--store', bad.ws.store, '--model', bad.ws.model, '--vae', bad.ws.vae, '--no-preflight', '--until', 'train'], {
      cwd: bad.ws.root,
      env: bad.env,
    });
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/not in the cache/);
    await expect(readFile(bad.cached)).rejects.toThrow();

    const good = await mirrored(raw.body);
    const before = raw.requests.length;
    const run = await harness(['run', good.ws.experiment, '--variant', 'baseline', '--store', good.ws.store, '--model', good.ws.model, '--vae', good.ws.vae, '--no-preflight', '--until', 'train', '--json'], {
      cwd: good.ws.root,
      env: good.env,
      timeout: 120_000,
    });
    expect(run.exitCode, run.stderr).toBe(0);
    const spec = JSON.parse(await readFile(path.join(JSON.parse(run.stdout).runDir, 'spec.json'), 'utf8'));
    expect(spec.trainer).toMatchObject({ script: good.cached, scriptSha256: sha256(raw.body), scriptPinned: true });
    expect(requestsFor(before)).toEqual([]);
  });

  it('without HARNESS_MIRROR the mirror beside the checkout (../shared/mirror) is used; an empty HARNESS_MIRROR means none', async () => {
    // the experiment pins the real script (v0.40.0), which is what the default mirror holds on this machine kind
    const ws = await workspace();
    const pin = /sha256: ([0-9a-f]{64})/.exec(await readFile(ws.experiment, 'utf8'))![1]!;
    const defaultMirror = path.resolve(REPO, '..', 'shared', 'mirror', SCRIPT_NAME);
    const mirrorHasPin = await readFile(defaultMirror).then((bytes) => sha256(bytes) === pin, () => false);
    const cached = path.join(ws.root, 'cache', 'harness', 'diffusers-scripts', pin, SCRIPT_NAME);
    const runArgs = ['run', ws.experiment, '--variant', 'baseline', '--store', ws.store, '--model', ws.model, '--vae', ws.vae, '--no-preflight', '--until', 'train'];

    const none = await harness(runArgs, { cwd: ws.root, env: { ...ws.env, HARNESS_MIRROR: '' } });
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toMatch(/not in the cache/);
    await expect(readFile(cached)).rejects.toThrow();

    const setup = await harness(['setup', ws.experiment, '--json'], { cwd: ws.root, env: { ...ws.env, HARNESS_MIRROR: undefined, HARNESS_SCRIPT_BASE_URL: `${raw.url}/nothing-here` } });
    const script = JSON.parse(setup.stdout || '{}').script;
    if (mirrorHasPin) {
      expect(script, setup.stderr).toMatchObject({ source: 'mirror', sha256: pin, path: cached });
      expect(sha256(await readFile(cached))).toBe(pin);
    } else {
      // no default mirror here: setup tried the (404) download and cached nothing
      expect(setup.stderr).toMatch(/HTTP 404/);
      await expect(readFile(cached)).rejects.toThrow();
    }
  });
});
