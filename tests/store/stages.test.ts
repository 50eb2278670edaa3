// Pure: each stage's own outcome, replayed from a run's state history (store/status.ts). The behaviour on the
// real stack is in tests/real/stage-outcomes.test.ts.
import { describe, expect, it } from 'vitest';
import { stagesOf, trainingDone, type RunState } from '../../harness/store/status.ts';

const history = (...states: RunState[]) => states.map((state) => ({ state, at: '' }));

describe('stagesOf', () => {
  it('keeps a finished training when a later stage fails', () => {
    expect(stagesOf(history('training', 'trained', 'sampling', 'failed'))).toEqual({ train: 'done', sample: 'failed' });
    expect(stagesOf(history('training', 'trained', 'sampling', 'sampled', 'scoring', 'failed'))).toEqual({ train: 'done', sample: 'done', score: 'failed' });
    expect(trainingDone({ history: history('training', 'trained', 'sampling', 'failed') })).toBe(true);
  });
  it('charges a failure to the stage that was running, and clears what a restarted stage invalidates', () => {
    expect(stagesOf(history('training', 'failed'))).toEqual({ train: 'failed' });
    expect(stagesOf(history('failed'))).toEqual({ train: 'failed' }); // preflight refused before training
    expect(stagesOf(history('training', 'trained', 'sampling', 'sampled', 'scoring', 'done', 'training'))).toEqual({});
    expect(stagesOf(history('training', 'trained', 'sampling', 'sampled', 'scoring', 'sampled'))).toEqual({ train: 'done', sample: 'done' });
    expect(trainingDone({ history: history('training', 'failed') })).toBe(false);
    expect(trainingDone(undefined)).toBe(false);
  });
});
