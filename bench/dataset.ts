// Dataset speed on the series' shape: 11 photos → 11 square 1024² PNGs, then check and hash them.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { checkDataset } from '../harness/dataset/check.ts';
import { fingerprintDataset } from '../harness/dataset/hash.ts';
import { prepareDataset } from '../harness/dataset/prepare.ts';
import { encodeImage } from '../harness/image/index.ts';

const IMAGES = 11;

export async function bench(): Promise<Record<string, number | string>> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'harness-bench-dataset-'));
  try {
    const src = path.join(root, 'photos');
    const dst = path.join(root, 'data');
    await mkdir(src);
    for (let i = 0; i < IMAGES; i++) {
      // noisy pixels so the PNGs have a realistic size (~3 MB each), not a flat colour
      const raw = Buffer.alloc(1500 * 2000 * 3);
      for (let j = 0; j < raw.length; j++) raw[j] = (j * 2654435761 + i * 97) >>> 24;
      await writeFile(path.join(src, `${String(i).padStart(2, '0')}.jpg`), await encodeImage({ data: raw, width: 2000, height: 1500 }, 'jpeg', 90));
    }
    let t = performance.now();
    const prepared = await prepareDataset(src, dst, { size: 1024 });
    const prepareMs = performance.now() - t;
    await writeFile(path.join(dst, 'metadata.jsonl'), prepared.files.map((f) => `${JSON.stringify({ file_name: f.output, prompt: 'a photo of TOK boy, a boy' })}\n`).join(''));
    t = performance.now();
    const checked = await checkDataset(dst, { imageSize: 1024, minImages: IMAGES });
    const checkMs = performance.now() - t;
    t = performance.now();
    await fingerprintDataset(dst);
    const hashMs = performance.now() - t;
    return {
      images: IMAGES,
      prepare_2000x1500_jpeg_to_1024_png_ms: Math.round(prepareMs),
      check_1024_png_ms: Math.round(checkMs),
      hash_ms: Math.round(hashMs),
      check_problems: checked.problems.length,
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
