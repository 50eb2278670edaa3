// Marker scores of one image against a reference model. Pure: features + reference → ImageScore.
import type { BodyPart, ImageFeatures, Point2 } from './features.ts';
import { hairCentroid, hairSimilarity } from './hair.ts';
import { centroid, cosine, mean, sd } from './stats.ts';
import type { ImageScore, Marker, MissingReason } from './types.ts';

/** Pose gates, degrees / keypoint confidences. Frontal-only measures need a frontal head. */
export const GATES = {
  identityMaxYaw: 50,
  noseMaxYaw: 30,
  noseMaxPitch: 20,
  neckMaxYaw: 50,
  neckMaxPitch: 20,
  shoulderMinScore: 0.3,
  shoulderMaxTilt: 20,
  headKeypointMinScore: 0.3,
} as const;

/**
 * Spread floors, as a fraction of the reference mean: with one or a few references the sample SD is
 * 0 or noise, and a typical image would score near 0. The floors are about twice the spread of the same
 * photo under edits (flip, crop, colour, blur, JPEG, scale) on the fixture photos: nose ratios 1-2 %,
 * neck ratio about 4 %.
 */
export const SD_FLOOR = { nose: 0.04, neck: 0.08 } as const;

export interface MarkerMeasures {
  nose: number[] | null;
  neck: number | null;
  missing: Partial<Record<Marker, MissingReason>>;
}

function kp(features: ImageFeatures, part: BodyPart): Point2 | undefined {
  return features.body?.keypoints[part];
}

function visible(features: ImageFeatures, part: BodyPart, min = GATES.headKeypointMinScore): boolean {
  return (kp(features, part)?.score ?? 0) >= min;
}

/** Why there is no usable face: the body keypoints tell a back view or a profile from an empty frame. */
export function noFaceReason(features: ImageFeatures): MissingReason {
  if (features.error) return 'unreadable';
  const shoulders = visible(features, 'leftShoulder', GATES.shoulderMinScore) && visible(features, 'rightShoulder', GATES.shoulderMinScore);
  const eyes = [visible(features, 'leftEye'), visible(features, 'rightEye')].filter(Boolean).length;
  const faceParts = eyes + (visible(features, 'nose') ? 1 : 0);
  if (shoulders && faceParts === 0) return 'back_view';
  if (visible(features, 'nose') && eyes < 2) return 'profile';
  return 'no_face';
}

function neckMeasure(features: ImageFeatures): { value: number | null; reason?: MissingReason } {
  const face = features.face!;
  const left = kp(features, 'leftShoulder');
  const right = kp(features, 'rightShoulder');
  if (!left || !right || left.score < GATES.shoulderMinScore || right.score < GATES.shoulderMinScore) return { value: null, reason: 'shoulders_hidden' };
  if (Math.abs(face.yaw) > GATES.neckMaxYaw || Math.abs(face.pitch) > GATES.neckMaxPitch) return { value: null, reason: 'profile' };
  const tilt = (Math.atan2(Math.abs(left.y - right.y), Math.abs(left.x - right.x)) * 180) / Math.PI;
  const midX = (left.x + right.x) / 2;
  const midY = (left.y + right.y) / 2;
  // a shoulder line that is steep, or not below the chin, is a pose the ratio cannot be read from
  if (tilt > GATES.shoulderMaxTilt || midY <= face.chin[1]) return { value: null, reason: 'shoulders_hidden' };
  return { value: Math.hypot(midX - face.chin[0], midY - face.chin[1]) / face.faceHeight };
}

/** The raw measures of one image with the gates applied; reference-independent. */
export function measures(features: ImageFeatures): MarkerMeasures {
  if (!features.face) {
    const reason = noFaceReason(features);
    return { nose: null, neck: null, missing: { identity: reason, nose: reason, neck: reason, curls: reason } };
  }
  const face = features.face;
  const missing: Partial<Record<Marker, MissingReason>> = {};
  if (Math.abs(face.yaw) > GATES.identityMaxYaw) missing.identity = 'profile';
  let nose: number[] | null = face.nose;
  if (Math.abs(face.yaw) > GATES.noseMaxYaw || Math.abs(face.pitch) > GATES.noseMaxPitch) {
    nose = null;
    missing.nose = 'profile';
  }
  const neck = neckMeasure(features);
  if (neck.reason) missing.neck = neck.reason;
  if (!face.hair) missing.curls = face.hairMissing ?? 'hair_occluded';
  return { nose, neck: neck.value, missing };
}

interface Distribution {
  mean: number[];
  sd: number[];
}

export interface ReferenceModel {
  count: number;
  identity: number[] | null;
  nose: Distribution | null;
  neck: Distribution | null;
  hair: number[] | null;
}

function distribution(samples: number[][], floor: number): Distribution | null {
  if (samples.length === 0) return null;
  const dims = samples[0]!.length;
  const m: number[] = [];
  const s: number[] = [];
  for (let d = 0; d < dims; d++) {
    const column = samples.map((x) => x[d]!);
    m.push(mean(column));
    s.push(Math.max(sd(column), Math.abs(m[d]!) * floor));
  }
  return { mean: m, sd: s };
}

export function buildReferenceModel(references: readonly ImageFeatures[]): ReferenceModel {
  const embeddings: number[][] = [];
  const noses: number[][] = [];
  const necks: number[][] = [];
  const hairs: number[][] = [];
  for (const features of references) {
    const m = measures(features);
    const face = features.face;
    if (face && !m.missing.identity) embeddings.push(face.embedding);
    if (m.nose) noses.push(m.nose);
    if (m.neck !== null) necks.push([m.neck]);
    if (face?.hair) hairs.push(face.hair);
  }
  return {
    count: references.length,
    identity: embeddings.length ? centroid(embeddings) : null,
    nose: distribution(noses, SD_FLOOR.nose),
    neck: distribution(necks, SD_FLOOR.neck),
    hair: hairs.length ? hairCentroid(hairs) : null,
  };
}

/** 1 when the measure is typical of the references, exp(−d²/2) at an RMS distance of d reference SDs. */
export function typicality(value: readonly number[], dist: Distribution): number {
  let sum = 0;
  for (let d = 0; d < value.length; d++) sum += ((value[d]! - dist.mean[d]!) / dist.sd[d]!) ** 2;
  return Math.exp(-0.5 * (sum / value.length));
}

export function scoreFeatures(file: string, features: ImageFeatures, model: ReferenceModel): ImageScore {
  const m = measures(features);
  const face = features.face;
  const identity = face && !m.missing.identity && model.identity ? cosine(face.embedding, model.identity) : null;
  const nose = m.nose && model.nose ? typicality(m.nose, model.nose) : null;
  const neck = m.neck !== null && model.neck ? typicality([m.neck], model.neck) : null;
  const curls = face?.hair && !m.missing.curls && model.hair ? hairSimilarity(face.hair, model.hair) : null;
  const score: ImageScore = { file, sha256: features.sha256, identity, curls, nose, neck, face: face !== null, missing: m.missing };
  if (m.nose || m.neck !== null) score.measures = { ...(m.nose ? { nose: m.nose } : {}), ...(m.neck !== null ? { neck: m.neck } : {}) };
  if (face) {
    score.yaw = face.yaw;
    score.pitch = face.pitch;
    score.embedding = face.embedding;
  }
  if (features.body) score.bodyConfidence = features.body.score;
  if (features.error) score.error = features.error;
  return score;
}
