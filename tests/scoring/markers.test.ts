import { describe, expect, it } from 'vitest';
import type { BodyPart, FaceFeatures, ImageFeatures, Point2 } from '../../harness/scoring/features.ts';
import { buildReferenceModel, measures, poseNeck, scoreFeatures, typicality } from '../../harness/scoring/markers.ts';

function face(overrides: Partial<FaceFeatures> = {}): FaceFeatures {
  return {
    score: 0.99,
    yaw: 0,
    pitch: 0,
    roll: 0,
    embedding: [1, 0, 0],
    nose: [0.5, 1.3, 0.32],
    chin: [100, 200],
    faceHeight: 100,
    ...overrides,
  };
}

interface Scene {
  shoulders?: number;
  faceParts?: number;
  ears?: number;
  /** y of the ears (shoulders are at 290) */
  earY?: number;
  hair?: ImageFeatures['hair'];
}

function image(f: FaceFeatures | null, scene: Scene = {}): ImageFeatures {
  const { shoulders = 0.9, faceParts = 0.9, ears = 0.9, earY = 150 } = scene;
  const keypoints: Partial<Record<BodyPart, Point2>> = {
    nose: { x: 100, y: 150, score: faceParts },
    leftEye: { x: 110, y: 140, score: faceParts },
    rightEye: { x: 90, y: 140, score: faceParts },
    leftEar: { x: 130, y: earY, score: ears },
    rightEar: { x: 70, y: earY, score: ears },
    leftShoulder: { x: 160, y: 290, score: shoulders },
    rightShoulder: { x: 40, y: 290, score: shoulders },
  };
  const hair = scene.hair === undefined ? { from: f ? ('mesh' as const) : ('pose' as const), descriptor: [1, 0], inside: 1, person: 1 } : scene.hair;
  return { sha256: 'x', width: 400, height: 400, face: f, hair, body: { score: 0.8, keypoints } };
}

describe('marker gates and reasons', () => {
  it('a profile keeps identity (up to the gate) but has no nose', () => {
    const m = measures(image(face({ yaw: 42 })));
    expect(m.nose).toBeNull();
    expect(m.missing.nose).toBe('profile');
    expect(m.missing.identity).toBeUndefined();
    expect(measures(image(face({ yaw: 70 }))).missing.identity).toBe('profile');
  });

  it('neck needs visible, level shoulders below the chin', () => {
    expect(measures(image(face())).neck).toEqual({ value: expect.closeTo(0.9, 6), from: 'mesh' });
    expect(measures(image(face(), { shoulders: 0.1 })).missing.neck).toBe('shoulders_hidden');
  });

  it('without a face, the body tells a back view from an empty frame', () => {
    expect(measures(image(null, { faceParts: 0.05 })).missing.identity).toBe('back_view');
    expect(measures(image(null, { shoulders: 0.1, faceParts: 0.05, ears: 0.05, hair: null })).missing.identity).toBe('no_face');
    expect(measures({ sha256: '', width: 0, height: 0, face: null, body: null, hair: null, error: 'bad' }).missing.curls).toBe('unreadable');
  });

  it('a back view still yields curls (pose band) and the neck from ears and shoulders', () => {
    const m = measures(image(null, { faceParts: 0.05 }));
    expect(m.missing).toEqual({ identity: 'back_view', nose: 'back_view' });
    expect(m.hair).toEqual([1, 0]);
    // ears' midpoint (100, 150) to shoulders' midpoint (100, 290) over a 120 px shoulder span
    expect(m.neck).toEqual({ value: expect.closeTo(140 / 120, 9), from: 'pose' });
  });

  it('the keypoint neck needs both ears above level shoulders', () => {
    expect(poseNeck(image(null, { ears: 0.1 })).value).toBeNull();
    expect(poseNeck(image(null, { shoulders: 0.1 }))).toEqual({ value: null, reason: 'shoulders_hidden' });
    expect(poseNeck(image(null, { earY: 300 }))).toEqual({ value: null, reason: 'shoulders_hidden' });
    const oneEar = measures(image(null, { faceParts: 0.05, ears: 0.1 }));
    expect(oneEar.neck).toBeNull();
    expect(oneEar.missing.neck).toBe('back_view');
  });

  it('a band the mask calls background is hair_occluded, with or without a face', () => {
    const covered = { from: 'mesh' as const, descriptor: null, inside: 1, person: 0.2 };
    expect(measures(image(face(), { hair: covered })).missing.curls).toBe('hair_occluded');
    expect(measures(image(null, { faceParts: 0.05, hair: { ...covered, from: 'pose' } })).missing.curls).toBe('hair_occluded');
    // no head to place a band on: the reason is the missing face's
    expect(measures(image(null, { faceParts: 0.05, hair: null })).missing.curls).toBe('back_view');
  });

  it('typicality is 1 at the reference mean and falls with distance in reference SDs', () => {
    const dist = { mean: [1], sd: [0.1] };
    expect(typicality([1], dist)).toBe(1);
    expect(typicality([1.1], dist)).toBeCloseTo(Math.exp(-0.5), 10);
    expect(typicality([1.2], dist)).toBeLessThan(typicality([1.1], dist));
  });

  it('scores missing markers as null, never zero', () => {
    const model = buildReferenceModel([image(face()), image(face({ embedding: [0.9, 0.1, 0] }))]);
    const s = scoreFeatures('p.png', image(null, { shoulders: 0.1, faceParts: 0.05, ears: 0.05, hair: null }), model);
    expect([s.identity, s.nose, s.neck, s.curls]).toEqual([null, null, null, null]);
    expect(s.face).toBe(false);
    const frontal = scoreFeatures('f.png', image(face()), model);
    expect(frontal.identity).toBeGreaterThan(0.99);
    expect(frontal.nose).toBe(1);
  });

  it('a back view is scored against the references\' keypoint neck, not their chin measure', () => {
    const model = buildReferenceModel([image(face()), image(face({ embedding: [0.9, 0.1, 0] }))]);
    expect(model.neckPose?.mean[0]).toBeCloseTo(140 / 120, 9);
    const back = scoreFeatures('b.png', image(null, { faceParts: 0.05 }), model);
    expect(back.neck).toBe(1);
    expect(back.curls).toBe(1);
    expect(back.measures).toEqual({ neckPose: expect.closeTo(140 / 120, 9) });
    const longer = scoreFeatures('l.png', image(null, { faceParts: 0.05, earY: 110 }), model);
    expect(longer.neck).toBeLessThan(0.5);
  });

  it('scores identity up to the yaw gate and not past it, and keeps profile references out of the identity centroid', () => {
    const model = buildReferenceModel([image(face()), image(face({ embedding: [0.9, 0.1, 0] }))]);
    const turned = scoreFeatures('t.png', image(face({ yaw: 42 })), model);
    expect(turned.identity).toBeGreaterThan(0.99);
    expect(turned.missing.identity).toBeUndefined();
    // past the gate the embedding is of a side view: not the identity, however similar it looks
    const profile = scoreFeatures('p.png', image(face({ yaw: 70 })), model);
    expect(profile.identity).toBeNull();
    expect(profile.missing.identity).toBe('profile');
    expect(profile.yaw).toBe(70);
    const withProfile = buildReferenceModel([image(face()), image(face({ embedding: [0.9, 0.1, 0] })), image(face({ yaw: -65, embedding: [0, 0, 1] }))]);
    expect(withProfile.identity).toEqual(model.identity);
  });

  it('the nose spread floor sets the scale when the references agree exactly', () => {
    // two identical references: their SD is 0, so each ratio's SD is the floor, 4 % of its mean
    const model = buildReferenceModel([image(face()), image(face({ embedding: [0.9, 0.1, 0] }))]);
    expect(model.nose!.sd).toEqual([0.5 * 0.04, 1.3 * 0.04, 0.32 * 0.04].map((v) => expect.closeTo(v, 12)));
    // every ratio off by one floor SD: typicality exp(−½); a floor ten times looser would read it as typical (0.995)
    const off = scoreFeatures('n.png', image(face({ nose: [0.5 * 1.04, 1.3 * 1.04, 0.32 * 1.04] })), model);
    expect(off.nose).toBeCloseTo(Math.exp(-0.5), 9);
    const farOff = scoreFeatures('n.png', image(face({ nose: [0.5 * 1.08, 1.3 * 1.08, 0.32 * 1.08] })), model);
    expect(farOff.nose).toBeCloseTo(Math.exp(-2), 9);
  });
});
