// One number, one meaning (issue 20 A9) and OOM advice that fits the run (B7): pure functions, checked
// against the report's own reading of the same events.
import { describe, expect, it } from 'vitest';
import { trainingFacts } from '../../harness/report/metrics.ts';
import { gib } from '../../harness/report/format.ts';
import { gib as consoleGib, LOSS_LABEL, formatProgress } from '../../harness/cli/run.ts';
import { classifyAttempt, oomAdvice, type AttemptEvidence } from '../../harness/train/classify.ts';
import { EventLog, LOSS_EMA_FACTOR } from '../../harness/train/events.ts';
import { EMA_FACTOR } from '../../harness/report/metrics.ts';

describe('loss and VRAM mean the same in the console and the report', () => {
  it('gives the summary (console, sweep table) and the report the same final loss and peak VRAM, in GiB', () => {
    const events = [
      { v: 1, type: 'start', t: 0 },
      { v: 1, type: 'metric', t: 1, step: 1, loss: 0.5, lr: 1e-4, vram_alloc_mb: 8000, vram_reserved_mb: 9000, vram_peak_mb: 9200 },
      { v: 1, type: 'metric', t: 2, step: 2, loss: 0.1, lr: 1e-4, vram_alloc_mb: 8100, vram_reserved_mb: 9400, vram_peak_mb: 9300 },
      { v: 1, type: 'end', t: 3, status: 'ok', step: 2, peak_vram_mb: 9300, peak_vram_reserved_mb: 9522 },
    ];
    const log = new EventLog();
    for (const e of events) log.ingestLine(JSON.stringify(e));
    const summary = log.summary();
    const facts = trainingFacts(events as never);
    expect(summary.finalLoss).toBeCloseTo(facts.lossFinal!, 12);
    expect(summary.finalLoss).toBeCloseTo(0.9 * 0.5 + 0.1 * 0.1, 12); // the EMA, not the last raw 0.1
    expect(summary.minLoss).toBeCloseTo(facts.lossMin!, 12);
    expect(summary.peakVramMb).toBe(9522); // the reserved peak, the largest figure
    expect(facts.peakVramMb).toBe(9522);
    expect(consoleGib(summary.peakVramMb!)).toBe(gib(facts.peakVramMb)); // "9.3 GiB" both
    expect(consoleGib(9522)).toBe('9.3 GiB');
    expect(LOSS_LABEL).toBe(`EMA ${EMA_FACTOR}`);
    expect(LOSS_EMA_FACTOR).toBe(EMA_FACTOR);
  });

  it('labels the live line in GiB, with the step loss named as such', () => {
    const line = formatProgress({ runId: 'r', step: 2, total: 8, loss: 0.1, secondsPerStep: 2, etaSeconds: 12, vramMb: 9400, vramPeakMb: 9522, elapsedSeconds: 4 });
    expect(line).toContain('VRAM 9.2 GiB (peak 9.3 GiB)');
    expect(line).toContain('loss 0.100 (this step)');
    expect(line).not.toMatch(/\bGB\b/);
  });
});

describe('OOM advice that fits the run', () => {
  const base: AttemptEvidence = { weights: undefined, weightsCheck: undefined, end: undefined, firstNonFinite: undefined, exitCode: 1, signal: null, spawnError: null, interrupted: false, killedByHarness: false, logTail: ['torch.OutOfMemoryError: CUDA out of memory.'] };
  const p100 = { resolution: 512, train_batch_size: 2, gradient_accumulation_steps: 1, mixed_precision: 'fp16', gradient_checkpointing: true, use_8bit_adam: true, rank: 4, optimizer: 'AdamW' };

  it('never suggests what is already on, and names the step that failed, not the last one that completed', () => {
    const verdict = classifyAttempt({ ...base, settings: p100, end: { v: 1, type: 'end', t: 1, status: 'oom', step: 1 } as never });
    expect(verdict.reason).toBe('oom');
    expect(verdict.message).toContain('CUDA out of memory during step 2 (after 1 completed step)');
    expect(verdict.message).not.toMatch(/set gradient_checkpointing|set use_8bit_adam|set mixed_precision/);
    expect(verdict.message).toContain('lower train_batch_size 2 → 1 with gradient_accumulation_steps 1 → 2 (the same effective batch)');
    expect(verdict.message).toContain('already on: gradient_checkpointing, use_8bit_adam, mixed_precision fp16');
  });

  it('suggests the savings that are off, and says when nothing is left to turn off', () => {
    const off = oomAdvice({ resolution: 1024, train_batch_size: 1, mixed_precision: 'no', rank: 4 });
    expect(off).toContain('set gradient_checkpointing: true');
    expect(off).toContain('set mixed_precision: fp16');
    expect(off).toContain('lower resolution 1024 → 768');
    expect(off).not.toContain('train_batch_size');
    expect(oomAdvice({ ...p100, train_batch_size: 1 })).toMatch(/every memory saving is already on .*use one with more memory/);
    const first = classifyAttempt({ ...base, settings: p100, end: { v: 1, type: 'end', t: 1, status: 'oom', step: 0 } as never });
    expect(first.message).toContain('during step 1 (before any step completed)');
  });
});
