import { describe, expect, it } from 'vitest';
import { SweepEta } from '../../harness/sweep/timing.ts';

describe('the sweep ETA', () => {
  it('covers training only, and says so (a lower bound), until a run has been measured around its steps', () => {
    const eta = new SweepEta();
    eta.started('a', 0);
    eta.step('a', 12); // 10 s of loading, then a 2 s step
    expect(eta.estimate({ etaSeconds: 18, secondsPerStep: 2 }, [10, 20])).toEqual({ seconds: 18 + 20 + 40, lowerBound: true });
  });

  it('adds the measured time before the first step and after the last one to the current and every later run', () => {
    const eta = new SweepEta();
    eta.started('a', 100);
    eta.step('a', 112); // 10 s loading + the first 2 s step
    eta.step('a', 130);
    eta.ended('a', 160, 2); // 30 s of saving and sampling after the last step
    eta.started('b', 160);
    eta.step('b', 172);
    // b: 8 s of training left, then 30 s of sampling; c: 10 + 5 × 2 + 30
    expect(eta.estimate({ etaSeconds: 8, secondsPerStep: 2 }, [5])).toEqual({ seconds: 8 + 30 + (10 + 10 + 30), lowerBound: false });
  });

  it('averages over the measured runs, and learns nothing from a run that trained no step (a resumed, trained run)', () => {
    const eta = new SweepEta();
    for (const [id, start, after] of [['a', 0, 20], ['b', 100, 40]] as const) {
      eta.started(id, start);
      eta.step(id, start + 1);
      eta.ended(id, start + 1 + after, 1);
    }
    eta.started('c', 200);
    eta.ended('c', 260, null); // sampling only: no step seen
    expect(eta.estimate({ etaSeconds: 0, secondsPerStep: 1 }, [])).toEqual({ seconds: 30, lowerBound: false });
  });
});
