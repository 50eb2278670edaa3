import { describe, expect, it } from 'vitest';
import type { FaceFeatures, ImageFeatures } from '../../harness/scoring/features.ts';
import { buildReferenceModel, measures, scoreFeatures, typicality } from '../../harness/scoring/markers.ts';

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
    hair: [1, 0],
    ...overrides,
  };
}

function image(f: FaceFeatures | null, shoulders = 0.9, faceParts = 0.9): ImageFeatures {
  return {
    sha256: 'x',
    width: 400,
    height: 400,
    face: f,
    body: {
      score: 0.8,
      keypoints: {
        nose: { x: 100, y: 150, score: faceParts },
        leftEye: { x: 110, y: 140, score: faceParts },
        rightEye: { x: 90, y: 140, score: faceParts },
        leftShoulder: { x: 160, y: 290, score: shoulders },
        rightShoulder: { x: 40, y: 290, score: shoulders },
      },
    },
  };
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
    expect(measures(image(face())).neck).toBeCloseTo(0.9, 6);
    expect(measures(image(face(), 0.1)).missing.neck).toBe('shoulders_hidden');
  });

  it('without a face, the body tells a back view from an empty frame', () => {
    expect(measures(image(null, 0.9, 0.05)).missing.identity).toBe('back_view');
    expect(measures(image(null, 0.1, 0.05)).missing.identity).toBe('no_face');
    expect(measures({ sha256: '', width: 0, height: 0, face: null, body: null, error: 'bad' }).missing.curls).toBe('unreadable');
  });

  it('typicality is 1 at the reference mean and falls with distance in reference SDs', () => {
    const dist = { mean: [1], sd: [0.1] };
    expect(typicality([1], dist)).toBe(1);
    expect(typicality([1.1], dist)).toBeCloseTo(Math.exp(-0.5), 10);
    expect(typicality([1.2], dist)).toBeLessThan(typicality([1.1], dist));
  });

  it('scores missing markers as null, never zero', () => {
    const model = buildReferenceModel([image(face()), image(face({ embedding: [0.9, 0.1, 0] }))]);
    const s = scoreFeatures('p.png', image(null, 0.1, 0.05), model);
    expect([s.identity, s.nose, s.neck, s.curls]).toEqual([null, null, null, null]);
    expect(s.face).toBe(false);
    const frontal = scoreFeatures('f.png', image(face()), model);
    expect(frontal.identity).toBeGreaterThan(0.99);
    expect(frontal.nose).toBe(1);
  });
});
