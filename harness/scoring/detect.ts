// The main face of one image, for callers outside scoring (dataset prepare's face crop, tests). Same
// models, same config and the same choice of face (mainFace) as feature extraction; nothing is scored.
import { cropImage, decodeImage, resizeImage, uprightImageSize, type RawImage } from '../image/index.ts';
import { DETECT_MAX_SIDE } from './extract.ts';
import { mainFace } from './features.ts';
import { loadHuman } from './models.ts';

export interface DetectedFace {
  /** the face mesh's extent, in pixels of the upright (EXIF-rotated) image at full size, or of the RawImage passed in */
  box: { x: number; y: number; width: number; height: number };
  /** Human's face confidence, 0-1 */
  score: number;
}

function isRaw(input: string | Uint8Array | RawImage): input is RawImage {
  return typeof input === 'object' && !(input instanceof Uint8Array) && 'data' in input;
}

/**
 * Detects on a copy shrunk to DETECT_MAX_SIDE (as scoring does) and maps the box back to the input's
 * frame; a wide or tall image with no face found gets a second look, square by square. Null when no face
 * has a full mesh and embedding (the faces scoring would use). Throws when the models cannot load or
 * Human reports an error: that is not "no face".
 */
export async function detectMainFace(input: string | Uint8Array | RawImage): Promise<DetectedFace | null> {
  let image: RawImage;
  let frame: { width: number; height: number };
  if (isRaw(input)) {
    frame = { width: input.width, height: input.height };
    const scale = Math.min(1, DETECT_MAX_SIDE / Math.max(input.width, input.height));
    image = scale < 1 ? await resizeImage(input, Math.max(1, Math.round(input.width * scale)), Math.max(1, Math.round(input.height * scale))) : input;
  } else {
    frame = await uprightImageSize(input);
    image = await decodeImage(input, { maxSide: DETECT_MAX_SIDE });
  }
  const found = (await detectIn(image)) ?? (await detectInSquares(image));
  if (!found) return null;
  const sx = frame.width / image.width;
  const sy = frame.height / image.height;
  const { x, y, width, height } = found.box;
  return { box: { x: x * sx, y: y * sy, width: width * sx, height: height * sy }, score: found.score };
}

/**
 * The main face in `image`'s pixels; its box is the extent of the 2D face mesh (forehead top to chin,
 * cheek to cheek). Human's own box is the padded crop it fed the mesh model, and its padding changes with
 * the scene (1.4× to 2× the face for the same photo), so it says less about where the face is.
 */
async function detectIn(image: RawImage): Promise<DetectedFace | null> {
  const human = await loadHuman();
  const tensor = human.tf.tensor3d(image.data, [image.height, image.width, 3], 'int32');
  let result;
  try {
    result = await human.detect(tensor);
  } finally {
    tensor.dispose();
  }
  if (result.error) throw new Error(`face models failed: ${result.error}`);
  const face = mainFace(result);
  if (!face) return null;
  const xs = face.mesh.map((p) => p[0]);
  const ys = face.mesh.map((p) => p[1]);
  const x = Math.min(...xs);
  const y = Math.min(...ys);
  return { box: { x, y, width: Math.max(...xs) - x, height: Math.max(...ys) - y }, score: face.score };
}

/**
 * The detector sees the whole image squeezed into a square, so in a wide or tall photo a face can get too
 * small to find (an astronaut portrait on a 1400×512 canvas: none found). Second try: overlapping squares
 * of the short side, half a side apart; the largest face wins.
 */
async function detectInSquares(image: RawImage): Promise<DetectedFace | null> {
  const side = Math.min(image.width, image.height);
  const long = Math.max(image.width, image.height);
  if (long < side * 1.25) return null;
  const starts: number[] = [];
  for (let at = 0; at < long - side; at += Math.floor(side / 2)) starts.push(at);
  starts.push(long - side);
  let best: DetectedFace | null = null;
  for (const at of starts) {
    const wide = image.width > image.height;
    const window = await cropImage(image, { left: wide ? at : 0, top: wide ? 0 : at, width: side, height: side });
    const face = await detectIn(window);
    if (!face || (best && face.box.width * face.box.height <= best.box.width * best.box.height)) continue;
    best = { ...face, box: { ...face.box, x: face.box.x + (wide ? at : 0), y: face.box.y + (wide ? 0 : at) } };
  }
  return best;
}
