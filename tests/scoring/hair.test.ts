import { describe, expect, it } from 'vitest';
import type { RawImage } from '../../harness/image/index.ts';
import type { BodyPart, Point2 } from '../../harness/scoring/features.ts';
import { hairFeatures, poseBand, sampleBand, type BandFrame } from '../../harness/scoring/hair.ts';
import type { PersonMask } from '../../harness/scoring/mask.ts';

const SIZE = 256;

/** A 256² picture: curly-ish texture (a seeded pattern) left of `split`, `background(x, y)` right of it. */
function picture(split: number, background: (x: number, y: number) => number): RawImage {
  const data = new Uint8Array(SIZE * SIZE * 3);
  let seed = 7;
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      const v = x < split ? 40 + ((x * 7 + y * 13) % 23) * 3 + (seed % 17) : background(x, y);
      data.set([v, Math.max(0, v - 20), Math.max(0, v - 35)], (y * SIZE + x) * 3);
    }
  }
  return { width: SIZE, height: SIZE, data };
}

/** Person where x < split (the mask grid equals the picture's pixels here). */
function mask(split: number): PersonMask {
  const data = new Float32Array(SIZE * SIZE);
  for (let y = 0; y < SIZE; y++) for (let x = 0; x < SIZE; x++) data[y * SIZE + x] = x < split ? 0.95 : 0.02;
  return { size: SIZE, data, width: SIZE, height: SIZE };
}

// the band covers x 48..208, y 48..208 (origin (128, 228), 20..180 px up, 160 px wide)
const FRAME: BandFrame = { origin: [128, 228], up: [0, -1], from: 20, to: 180, width: 160 };

describe('hair band and person mask', () => {
  it('background outside the mask never reaches the descriptor', () => {
    const flat = picture(160, () => 200);
    const busy = picture(160, (x, y) => ((x ^ y) & 8 ? 255 : 0));
    const a = hairFeatures(flat, FRAME, 'mesh', mask(150));
    const b = hairFeatures(busy, FRAME, 'mesh', mask(150));
    expect(a.person).toBeCloseTo(102 / 160, 2);
    expect(a.descriptor).not.toBeNull();
    expect(b.descriptor).toEqual(a.descriptor);
    // without the mask the same change does reach it
    expect(hairFeatures(busy, FRAME, 'mesh', null).descriptor).not.toEqual(hairFeatures(flat, FRAME, 'mesh', null).descriptor);
  });

  it('a band the mask calls mostly background, or mostly outside the picture, has no descriptor', () => {
    const image = picture(256, () => 0);
    const background = hairFeatures(image, FRAME, 'mesh', mask(80));
    expect(background.descriptor).toBeNull();
    expect(background.person).toBeLessThan(0.5);
    const cropped = hairFeatures(image, { ...FRAME, origin: [128, 120] }, 'mesh', mask(256));
    expect(cropped.inside).toBeLessThan(0.75);
    expect(cropped.descriptor).toBeNull();
    expect(sampleBand(image, FRAME, mask(256)).personShare).toBe(1);
  });
});

type Spot = readonly [number, number, number?];

function keypoints(parts: Partial<Record<BodyPart, Spot>>): Partial<Record<BodyPart, Point2>> {
  const out: Partial<Record<BodyPart, Point2>> = {};
  for (const [part, [x, y, score = 0.9]] of Object.entries(parts) as [BodyPart, Spot][]) out[part] = { x, y, score };
  return out;
}

describe('the pose band (no usable face)', () => {
  const back: Partial<Record<BodyPart, Spot>> = { leftEar: [130, 150], rightEar: [70, 150], leftShoulder: [170, 290], rightShoulder: [30, 290] };

  it('sits above the ears, pointing away from the shoulders, sized by the ear span', () => {
    const band = poseBand(keypoints(back))!;
    expect(band.origin).toEqual([100, 150]);
    expect(band.up[0]).toBeCloseTo(0, 9);
    expect(band.up[1]).toBeCloseTo(-1, 9);
    expect([band.from, band.to, band.width]).toEqual([15, 48, 54]);
  });

  it('follows a tilted head and uses the ear-to-shoulders distance with one ear', () => {
    const tilted = poseBand(keypoints({ ...back, leftEar: [160, 150], rightEar: [100, 150] }))!;
    expect(tilted.up[0]).toBeGreaterThan(0.2);
    const profile = poseBand(keypoints({ leftEar: [100, 150], leftShoulder: [120, 290], rightShoulder: [80, 290] }))!;
    expect(profile.to).toBeCloseTo(0.8 * 0.75 * 140, 9);
  });

  it('needs both shoulders, an ear, and the ears above the shoulders', () => {
    expect(poseBand(keypoints({ ...back, leftShoulder: [170, 290, 0.1] }))).toBeNull();
    expect(poseBand(keypoints({ leftShoulder: [170, 290], rightShoulder: [30, 290] }))).toBeNull();
    expect(poseBand(keypoints({ ...back, leftEar: [130, 320], rightEar: [70, 320] }))).toBeNull();
  });
});
