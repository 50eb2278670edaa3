// Where the square goes when prepare crops around the face. Pure: a face box in, a square box out.
import type { SquareCrop } from './pixels.ts';

/**
 * The crop centre sits this many face heights below the face centre. The face box (detectMainFace: the
 * face mesh's extent) spans forehead to chin, and a training photo needs the hair above it and the neck and shoulders below it (the scorer
 * grades hair and neck): 0.3 puts the eyes near the upper third of a head-and-shoulders square, so the
 * neck stays in; the hair still fits because the square is usually several face heights tall.
 */
export const FACE_CENTRE_DROP = 0.3;

export interface FaceBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * The square of side min(width, height) (the same side as the centre crop, so only the position
 * changes) whose centre is nearest the face target, clamped to the image.
 */
export function faceCrop(width: number, height: number, face: FaceBox): SquareCrop {
  const side = Math.min(width, height);
  const targetX = face.x + face.width / 2;
  const targetY = face.y + face.height / 2 + FACE_CENTRE_DROP * face.height;
  return {
    left: clamp(Math.round(targetX - side / 2), 0, width - side),
    top: clamp(Math.round(targetY - side / 2), 0, height - side),
    side,
  };
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}
