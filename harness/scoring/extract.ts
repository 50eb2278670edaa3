// One image → its features: decode (sharp), detect (Human, MoveNet), person mask, hair band. Runs inside a
// pool worker. On request it also makes the image's preview (harness/samples/previews.ts) from the pixels it
// has just decoded.
import { readFile } from 'node:fs/promises';
import { decodeImage, storedRgbSize, thumbnailFromPixels, thumbnailPng, type Colour, type RawImage } from '../image/index.ts';
import { sha256 } from '../util/hash.ts';
import { detectBody } from './body.ts';
import { bodyFeatures, faceFeatures, failedFeatures, mainFace, type ImageFeatures } from './features.ts';
import { hairFeatures, meshBand, poseBand } from './hair.ts';
import { personMask } from './mask.ts';
import { loadModels } from './models.ts';

/**
 * Longest side the detectors see. Human crops faces from the input for its 192/224-pixel models, so
 * 1024 keeps faces in full-body scenes large enough while bounding the cost of bigger images.
 */
export const DETECT_MAX_SIDE = 1024;

export interface StageTimes {
  read: number;
  decode: number;
  detect: number;
  mask: number;
  hair: number;
  preview: number;
}

export function emptyStageTimes(): StageTimes {
  return { read: 0, decode: 0, detect: 0, mask: 0, hair: 0, preview: 0 };
}

/** A preview to make: side×side, padded and flattened on `background` (thumbnailPng's picture). */
export interface PreviewRequest {
  side: number;
  background: Colour;
}

/**
 * `given` is the file's content and hash when the caller already read it (the pool's main thread does).
 * `preview`: also make the image's preview; null when the image does not decode.
 */
export async function extractFeatures(
  file: string,
  given?: { bytes: Uint8Array; sha256: string },
  preview?: PreviewRequest,
): Promise<{ features: ImageFeatures; times: StageTimes; preview?: Uint8Array | null }> {
  const times = emptyStageTimes();
  let t = performance.now();
  const lap = (stage: keyof StageTimes) => {
    const now = performance.now();
    times[stage] = now - t;
    t = now;
  };
  const bytes = given?.bytes ?? (await readFile(file));
  const hash = given?.sha256 ?? sha256(bytes);
  lap('read');
  let image: RawImage;
  try {
    image = await decodeImage(bytes, { maxSide: DETECT_MAX_SIDE });
  } catch (error) {
    return { features: failedFeatures(`cannot decode image: ${(error as Error).message}`, { sha256: hash }), times, ...(preview ? { preview: null } : {}) };
  }
  lap('decode');
  const features = await featuresOf(image, hash, lap);
  if (!preview) return { features, times };
  const png = await previewOf(bytes, image, preview).catch(() => null);
  lap('preview');
  return { features, times, preview: png };
}

/**
 * From the decoded pixels when they are the stored ones (a sampler's 8-bit RGB PNG, not shrunk for the
 * detectors): the same picture as thumbnailPng of the file, without decoding it again. Else from the bytes.
 */
async function previewOf(bytes: Uint8Array, image: RawImage, request: PreviewRequest): Promise<Uint8Array> {
  const stored = await storedRgbSize(bytes);
  const asStored = stored !== null && stored.width === image.width && stored.height === image.height;
  return asStored ? thumbnailFromPixels(image, request.side, request.background) : thumbnailPng(bytes, request.side, request.background);
}

async function featuresOf(image: RawImage, hash: string, lap: (stage: keyof StageTimes) => void): Promise<ImageFeatures> {
  const { human, mask: maskModel } = await loadModels();
  const tensor = human.tf.tensor3d(image.data, [image.height, image.width, 3], 'int32');
  const input = tensor as unknown as { shape: number[] };
  let features: ImageFeatures;
  try {
    const result = await human.detect(tensor);
    const body = await detectBody(human, input);
    lap('detect');
    if (result.error) return failedFeatures(`face models failed: ${result.error}`, { sha256: hash, width: image.width, height: image.height });
    const face = mainFace(result);
    const keypoints = bodyFeatures(body);
    // no usable face (back view, profile): the head is placed from the ear and shoulder keypoints instead
    const band = face ? { frame: meshBand(face.mesh), from: 'mesh' as const } : keypoints ? { frame: poseBand(keypoints.keypoints), from: 'pose' as const } : null;
    // the mask is only read inside the band: without one it is not computed
    const mask = band?.frame ? await personMask(human, maskModel, input) : null;
    lap('mask');
    features = {
      sha256: hash,
      width: image.width,
      height: image.height,
      face: face ? faceFeatures(face) : null,
      body: keypoints,
      hair: band?.frame ? hairFeatures(image, band.frame, band.from, mask) : null,
    };
  } finally {
    tensor.dispose();
  }
  lap('hair');
  return features;
}
