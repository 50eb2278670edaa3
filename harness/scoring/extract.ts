// One image → its features: decode (sharp), detect (Human), hair band. Runs inside a pool worker.
import { readFile } from 'node:fs/promises';
import { decodeImage } from '../image/index.ts';
import { sha256 } from '../util/hash.ts';
import { bodyFeatures, faceFeatures, mainFace, type ImageFeatures } from './features.ts';
import { detectBody } from './body.ts';
import { hairDescriptor } from './hair.ts';
import { loadHuman } from './models.ts';

/**
 * Longest side the detectors see. Human crops faces from the input for its 192/224-pixel models, so
 * 1024 keeps faces in full-body scenes large enough while bounding the cost of bigger images.
 */
export const DETECT_MAX_SIDE = 1024;

export interface StageTimes {
  read: number;
  decode: number;
  detect: number;
  hair: number;
}

export async function extractFeatures(file: string): Promise<{ features: ImageFeatures; times: StageTimes }> {
  const times: StageTimes = { read: 0, decode: 0, detect: 0, hair: 0 };
  let t = performance.now();
  const lap = (stage: keyof StageTimes) => {
    const now = performance.now();
    times[stage] = now - t;
    t = now;
  };
  const bytes = await readFile(file);
  const hash = sha256(bytes);
  lap('read');
  return { features: await extractFromBytes(bytes, hash, lap), times };
}

async function extractFromBytes(bytes: Uint8Array, hash: string, lap: (stage: keyof StageTimes) => void): Promise<ImageFeatures> {
  let image;
  try {
    image = await decodeImage(bytes, { maxSide: DETECT_MAX_SIDE });
  } catch (error) {
    return { sha256: hash, width: 0, height: 0, face: null, body: null, error: `cannot decode image: ${(error as Error).message}` };
  }
  lap('decode');
  const human = await loadHuman();
  const tensor = human.tf.tensor3d(image.data, [image.height, image.width, 3], 'int32');
  let result;
  let body;
  try {
    result = await human.detect(tensor);
    body = await detectBody(human, tensor as unknown as { shape: number[] });
  } finally {
    tensor.dispose();
  }
  if (result.error) return { sha256: hash, width: image.width, height: image.height, face: null, body: null, error: `face models failed: ${result.error}` };
  lap('detect');
  const face = mainFace(result);
  const features: ImageFeatures = {
    sha256: hash,
    width: image.width,
    height: image.height,
    face: face ? faceFeatures(face, { descriptor: hairDescriptor(image, face.mesh) }) : null,
    body: bodyFeatures(body),
  };
  lap('hair');
  return features;
}
