// Body keypoints from MoveNet (single pose), run on Human's own loaded model but without Human's keypoint
// smoothing: Human keeps the previous image's keypoints and snaps any keypoint that moved less than 0.5 %
// back to them (meant for video). For a folder of stills that made a score depend on which image a worker
// thread happened to see before. Here each result is a function of its image alone.
import type { HumanBody, HumanInstance } from './models.ts';

const PARTS = [
  'nose', 'leftEye', 'rightEye', 'leftEar', 'rightEar', 'leftShoulder', 'rightShoulder', 'leftElbow', 'rightElbow',
  'leftWrist', 'rightWrist', 'leftHip', 'rightHip', 'leftKnee', 'rightKnee', 'leftAnkle', 'rightAnkle',
] as const;

/** A lower part found above its upper part is a misdetection (as Human drops it too). */
const VERTICAL: [lower: string, upper: string][] = [
  ['leftKnee', 'leftShoulder'],
  ['rightKnee', 'rightShoulder'],
  ['leftAnkle', 'leftKnee'],
  ['rightAnkle', 'rightKnee'],
];

interface TensorLike {
  shape: number[];
  dispose(): void;
  array(): Promise<unknown>;
}

interface BodyTf {
  tidy<T>(fn: () => T): T;
  pad(x: unknown, paddings: [number, number][]): unknown;
  expandDims(x: unknown, axis: number): unknown;
  cast(x: unknown, dtype: 'int32'): TensorLike;
  image: { resizeBilinear(x: unknown, size: [number, number]): unknown };
}

interface MoveNetModel {
  inputs: { shape?: number[] }[];
  execute(input: unknown): TensorLike;
}

/** `image` is the [height, width, 3] tensor Human also sees. */
export async function detectBody(human: HumanInstance, image: { shape: number[] }, minConfidence = 0.1): Promise<HumanBody | undefined> {
  const model = (human as unknown as { models: { models: Record<string, MoveNetModel | null> } }).models.models.movenet;
  if (!model) return undefined;
  const tf = human.tf as unknown as BodyTf;
  const [height = 0, width = 0] = image.shape;
  const size = model.inputs[0]?.shape?.[1] ?? 192;
  // pad to a square around the centre, as the model expects, then undo it on the keypoints
  const padY = width > height ? Math.trunc((width - height) / 2) : 0;
  const padX = height > width ? Math.trunc((height - width) / 2) : 0;
  // a square image needs no padding (and copying a 1024² tensor for nothing costs ~20 ms)
  const input = tf.tidy(() => {
    const batch = tf.expandDims(image, 0);
    const padded = padX === 0 && padY === 0 ? batch : tf.pad(batch, [[0, 0], [padY, padY], [padX, padX], [0, 0]]);
    return tf.cast(tf.image.resizeBilinear(padded, [size, size]), 'int32');
  });
  let raw: number[][][][];
  try {
    const output = model.execute(input);
    try {
      raw = (await output.array()) as number[][][][];
    } finally {
      output.dispose();
    }
  } finally {
    input.dispose();
  }
  const keypoints: HumanBody['keypoints'] = [];
  (raw[0]?.[0] ?? []).forEach(([y = 0, x = 0, score = 0], id) => {
    if (score <= minConfidence) return;
    keypoints.push({
      part: PARTS[id] ?? `kp${id}`,
      score: Math.round(100 * score) / 100,
      position: [
        (Math.round(width * x) * (width + 2 * padX)) / width - padX,
        (Math.round(height * y) * (height + 2 * padY)) / height - padY,
      ],
    });
  });
  for (const [lower, upper] of VERTICAL) {
    const low = keypoints.findIndex((k) => k.part === lower);
    const high = keypoints.find((k) => k.part === upper);
    if (low >= 0 && high && keypoints[low]!.position[1] < high.position[1]) keypoints.splice(low, 1);
  }
  return { score: keypoints.reduce((best, k) => Math.max(best, k.score), 0), keypoints };
}
