// Pure parts: smoothing, training facts from events, interval logic, escaping, number formats.
import { describe, expect, it } from 'vitest';
import { compare, intervalsSeparate } from '../../harness/report/analyze.ts';
import { assetSlug, mdCode, mdFence, mdHref, mdText } from '../../harness/report/escape.ts';
import { duration, fixed, signed } from '../../harness/report/format.ts';
import { ema, trainingFacts } from '../../harness/report/metrics.ts';
import type { Aggregate } from '../../harness/scoring/types.ts';

/** The interval rule on given intervals (the sweep fixtures feed the report computed ones). */
function aggregate([mean, lo, hi, n, total]: [number | null, number, number, number, number]): Aggregate {
  return { mean, median: mean, ci95: mean === null ? null : [lo, hi], n, total };
}

describe('training facts', () => {
  it('smooths with an EMA that starts at the first value and skips gaps', () => {
    expect(ema([1, null, 0], 0.9).map((v) => fixed(v, 4))).toEqual(['1.0000', '1.0000', '0.9000']);
  });

  it('keeps the resumed process\'s values for repeated steps and sums wall time over processes', () => {
    const facts = trainingFacts([
      { type: 'start', t: 1000 },
      { type: 'metric', step: 1, t: 1010, loss: 1, vram_peak_mb: 100 },
      { type: 'metric', step: 2, t: 1012, loss: 1 },
      { type: 'metric', step: 3, t: 1014, loss: 1 },
      { type: 'checkpoint', step: 2, t: 1013 },
      { type: 'start', t: 5000 },
      { type: 'metric', step: 3, t: 5010, loss: 0, vram_peak_mb: 300 },
      { type: 'metric', step: 4, t: 5012, loss: 0 },
      { type: 'weights_saved', t: 5013 },
      { type: 'end', t: '1970-01-01T01:23:34.000Z' },
    ]);
    expect(facts.points.map((p) => [p.step, p.loss])).toEqual([[1, 1], [2, 1], [3, 0], [4, 0]]);
    expect(facts.resumes).toBe(1);
    expect(facts.wallSeconds).toBe(14 + 14);
    expect(facts.secondsPerStep).toBe(2);
    expect(facts.peakVramMb).toBe(300);
    expect(facts.checkpoints).toEqual([2]);
    expect(facts.weightsSaved).toBe(true);
    expect(facts.lossMin).toBeCloseTo(0.81, 10);
    expect(facts.lossMinStep).toBe(4);
  });

  it('has no numbers, rather than zeros, without events', () => {
    const facts = trainingFacts([]);
    expect([facts.lossFinal, facts.peakVramMb, facts.secondsPerStep, facts.wallSeconds]).toEqual([null, null, null, null]);
  });
});

describe('significance', () => {
  it('marks a difference only where the 95 % intervals separate', () => {
    const base = aggregate([0.6, 0.55, 0.65, 30, 36]);
    expect(intervalsSeparate(aggregate([0.7, 0.66, 0.74, 30, 36]), base)).toBe('up');
    expect(intervalsSeparate(aggregate([0.5, 0.45, 0.54, 30, 36]), base)).toBe('down');
    expect(intervalsSeparate(aggregate([0.7, 0.65, 0.75, 30, 36]), base)).toBeNull(); // touching is overlapping
    expect(compare(aggregate([null, 0, 0, 0, 36]), base)).toBeNull();
  });
});

describe('escaping and formats', () => {
  it('escapes table-breaking and HTML characters', () => {
    expect(mdText('a|b<c>*d`e_f')).toBe('a\\|b&lt;c&gt;\\*d\\`e\\_f');
    expect(mdHref('images/odd|name<x>/a b.png')).toBe('images/odd%7Cname%3Cx%3E/a%20b.png');
    expect(mdCode('a`b', true)).toBe('``a`b``');
    expect(mdCode('x|y', true)).toBe('`x\\|y`');
    expect(mdFence('has ``` inside')).toMatch(/^````\n/);
  });

  it('gives odd ids distinct, file-safe asset names', () => {
    const hash = (s: string) => [...s].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7).toString(16).padStart(8, '0');
    expect(assetSlug('baseline-0123abcd', hash)).toBe('baseline-0123abcd');
    const a = assetSlug('odd|name', hash);
    const b = assetSlug('odd<name', hash);
    expect(a).toMatch(/^odd_name-[0-9a-f]{6}$/);
    expect(a).not.toBe(b);
  });

  it('rounds to fixed digits without a negative zero', () => {
    expect(fixed(-0.00001, 3)).toBe('0.000');
    expect(signed(0.0904, 3)).toBe('+0.090');
    expect(signed(-0.1, 3)).toBe('−0.100');
    expect(duration(3725)).toBe('1 h 02 min');
    expect(duration(486)).toBe('8 min 06 s');
  });
});
