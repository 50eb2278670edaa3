import { describe, expect, it } from 'vitest';
import { aggregate, countMissing, parseSampleName, summarisePerPrompt } from '../../harness/scoring/aggregate.ts';
import { bootstrapCi, centroid, cosine, median, seededRandom } from '../../harness/scoring/stats.ts';
import type { ImageScore } from '../../harness/scoring/types.ts';

function score(file: string, identity: number | null): ImageScore {
  return { file, sha256: 'x', identity, curls: null, nose: null, neck: null, face: identity !== null, missing: identity === null ? { identity: 'no_face' } : {} };
}

describe('scoring statistics', () => {
  it('cosine and centroid behave on simple vectors', () => {
    expect(cosine([1, 0], [0, 1])).toBe(0);
    expect(cosine([2, 0], [5, 0])).toBe(1);
    expect(centroid([[2, 0], [0, 3]])).toEqual([0.5, 0.5]);
    expect(median([3, 1, 2, 10])).toBe(2.5);
  });

  it('the seeded generator and the bootstrap give the same numbers every time', () => {
    expect(Array.from({ length: 3 }, seededRandom(7))).toEqual(Array.from({ length: 3 }, seededRandom(7)));
    const values = [0.61, 0.72, 0.55, 0.8, 0.67];
    const ci = bootstrapCi(values)!;
    expect(bootstrapCi(values)).toEqual(ci);
    expect(ci[0]).toBeLessThan(ci[1]);
    expect(ci[0]).toBeGreaterThanOrEqual(0.55);
    expect(ci[1]).toBeLessThanOrEqual(0.8);
    expect(bootstrapCi([0.5])).toBeNull();
  });

  it('the bootstrap interval covers the true mean of a known distribution about 95 % of the time, at the width of a 95 % interval', () => {
    // 400 draws of 30 seeds' scores from a normal with mean 0.6 and sd 0.1 (Box–Muller over the seeded generator)
    const random = seededRandom(2024);
    const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    const [trueMean, trueSd, n, draws] = [0.6, 0.1, 30, 400];
    let covered = 0;
    let halfWidths = 0;
    for (let draw = 0; draw < draws; draw++) {
      const values = Array.from({ length: n }, () => trueMean + trueSd * normal());
      const [lo, hi] = bootstrapCi(values)!;
      if (lo <= trueMean && trueMean <= hi) covered += 1;
      halfWidths += (hi - lo) / 2;
    }
    // 400 draws estimate coverage to about ±0.011 (one sd); the percentile bootstrap runs slightly
    // short at 30 values. A 50 % interval covers about half the time.
    expect(covered / draws).toBeGreaterThan(0.91);
    expect(covered / draws).toBeLessThan(0.99);
    // the normal theory half-width 1.96·σ/√n, within 8 %: a 90 % (×0.84) or 99 % (×1.31) interval is out
    expect(halfWidths / draws / ((1.96 * trueSd) / Math.sqrt(n))).toBeGreaterThan(0.92);
    expect(halfWidths / draws / ((1.96 * trueSd) / Math.sqrt(n))).toBeLessThan(1.08);
  });

  it('missing values are excluded and counted, never averaged as zero', () => {
    expect(aggregate([0.8, null, 0.6, null])).toMatchObject({ mean: 0.7, median: 0.7, n: 2, total: 4 });
    expect(aggregate([null, null])).toEqual({ mean: null, median: null, ci95: null, n: 0, total: 2 });
  });

  it('groups sample files by prompt id', () => {
    expect(parseSampleName('dir/beach-walk__s42.png')).toEqual({ prompt: 'beach-walk', seed: 42 });
    expect(parseSampleName('holiday.jpg')).toBeNull();
    const perPrompt = summarisePerPrompt([score('a__s1.png', 0.5), score('a__s2.png', null), score('b__s1.png', 0.9), score('other.png', 0.1)])!;
    expect(Object.keys(perPrompt)).toEqual(['a', 'b']);
    expect(perPrompt.a!.identity).toMatchObject({ mean: 0.5, n: 1, total: 2 });
    expect(summarisePerPrompt([score('other.png', 0.1)])).toBeUndefined();
  });

  it('counts why markers are missing', () => {
    const counts = countMissing([score('a.png', null), score('b.png', null), score('c.png', 0.4)]);
    expect(counts.identity).toEqual({ no_face: 2 });
    expect(counts.neck).toEqual({});
  });
});
