// Pure: a verdict over zero compared values is inconclusive, never pass (regression/inconclusive.ts and
// judgeScene). The real-stack case (noise images without a face) is tests/real/check-inconclusive.test.ts.
import { describe, expect, it } from 'vitest';
import { overallVerdict } from '../../harness/regression/inconclusive.ts';
import type { ImageCheck, SceneCheck } from '../../harness/regression/types.ts';
import { judgeScene } from '../../harness/regression/verdicts.ts';
import type { ImageScore } from '../../harness/scoring/types.ts';

const score = (identity: number | null, neck: number | null = null): ImageScore => ({ file: 'f', sha256: '', identity, curls: null, nose: null, neck, face: identity !== null, missing: {} });
const tol = { max_mean_shift_se: 3 };

describe('judgeScene over values it cannot compare', () => {
  it('is inconclusive when no marker has golden values, and says why', () => {
    const scene = judgeScene({ promptId: 'p', golden: [score(null), score(null)], current: [score(null), score(null)] }, ['identity', 'neck'], tol);
    expect(scene.verdict).toBe('inconclusive');
    expect(scene.note).toMatch(/^nothing compared: identity \(no golden values; golden 0, current 0 values\); neck/);
  });
  it('is inconclusive with a single golden value (no spread), and a pass that names what it left out', () => {
    expect(judgeScene({ promptId: 'p', golden: [score(0.8)], current: [score(0.8)] }, ['identity'], tol).verdict).toBe('inconclusive');
    const partly = judgeScene({ promptId: 'p', golden: [score(0.8), score(0.82)], current: [score(0.81), score(0.8)] }, ['identity', 'neck'], tol);
    expect(partly.verdict).toBe('pass');
    expect(partly.note).toMatch(/^not compared: neck/);
  });
  it('still fails a marker lost on every seed', () => {
    expect(judgeScene({ promptId: 'p', golden: [score(0.8), score(0.82)], current: [score(null), score(null)] }, ['identity'], tol).verdict).toBe('regression');
  });
});

describe('overallVerdict', () => {
  const image = (verdict: ImageCheck['verdict']): ImageCheck => ({ promptId: 'p', seed: 1, tier: 'statistical', verdict, metrics: {} });
  const scene = (verdict: SceneCheck['verdict']): SceneCheck => ({ promptId: 'p', tier: 'statistical', verdict, metrics: {} });
  it('regression beats inconclusive beats pass; nothing checked is never a pass', () => {
    expect(overallVerdict([], [])).toBe('inconclusive');
    expect(overallVerdict([image('inconclusive')], [scene('inconclusive')])).toBe('inconclusive');
    expect(overallVerdict([image('pass'), image('inconclusive')], [scene('pass'), scene('inconclusive')])).toBe('pass');
    expect(overallVerdict([image('regression'), image('inconclusive')], [scene('regression'), scene('inconclusive')])).toBe('regression');
    expect(overallVerdict([image('missing')], [scene('pass')])).toBe('regression');
  });
});
