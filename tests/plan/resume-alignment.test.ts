// Pure: which checkpoints resume to what an uninterrupted run trains (plan/resume-alignment.ts). The real
// behaviour is in tests/real/resume-equivalence.test.ts; these pin the arithmetic and the resume chain.
import { describe, expect, it } from 'vitest';
import { estimateSteps } from '../../harness/plan/planner.ts';
import { checkpointMisalignment, resumeEquivalence, stepsPerEpoch } from '../../harness/plan/resume-alignment.ts';

describe('steps per epoch and checkpoint alignment', () => {
  it('follows the script: ceil(ceil(images / batch) / processes / accumulation)', () => {
    const settings = { train_batch_size: 2, gradient_accumulation_steps: 1, max_train_steps: 500, checkpointing_steps: 100 };
    const steps = estimateSteps(settings, 11);
    expect(stepsPerEpoch(steps, settings)).toBe(6);
    expect(checkpointMisalignment(settings, steps)).toEqual({ checkpointingSteps: 100, stepsPerEpoch: 6, images: 11, aligned: [96, 102] });
    expect(checkpointMisalignment({ ...settings, checkpointing_steps: 102 }, steps)).toBeNull();
    // batch 1 × accumulation 2: 11 batches, 6 optimizer steps per epoch (the last one takes a single batch)
    const accumulated = { ...settings, train_batch_size: 1, gradient_accumulation_steps: 2 };
    expect(stepsPerEpoch(estimateSteps(accumulated, 11), accumulated)).toBe(6);
    // two processes split the 6 batches: 3 steps per epoch
    expect(stepsPerEpoch(steps, settings, 2)).toBe(3);
    // no checkpoint before the end, or no dataset: nothing to say
    expect(checkpointMisalignment({ ...settings, checkpointing_steps: 500 }, steps)).toBeNull();
    expect(checkpointMisalignment(settings, null)).toBeNull();
  });
});

describe('resumeEquivalence', () => {
  const resume = (from_step: number, equivalent: boolean | null) => ({ type: 'resume', from_step, equivalent, steps_per_epoch: 3 });
  it('is equivalent only when every resume left standing was on an epoch boundary', () => {
    expect(resumeEquivalence([])).toEqual({ resumes: [], equivalent: true });
    expect(resumeEquivalence([resume(6, true)]).equivalent).toBe(true);
    expect(resumeEquivalence([resume(6, true), resume(7, false)]).equivalent).toBe(false);
    expect(resumeEquivalence([resume(6, null)]).equivalent).toBeNull();
  });
  it('forgets a resume whose steps a later resume from an earlier checkpoint trained again', () => {
    // resumed mid-epoch at 7, then (checkpoint-7 damaged) again from 6: the steps after 6 are retrained
    expect(resumeEquivalence([resume(7, false), resume(6, true)])).toEqual({ resumes: [{ fromStep: 6, stepsPerEpoch: 3, equivalent: true }], equivalent: true });
    // a restart from step 0 (no checkpoint) is an uninterrupted run
    expect(resumeEquivalence([resume(7, false), resume(0, true)])).toEqual({ resumes: [], equivalent: true });
  });
});
