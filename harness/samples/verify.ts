// An image counts only if it decodes, its bytes match the sidecar's sha256, and the sidecar says it is
// the image this set asked for. Anything else is removed and rendered again.
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { decodedPngSize } from '../image/index.ts';
import { sha256 } from '../util/hash.ts';
import type { SamplerJobSpec, SampleSidecar } from './protocol.ts';
import type { SampleImage } from './types.ts';

export interface SetCheck {
  ok: SampleImage[];
  missing: string[];
  bad: { file: string; why: string }[];
}

/**
 * `decoded`: images a set.json already vouches for (file → sha256 and size, recorded after they decoded).
 * Their bytes are still hashed, so any change on disk is caught, but they are not decoded again.
 */
export async function checkSetImages(
  job: Pick<SamplerJobSpec, 'set_id' | 'out_dir' | 'width' | 'height' | 'images'>,
  decoded: SampleImage[] = [],
): Promise<SetCheck> {
  const result: SetCheck = { ok: [], missing: [], bad: [] };
  const vouched = new Map(decoded.map((image) => [image.file, image]));
  for (const image of job.images) {
    const verdict = await checkImage(job, image, vouched.get(image.file));
    if (verdict === 'missing') result.missing.push(image.file);
    else if (typeof verdict === 'string') result.bad.push({ file: image.file, why: verdict });
    else result.ok.push(verdict);
  }
  return result;
}

async function checkImage(
  job: Pick<SamplerJobSpec, 'set_id' | 'out_dir' | 'width' | 'height'>,
  image: SamplerJobSpec['images'][number],
  vouched?: SampleImage,
): Promise<SampleImage | string> {
  const pngPath = path.join(job.out_dir, image.file);
  const sidecar = await readSidecar(path.join(job.out_dir, image.sidecar));
  const bytes = await readFile(pngPath).catch(() => undefined);
  if (!bytes || sidecar === undefined) return 'missing';
  if (sidecar === null) return 'sidecar is not valid JSON';
  if (sidecar.set_id !== job.set_id || sidecar.seed !== image.seed || sidecar.prompt_id !== image.prompt_id) {
    return `sidecar describes another image (${sidecar.set_id} ${sidecar.prompt_id} seed ${sidecar.seed})`;
  }
  const digest = sha256(bytes);
  if (sidecar.sha256 !== digest) return `sha256 ${digest.slice(0, 12)} does not match the sidecar's ${String(sidecar.sha256).slice(0, 12)}`;
  if (vouched && vouched.sha256 === digest && vouched.width === job.width && vouched.height === job.height) return vouched;
  let png: { width: number; height: number };
  try {
    png = decodedPngSize(bytes);
  } catch (error) {
    return `does not decode as PNG: ${(error as Error).message}`;
  }
  if (png.width !== job.width || png.height !== job.height) return `is ${png.width}×${png.height}, the spec asks for ${job.width}×${job.height}`;
  return { promptId: image.prompt_id, seed: image.seed, file: image.file, sha256: digest, width: png.width, height: png.height };
}

/** undefined: no sidecar; null: a sidecar that does not parse. */
async function readSidecar(file: string): Promise<SampleSidecar | undefined | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as SampleSidecar;
  } catch {
    return null;
  }
}

/** Removes a bad image and its sidecar so the sampler renders it again (its own skip check trusts sidecars). */
export async function discardImage(outDir: string, image: { file: string; sidecar: string }): Promise<void> {
  await rm(path.join(outDir, image.file), { force: true });
  await rm(path.join(outDir, image.sidecar), { force: true });
}
