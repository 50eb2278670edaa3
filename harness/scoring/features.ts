// What one image yields before any reference is involved: cacheable by image hash + scorer version.
// Pure: turns Human's raw result into the measures the markers need.
import type { HairFeatures } from './hair.ts';
import type { HumanBody, HumanFace, HumanResult } from './models.ts';

export interface Point2 {
  x: number;
  y: number;
  score: number;
}

/** The body keypoints the markers use (MoveNet names). */
export const BODY_PARTS = ['nose', 'leftEye', 'rightEye', 'leftEar', 'rightEar', 'leftShoulder', 'rightShoulder'] as const;
export type BodyPart = (typeof BODY_PARTS)[number];

export interface FaceFeatures {
  score: number;
  /** degrees; 0 = looking at the camera */
  yaw: number;
  pitch: number;
  roll: number;
  embedding: number[];
  /** pose-normalised nose ratios (3D mesh distances), see noseRatios() */
  nose: number[];
  /** 2D image points for the neck marker */
  chin: [number, number];
  faceHeight: number;
}

export interface ImageFeatures {
  sha256: string;
  width: number;
  height: number;
  face: FaceFeatures | null;
  body: { score: number; keypoints: Partial<Record<BodyPart, Point2>> } | null;
  /** the hair band (curls): null when there was nowhere to put it (no face mesh, no head keypoints) */
  hair: HairFeatures | null;
  error?: string;
}

/** An image that could not be read or analysed: nothing found, and the error that says why. */
export function failedFeatures(error: string, image: { sha256?: string; width?: number; height?: number } = {}): ImageFeatures {
  return { sha256: image.sha256 ?? '', width: image.width ?? 0, height: image.height ?? 0, face: null, body: null, hair: null, error };
}

// MediaPipe face-mesh indices (468-point topology Human returns).
export const MESH = {
  foreheadTop: 10,
  chin: 152,
  eyeOuterR: 33,
  eyeOuterL: 263,
  eyeInnerR: 133,
  eyeInnerL: 362,
  nasion: 168,
  noseTip: 1,
  subnasale: 2,
  alaR: 129,
  alaL: 358,
  cheekR: 234,
  cheekL: 454,
} as const;

type P3 = readonly [number, number, number] | readonly number[];

export function dist2(a: P3, b: P3): number {
  return Math.hypot(a[0]! - b[0]!, a[1]! - b[1]!);
}

/**
 * Nose ratios from 2D mesh distances (Human's mesh depth does not share the image scale, so 3D distances
 * change with resolution): width / outer-eye span and / inner-eye span (robust to yaw), length / face
 * height (both vertical, so pitch shortens them together; larger pitch is gated out).
 */
export function noseRatios(mesh: readonly P3[]): number[] {
  const p = (i: number) => mesh[i]!;
  const width = dist2(p(MESH.alaR), p(MESH.alaL));
  return [
    width / dist2(p(MESH.eyeOuterR), p(MESH.eyeOuterL)),
    width / dist2(p(MESH.eyeInnerR), p(MESH.eyeInnerL)),
    dist2(p(MESH.nasion), p(MESH.subnasale)) / dist2(p(MESH.foreheadTop), p(MESH.chin)),
  ];
}

const DEG = 180 / Math.PI;

/** The face the image is about: the largest detected box. */
export function mainFace(result: HumanResult): HumanFace | null {
  let best: HumanFace | null = null;
  for (const face of result.face) {
    if (face.mesh.length < 468 || !face.embedding?.length) continue;
    if (!best || face.box[2] * face.box[3] > best.box[2] * best.box[3]) best = face;
  }
  return best;
}

export function faceFeatures(face: HumanFace): FaceFeatures {
  const angle = face.rotation?.angle ?? { yaw: 0, pitch: 0, roll: 0 };
  const mesh = face.mesh;
  const chin = mesh[MESH.chin]!;
  return {
    score: face.score,
    yaw: angle.yaw * DEG,
    pitch: angle.pitch * DEG,
    roll: angle.roll * DEG,
    embedding: [...(face.embedding ?? [])],
    nose: noseRatios(mesh),
    chin: [chin[0], chin[1]],
    faceHeight: dist2(mesh[MESH.foreheadTop]!, chin),
  };
}

export function bodyFeatures(body: HumanBody | undefined): ImageFeatures['body'] {
  if (!body) return null;
  const keypoints: Partial<Record<BodyPart, Point2>> = {};
  for (const kp of body.keypoints) {
    if ((BODY_PARTS as readonly string[]).includes(kp.part)) {
      keypoints[kp.part as BodyPart] = { x: kp.position[0], y: kp.position[1], score: kp.score };
    }
  }
  return { score: body.score, keypoints };
}
