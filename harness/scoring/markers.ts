// Marker scores of one image against a reference model. Pure: features + reference → ImageScore.
import type { BodyPart, ImageFeatures, Point2 } from './features.ts';
import { GATES } from './gates.ts';
import { hairCentroid, hairSimilarity } from './hair.ts';
import { centroid, cosine, mean, sd } from './stats.ts';
import type { ImageScore, Marker, MissingReason } from './types.ts';

/**
 * Spread floors, as a fraction of the reference mean: with one or a few references the sample SD is
 * 0 or noise, and a typical image would score near 0. The floors are about twice the spread of the same
 * photo under edits (flip, crop, colour, blur, JPEG, scale) on the fixture photos: nose ratios 1-2 %,
 * neck ratio about 4 %.
 */
export const SD_FLOOR = { nose: 0.04, neck: 0.08 } as const;

export interface MarkerMeasures {
  nose: number[] | null;
  /** mesh: chin to shoulders' midpoint / face height; pose (no usable face): ears' to shoulders' midpoint / shoulder span */
  neck: { value: number; from: 'mesh' | 'pose' } | null;
  hair: number[] | null;
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
  const shoulders = shoulderLine(features) !== null;
  const eyes = [visible(features, 'leftEye'), visible(features, 'rightEye')].filter(Boolean).length;
  const faceParts = eyes + (visible(features, 'nose') ? 1 : 0);
  if (shoulders && faceParts === 0) return 'back_view';
  if (visible(features, 'nose') && eyes < 2) return 'profile';
  return 'no_face';
}

/** The shoulder line when both shoulders are seen: its midpoint, span and tilt from level (degrees). */
function shoulderLine(features: ImageFeatures): { x: number; y: number; span: number; tilt: number } | null {
  if (!visible(features, 'leftShoulder', GATES.shoulderMinScore) || !visible(features, 'rightShoulder', GATES.shoulderMinScore)) return null;
  const left = kp(features, 'leftShoulder')!;
  const right = kp(features, 'rightShoulder')!;
  return {
    x: (left.x + right.x) / 2,
    y: (left.y + right.y) / 2,
    span: Math.hypot(left.x - right.x, left.y - right.y),
    tilt: (Math.atan2(Math.abs(left.y - right.y), Math.abs(left.x - right.x)) * 180) / Math.PI,
  };
}

function meshNeck(features: ImageFeatures): { value: number | null; reason?: MissingReason } {
  const face = features.face!;
  const shoulders = shoulderLine(features);
  if (!shoulders) return { value: null, reason: 'shoulders_hidden' };
  if (Math.abs(face.yaw) > GATES.neckMaxYaw || Math.abs(face.pitch) > GATES.neckMaxPitch) return { value: null, reason: 'profile' };
  // a shoulder line that is steep, or not below the chin, is a pose the ratio cannot be read from
  if (shoulders.tilt > GATES.shoulderMaxTilt || shoulders.y <= face.chin[1]) return { value: null, reason: 'shoulders_hidden' };
  return { value: Math.hypot(shoulders.x - face.chin[0], shoulders.y - face.chin[1]) / face.faceHeight };
}

/**
 * The neck from body keypoints alone, for images without a usable face (back views): the distance from
 * the ears' midpoint to the shoulders' midpoint over the shoulder span. Needs both ears and both
 * shoulders, and a level shoulder line (a turned body foreshortens the span).
 */
export function poseNeck(features: ImageFeatures): { value: number | null; reason?: MissingReason } {
  const shoulders = shoulderLine(features);
  if (!shoulders) return { value: null, reason: 'shoulders_hidden' };
  if (!visible(features, 'leftEar') || !visible(features, 'rightEar')) return { value: null };
  const leftEar = kp(features, 'leftEar')!;
  const rightEar = kp(features, 'rightEar')!;
  const earX = (leftEar.x + rightEar.x) / 2;
  const earY = (leftEar.y + rightEar.y) / 2;
  if (shoulders.span === 0 || shoulders.tilt > GATES.shoulderMaxTilt || shoulders.y <= earY) return { value: null, reason: 'shoulders_hidden' };
  return { value: Math.hypot(shoulders.x - earX, shoulders.y - earY) / shoulders.span };
}

/** The raw measures of one image with the gates applied; reference-independent. */
export function measures(features: ImageFeatures): MarkerMeasures {
  const hair = features.hair?.descriptor ?? null;
  if (!features.face) {
    const reason = noFaceReason(features);
    const missing: Partial<Record<Marker, MissingReason>> = { identity: reason, nose: reason };
    const neck = features.error ? { value: null } : poseNeck(features);
    if (neck.value === null) missing.neck = neck.reason ?? reason;
    if (!hair) missing.curls = features.hair && !features.error ? 'hair_occluded' : reason;
    return { nose: null, neck: neck.value === null ? null : { value: neck.value, from: 'pose' }, hair, missing };
  }
  const face = features.face;
  const missing: Partial<Record<Marker, MissingReason>> = {};
  if (Math.abs(face.yaw) > GATES.identityMaxYaw) missing.identity = 'profile';
  let nose: number[] | null = face.nose;
  if (Math.abs(face.yaw) > GATES.noseMaxYaw || Math.abs(face.pitch) > GATES.noseMaxPitch) {
    nose = null;
    missing.nose = 'profile';
  }
  const neck = meshNeck(features);
  if (neck.reason) missing.neck = neck.reason;
  if (!hair) missing.curls = 'hair_occluded';
  return { nose, neck: neck.value === null ? null : { value: neck.value, from: 'mesh' }, hair, missing };
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
  /** the keypoint neck measure of the references (frontal ones: a turned body foreshortens the span) */
  neckPose: Distribution | null;
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
  const posedNecks: number[][] = [];
  const hairs: number[][] = [];
  for (const features of references) {
    const m = measures(features);
    const face = features.face;
    if (face && !m.missing.identity) embeddings.push(face.embedding);
    if (m.nose) noses.push(m.nose);
    if (m.neck) (m.neck.from === 'mesh' ? necks : posedNecks).push([m.neck.value]);
    if (face && Math.abs(face.yaw) <= GATES.neckMaxYaw) {
      const posed = poseNeck(features);
      if (posed.value !== null) posedNecks.push([posed.value]);
    }
    if (m.hair) hairs.push(m.hair);
  }
  return {
    count: references.length,
    identity: embeddings.length ? centroid(embeddings) : null,
    nose: distribution(noses, SD_FLOOR.nose),
    neck: distribution(necks, SD_FLOOR.neck),
    neckPose: distribution(posedNecks, SD_FLOOR.neck),
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
  const neckDist = m.neck?.from === 'mesh' ? model.neck : model.neckPose;
  const neck = m.neck && neckDist ? typicality([m.neck.value], neckDist) : null;
  const curls = m.hair && model.hair ? hairSimilarity(m.hair, model.hair) : null;
  const score: ImageScore = { file, sha256: features.sha256, identity, curls, nose, neck, face: face !== null, missing: m.missing };
  if (m.nose || m.neck) {
    score.measures = {
      ...(m.nose ? { nose: m.nose } : {}),
      ...(m.neck?.from === 'mesh' ? { neck: m.neck.value } : {}),
      ...(m.neck?.from === 'pose' ? { neckPose: m.neck.value } : {}),
    };
  }
  if (face) {
    score.yaw = face.yaw;
    score.pitch = face.pitch;
    score.embedding = face.embedding;
  }
  if (features.body) score.bodyConfidence = features.body.score;
  if (features.hair) score.hair = { from: features.hair.from, inside: features.hair.inside, person: features.hair.person };
  if (features.error) score.error = features.error;
  return score;
}
