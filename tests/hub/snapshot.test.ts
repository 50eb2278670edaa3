// snapshotModel() is what `harness setup` calls; these go through real HTTP to the stand-in Hub.
import { createHash } from 'node:crypto';
import { readFile, readdir, stat, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.ts';
import type { HubServer } from '../fixtures/hub-server/server.ts';
import { RemoteError } from '../../harness/errors.ts';
import { snapshotModel, type SnapshotProgress } from '../../harness/hub/snapshot.ts';
import { sdxlBaseFiles } from '../../harness/hub/pipeline-files.ts';
import { BASE_ID, startHub, TOKENS } from './helpers.ts';

let hub: HubServer;
let baseCommit: string;

beforeAll(async () => {
  ({ hub, baseCommit } = await startHub());
});
afterAll(async () => hub.close());

const UNET = 'unet/diffusion_pytorch_model.safetensors';
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function options(cacheDir: string, extra: Partial<Parameters<typeof snapshotModel>[0]> = {}) {
  return { id: BASE_ID, commit: baseCommit, cacheDir, hubUrl: hub.url, token: null, env: { HARNESS_HUB_RETRY_BASE_MS: '5' }, ...extra };
}

describe('snapshotModel', () => {
  it('resumes a download cut mid-file with a Range request and verifies the result', async () => {
    const cache = await tempDir();
    hub.faults.cut.push({ pathIncludes: UNET, afterBytes: 150_000, times: 1 });
    const progress: SnapshotProgress[] = [];
    const mark = hub.requests.length;
    const result = await snapshotModel(options(cache, { files: [UNET, 'unet/config.json'], onProgress: (p) => progress.push(p) }));
    const ranges = hub.requests.slice(mark).filter((r) => r.path.endsWith(UNET) && r.range).map((r) => r.range);
    expect(ranges).toContain('bytes=150000-399999');
    const content = await readFile(path.join(result.dir, UNET));
    expect(content).toEqual(hub.files('model', BASE_ID).get(UNET));
    expect(result.files.map((f) => f.status)).toEqual(['downloaded', 'downloaded']);
    const last = progress.at(-1)!;
    expect(last).toMatchObject({ bytesDone: last.bytesTotal, filesDone: 2, filesTotal: 2 });
    expect(progress.some((p) => p.state === 'downloading' && p.fileBytes === 150_000)).toBe(true);
  });

  it('continues a partial file an earlier process left behind', async () => {
    const cache = await tempDir();
    const content = hub.files('model', BASE_ID).get(UNET)!;
    const blob = path.join(cache, 'models--stabilityai--stable-diffusion-xl-base-1.0', 'blobs', sha256(content));
    await mkdir(path.dirname(blob), { recursive: true });
    await writeFile(`${blob}.incomplete`, content.subarray(0, 123_456));
    const mark = hub.requests.length;
    const result = await snapshotModel(options(cache, { files: [UNET] }));
    expect(result.bytesDownloaded).toBe(content.length - 123_456);
    expect(hub.requests.slice(mark).filter((r) => r.path.endsWith(UNET) && r.range?.startsWith('bytes=123456-'))).toHaveLength(1);
    expect(await readFile(blob)).toEqual(content);
  });

  it('detects a corrupted file, keeps nothing of it, and fails with exit code 3', async () => {
    const cache = await tempDir();
    hub.faults.corrupt.add('text_encoder/model.safetensors');
    try {
      const error = await snapshotModel(options(cache, { files: ['text_encoder/config.json', 'text_encoder/model.safetensors'] })).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RemoteError);
      expect((error as RemoteError).exitCode).toBe(3);
      expect((error as Error).message).toMatch(/text_encoder\/model\.safetensors failed verification: sha256 [0-9a-f]{64}, expected [0-9a-f]{64}/);
    } finally {
      hub.faults.corrupt.clear();
    }
    const root = path.join(cache, 'models--stabilityai--stable-diffusion-xl-base-1.0');
    const blobs = await readdir(path.join(root, 'blobs'));
    // only the config made it; no partial or bad weights remain to be mistaken for good ones
    expect(blobs).toHaveLength(1);
    await expect(stat(path.join(root, 'snapshots', baseCommit, 'text_encoder', 'model.safetensors'))).rejects.toThrow();
  });

  it('re-downloads when a server ignores the Range header, instead of appending the whole file', async () => {
    const cache = await tempDir();
    const content = hub.files('model', BASE_ID).get(UNET)!;
    const blob = path.join(cache, 'models--stabilityai--stable-diffusion-xl-base-1.0', 'blobs', sha256(content));
    await mkdir(path.dirname(blob), { recursive: true });
    await writeFile(`${blob}.incomplete`, content.subarray(0, 1000));
    hub.faults.ignoreResumeRange = true;
    try {
      await snapshotModel(options(cache, { files: [UNET] }));
    } finally {
      hub.faults.ignoreResumeRange = false;
    }
    expect(await readFile(blob)).toEqual(content);
  });

  it('re-hashes cached blobs with verify: full and replaces a damaged one', async () => {
    const cache = await tempDir();
    const first = await snapshotModel(options(cache, { files: ['unet/config.json', UNET] }));
    const file = path.join(first.dir, UNET);
    const damaged = Buffer.from(await readFile(file));
    damaged[10] = (damaged[10] ?? 0) ^ 1;
    await writeFile(file, damaged); // writes through the link into the blob
    expect((await snapshotModel(options(cache, { files: [UNET] }))).files[0]!.status).toBe('cached');
    const again = await snapshotModel(options(cache, { files: [UNET], verify: 'full' }));
    expect(again.files[0]!.status).toBe('downloaded');
    expect(await readFile(file)).toEqual(hub.files('model', BASE_ID).get(UNET));
  });

  it('retries 5xx answers with backoff', async () => {
    const cache = await tempDir();
    hub.faults.status.push({ pathIncludes: '/tree/', status: 503, times: 2 });
    const result = await snapshotModel(options(cache, { files: ['model_index.json'] }));
    expect(result.files).toHaveLength(1);
    hub.faults.status.push({ pathIncludes: '/tree/', status: 502, times: 50 });
    try {
      const error = await snapshotModel(options(cache, { files: ['model_index.json'], env: { HARNESS_HUB_RETRY_BASE_MS: '1', HARNESS_HUB_RETRIES: '2' } })).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RemoteError);
      expect((error as Error).message).toMatch(/keeps failing .*502.* after 2 retries/);
    } finally {
      hub.faults.status.length = 0;
    }
  });

  it('picks files with a filter from the listing at the commit', async () => {
    const cache = await tempDir();
    const result = await snapshotModel(options(cache, { filter: (paths) => sdxlBaseFiles(paths, { variants: ['fp16'], separateVae: false }) }));
    const paths = result.files.map((f) => f.path);
    expect(paths).toContain('vae/diffusion_pytorch_model.fp16.safetensors');
    expect(paths).not.toContain(UNET);
    expect(paths).toContain('unet/diffusion_pytorch_model.fp16.safetensors');
  });

  it('explains 401, 403 and 404 with the repo name and what to do', async () => {
    const cache = await tempDir();
    const privateCommit = hub.addRepo({ id: 'alice/secret-model', private: true, files: { 'config.json': '{}' } });
    const attempt = (token: string | null, id = 'alice/secret-model') =>
      snapshotModel({ ...options(cache), id, commit: privateCommit, token, files: ['config.json'] }).then(
        () => {
          throw new Error('expected a RemoteError');
        },
        (e: unknown) => e as RemoteError,
      );

    const anonymous = await attempt(null);
    expect(anonymous.status).toBe(401);
    expect(anonymous.message).toMatch(/alice\/secret-model/);
    expect(anonymous.hint).toMatch(/HF_TOKEN/);

    const bob = await attempt(TOKENS.bob);
    expect(bob.status).toBe(404);
    expect(bob.message).toMatch(/not found on the Hub: model alice\/secret-model/);

    const badToken = await attempt('hf_revokedTokenThatIsNotKnown000');
    expect(badToken.status).toBe(401);
    expect(`${badToken.message} ${badToken.hint}`).not.toContain('hf_revokedTokenThatIsNotKnown000');

    const alice = await snapshotModel({ ...options(cache), id: 'alice/secret-model', commit: privateCommit, token: TOKENS.alice, files: ['config.json'] });
    expect(alice.files).toHaveLength(1);
    // the request carried the token, and nothing in the cache holds it
    expect(hub.requests.some((r) => r.user === 'alice')).toBe(true);
    await expectNoToken(cache, TOKENS.alice);
  });

  it('refuses a commit that is not a full SHA', async () => {
    const cache = await tempDir();
    await expect(snapshotModel(options(cache, { commit: 'main' }))).rejects.toThrow(/full commit SHA/);
  });
});

async function expectNoToken(dir: string, token: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const text = await readFile(path.join(entry.parentPath, entry.name), 'latin1');
    expect(text.includes(token), path.join(entry.parentPath, entry.name)).toBe(false);
  }
}
