import { describe, expect, it } from 'vitest';
import { configFrom, EMPTY_FOLD, foldEvents, sampleSetLines, scoreLines, stateFromLedger, summaryFrom, wandbConfig, wandbRunName } from '../../harness/tracking/derive.ts';
import { metricEvent, PROMPTS, SEEDS, scoreReport, spec, T0 } from './run-folder.ts';
import type { SampleSetManifest } from '../../harness/samples/types.ts';

describe('metric events → history rows', () => {
  it('maps the tap fields onto W&B keys on the training step', () => {
    const { lines } = foldEvents(EMPTY_FOLD, [{ v: 1, type: 'start', t: T0 }, metricEvent(1), metricEvent(2)]);
    expect(lines.map((l) => l.src)).toEqual(['m:1', 'm:2']);
    const row = lines[1]!.row;
    expect(row._step).toBe(2);
    expect(row._timestamp).toBe(T0 + 3);
    expect(row._runtime).toBe(3);
    expect(row['train/loss']).toBe(0.25);
    expect(row['train/lr']).toBe(1e-4);
    expect(row['gpu/vram_peak_gb']).toBeCloseTo((10240 + 2) / 1024, 6);
    expect(row['gpu/vram_alloc_gb']).toBeCloseTo((9000 + 2) / 1024, 6);
    expect(row['perf/s_per_it']).toBe(1.5);
    expect(lines[0]!.row['perf/s_per_it']).toBeUndefined();
  });

  it('drops steps a resumed training repeats, and never spans seconds per step across a restart', () => {
    const first = foldEvents(EMPTY_FOLD, [{ type: 'start', t: T0 }, metricEvent(1), metricEvent(2), metricEvent(3)]);
    const resumed = foldEvents(first.state, [{ type: 'start', t: T0 + 500 }, metricEvent(2, T0 + 510), metricEvent(3, T0 + 512), metricEvent(4, T0 + 514)]);
    expect(resumed.lines.map((l) => l.row._step)).toEqual([4]);
    expect(resumed.lines[0]!.row['perf/s_per_it']).toBe(2);
  });

  it('recovers the fold from the ledger, so a re-derivation adds nothing twice', () => {
    const events = [{ type: 'start', t: T0 }, metricEvent(1), metricEvent(2)];
    const once = foldEvents(EMPTY_FOLD, events);
    const again = foldEvents({ ...stateFromLedger(once.lines), prev: null }, events);
    expect(again.lines).toEqual([]);
  });
});

describe('samples, scores, summary, config', () => {
  const manifest = {
    setId: 'final-1',
    weights: { kind: 'final' },
    spec: { prompts: PROMPTS, seeds: SEEDS },
    images: PROMPTS.flatMap((p) => SEEDS.map((seed) => ({ promptId: p.id, seed, file: `${p.id}__s${seed}.png`, sha256: `${seed}`.padEnd(64, 'f'), width: 16, height: 16 }))),
    createdAt: new Date((T0 + 100) * 1000).toISOString(),
  } as unknown as SampleSetManifest;
  const sizes = new Map(manifest.images.map((i) => [i.file, 123]));

  it('gives one row per seed with one image per prompt, after the last training step', () => {
    const trained = foldEvents(EMPTY_FOLD, [{ type: 'start', t: T0 }, metricEvent(1), metricEvent(20)]);
    const { lines } = sampleSetLines(trained.state, manifest, 'samples/final-1', sizes);
    expect(lines.map((l) => l.row._step)).toEqual([21, 22]);
    const image = lines[0]!.row['samples/01-profile-before'] as unknown as Record<string, unknown>;
    expect(image).toMatchObject({ _type: 'image-file', format: 'png', width: 16, height: 16, size: 123, caption: `${PROMPTS[0]!.prompt} · seed 7` });
    expect(image.path).toMatch(/^media\/images\/samples_01-profile-before_21_7f{19}\.png$/);
    expect(lines[0]!.row['samples/weights_step']).toBe(20);
    expect(lines[0]!.files?.map((f) => f.source)).toEqual(['samples/final-1/01-profile-before__s7.png', 'samples/final-1/02-forest-haze__s7.png']);
  });

  it('turns a score report into means, intervals and counts; a missing mean stays missing', () => {
    const { lines } = scoreLines({ ...EMPTY_FOLD, lastStep: 22 }, 'final-1', scoreReport(0.71), 20, T0 + 200);
    const row = lines[0]!.row;
    expect(row._step).toBe(23);
    expect(row['scores/identity']).toBe(0.71);
    expect(row['scores/identity_ci_low']).toBeCloseTo(0.66);
    expect(row['scores/nose']).toBeUndefined();
    expect(row['scores/nose_n']).toBe(4);
  });

  it('summarises with last values, the best loss and the VRAM peak', () => {
    const { lines } = foldEvents(EMPTY_FOLD, [metricEvent(1), metricEvent(2), { type: 'metric', step: 3, t: T0 + 9, loss: 0.4, vram_peak_mb: 100 }]);
    const summary = summaryFrom(lines);
    expect(summary['train/loss']).toBe(0.4);
    expect(summary['train/loss_min']).toBe(0.25);
    expect(summary['gpu/vram_peak_gb_max']).toBeCloseTo(10242 / 1024);
    expect(summary._step).toBe(3);
  });

  it('sends config as {key: {value}} with settings at the top and provenance beside them', () => {
    const config = wandbConfig(configFrom(spec('baseline-1a2b3c4d'), { schemaVersion: 1, gpu: { name: 'P100' } }));
    expect(config.learning_rate).toEqual({ value: 1e-4 });
    expect(config.run_id).toEqual({ value: 'baseline-1a2b3c4d' });
    expect((config.provenance!.value as { scriptSha256: string }).scriptSha256).toMatch(/^88ffa8/);
    expect(config.env).toEqual({ value: { gpu: { name: 'P100' } } });
  });

  it('makes W&B run names of at most 64 allowed characters, keeping the hash', () => {
    expect(wandbRunName('lr-low-1a2b3c4d')).toBe('lr-low-1a2b3c4d');
    expect(wandbRunName('grid-lr_5e.05-1a2b3c4d')).toBe('grid-lr_5e_05-1a2b3c4d');
    const long = wandbRunName(`${'x'.repeat(80)}-1a2b3c4d`);
    expect(long).toHaveLength(64);
    expect(long.endsWith('-1a2b3c4d')).toBe(true);
  });
});
