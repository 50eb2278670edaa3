// Snapshot download + verification throughput and the cost of a no-op re-check, against the
// loopback stand-in Hub (measures our code and the library, not a network).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startHubServer } from '../tests/fixtures/hub-server/server.ts';
import { snapshotModel } from '../harness/hub/snapshot.ts';

export async function bench(): Promise<Record<string, number | string>> {
  const hub = await startHubServer({ users: {} });
  const sizeMb = 256;
  const commit = hub.addRepo({ id: 'bench/model', files: { 'config.json': '{}', 'unet/diffusion_pytorch_model.safetensors': randomBytes(sizeMb * 1024 * 1024) } });
  const cache = await mkdtemp(path.join(os.tmpdir(), 'harness-bench-hub-'));
  try {
    const options = { id: 'bench/model', commit, cacheDir: cache, hubUrl: hub.url, token: null };
    let started = performance.now();
    await snapshotModel(options);
    const coldS = (performance.now() - started) / 1000;
    started = performance.now();
    await snapshotModel(options);
    const warmMs = performance.now() - started;
    started = performance.now();
    await snapshotModel({ ...options, verify: 'full' });
    const verifyS = (performance.now() - started) / 1000;
    return {
      file_mb: sizeMb,
      download_and_verify_mb_per_s: sizeMb / coldS,
      cached_recheck_ms: warmMs,
      full_rehash_mb_per_s: sizeMb / verifyS,
    };
  } finally {
    await hub.close();
    await rm(cache, { recursive: true, force: true });
  }
}
