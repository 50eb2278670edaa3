// What "re-sampling with the same spec is free" costs: verifying a complete set (decode + sha256 of every
// 1024² PNG against its sidecar), per image, on the nine-scene × four-seed shape of tok-boy.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { encodeImage } from '../harness/image/index.ts';
import { checkSetImages } from '../harness/samples/verify.ts';
import { sha256 } from '../harness/util/hash.ts';

export async function bench(): Promise<Record<string, number | string>> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'harness-bench-samples-'));
  try {
    const size = 1024;
    // Noise compresses badly: an upper bound on decode time compared with real renders.
    const png = await encodeImage({ data: randomBytes(size * size * 3), width: size, height: size }, 'png');
    const images = [];
    for (let p = 1; p <= 9; p++) {
      for (const seed of [11, 22, 33, 44]) {
        const file = `p${p}__s${seed}.png`;
        const sidecar = `p${p}__s${seed}.json`;
        await writeFile(path.join(dir, file), png);
        await writeFile(path.join(dir, sidecar), JSON.stringify({ set_id: 'bench', prompt_id: `p${p}`, seed, sha256: sha256(png) }));
        images.push({ prompt_id: `p${p}`, prompt: '', negative_prompt: '', seed, file, sidecar });
      }
    }
    const started = performance.now();
    const check = await checkSetImages({ set_id: 'bench', out_dir: dir, width: size, height: size, images });
    const ms = performance.now() - started;
    if (check.ok.length !== images.length) throw new Error('bench set did not verify');
    // A set with a set.json is only re-hashed, not decoded again.
    const again = performance.now();
    await checkSetImages({ set_id: 'bench', out_dir: dir, width: size, height: size, images }, check.ok);
    const reuseMs = performance.now() - again;
    return {
      set_images: images.length,
      png_bytes: png.length,
      first_verify_ms_per_image: Number((ms / images.length).toFixed(1)),
      reuse_verify_ms_per_image: Number((reuseMs / images.length).toFixed(1)),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
