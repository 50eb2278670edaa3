// Regression-check cost per image pair at the series' size (1024² PNGs): decode, the exact tier's
// pixelmatch, the perceptual tier's pixelmatch + SSIM. A check of the series is 9 scenes × 4 seeds.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeImage, editImage, encodeImage, resizeImage } from '../harness/image/index.ts';
import { comparePixels } from '../harness/regression/pixels.ts';
import { ssim } from '../harness/regression/ssim.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const ROUNDS = 5;

export async function bench(): Promise<Record<string, number | string>> {
  const face = await decodeImage(path.join(here, '..', 'tests', 'fixtures', 'regression', 'face-a-1.png'));
  const golden = await encodeImage(await resizeImage(face, 1024, 1024), 'png');
  const current = await encodeImage(await decodeImage(await editImage(golden, { op: 'jpeg', quality: 85 })), 'png');
  const times = { decode: 0, exact: 0, perceptual: 0, ssim: 0 };
  let lastSsim = 0;
  for (let i = 0; i < ROUNDS; i++) {
    let t = performance.now();
    const [a, b] = [await decodeImage(golden), await decodeImage(current)];
    times.decode += performance.now() - t;
    t = performance.now();
    comparePixels(a, b, { threshold: 0, includeAA: true });
    times.exact += performance.now() - t;
    t = performance.now();
    comparePixels(a, b, { threshold: 0.1, includeAA: false });
    times.perceptual += performance.now() - t;
    t = performance.now();
    lastSsim = ssim(a, b);
    times.ssim += performance.now() - t;
  }
  const per = (ms: number) => ms / ROUNDS;
  const perceptualPair = per(times.decode + times.perceptual + times.ssim);
  return {
    decode_pair_1024_ms: per(times.decode),
    exact_pixelmatch_1024_ms: per(times.exact),
    perceptual_pixelmatch_1024_ms: per(times.perceptual),
    ssim_1024_ms: per(times.ssim),
    ssim_jpeg_q85: lastSsim,
    perceptual_check_36_images_s: (perceptualPair * 36) / 1000,
  };
}
