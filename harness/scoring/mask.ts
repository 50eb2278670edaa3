// The person mask: MediaPipe's selfie segmentation over the whole image, read where the hair band is
// sampled, so background (sky, wall) above a short haircut never enters the curls descriptor.
import type { GraphModel, HumanInstance } from './models.ts';

export interface PersonMask {
  /** the model's grid (256×256 for selfie), over the whole image squeezed to a square */
  size: number;
  /** per cell, the model's person probability 0..1 */
  data: Float32Array;
  /** the image this mask covers, in pixels */
  width: number;
  height: number;
}

/** A sample counts as person above this probability. */
export const PERSON_THRESHOLD = 0.5;

interface MaskTf {
  tidy<T>(fn: () => T): T;
  div(a: unknown, b: number): unknown;
  expandDims(x: unknown, axis: number): unknown;
  image: { resizeBilinear(x: unknown, size: [number, number]): unknown };
}

/** `image` is the [height, width, 3] int32 tensor the detectors see. */
export async function personMask(human: HumanInstance, model: GraphModel, image: { shape: number[] }): Promise<PersonMask> {
  const tf = human.tf as unknown as MaskTf;
  const [height = 0, width = 0] = image.shape;
  const size = model.inputs[0]?.shape?.[1] ?? 256;
  const input = tf.tidy(() => tf.div(tf.image.resizeBilinear(tf.expandDims(image, 0), [size, size]), 255)) as { dispose(): void };
  try {
    const output = model.execute(input);
    try {
      const data = await output.data();
      return { size, data: data instanceof Float32Array ? data : Float32Array.from(data), width, height };
    } finally {
      output.dispose();
    }
  } finally {
    input.dispose();
  }
}

/** The person probability at image pixel (x, y), nearest cell; 0 outside the picture. */
export function personAt(mask: PersonMask, x: number, y: number): number {
  if (x < 0 || y < 0 || x >= mask.width || y >= mask.height) return 0;
  const col = Math.min(mask.size - 1, Math.floor((x / mask.width) * mask.size));
  const row = Math.min(mask.size - 1, Math.floor((y / mask.height) * mask.size));
  return mask.data[row * mask.size + col]!;
}
