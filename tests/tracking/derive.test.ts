import { describe, expect, it } from 'vitest';
import { configFrom, EMPTY_FOLD, foldEvents, metricDefinitions, sampleSetLines, scoreLines, stateFromLedger, summaryFrom, wandbConfig, wandbRunName } from '../../harness/tracking/derive.ts';
import { metricEvent, PROMPTS, SEEDS, scoreReport, spec, T0 } from './run-folder.ts';
import type { SampleSetManifest } from '../../harness/samples/types.ts';

const manifest = {
  setId: 'final-1',
  weights: { kind: 'final' },
  spec: { prompts: PROMPTS, seeds: SEEDS },
  images: PROMPTS.flatMap((p) => SEEDS.map((seed) => ({ promptId: p.id, seed, file: `${p.id}__s${seed}.png`, sha256: `${seed}`.padEnd(64, 'f'), width: 16, height: 16 }))),
  createdAt: new Date((T0 + 100) * 1000).toISOString(),
} as unknown as SampleSetManifest;
const sizes = new Map(manifest.images.map((i) => [i.file, 123]));

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
    expect(row['train/step']).toBe(2);
    expect(lines[0]!.row['perf/s_per_it']).toBeUndefined();
  });

  it('drops steps a resumed training repeats, and never spans seconds per step across a restart', () => {
    const first = foldEvents(EMPTY_FOLD, [{ type: 'start', t: T0 }, metricEvent(1), metricEvent(2), metricEvent(3)]);
    const resumed = foldEvents(first.state, [{ type: 'start', t: T0 + 500 }, metricEvent(2, T0 + 510), metricEvent(3, T0 + 512), metricEvent(4, T0 + 514)]);
    expect(resumed.lines.map((l) => l.row._step)).toEqual([4]);
    expect(resumed.lines[0]!.row['perf/s_per_it']).toBe(2);
    // runtime counts the processes, not the pause between them: 4.5 s before, 14 s after the restart
    expect(resumed.lines[0]!.row._runtime).toBe(4.5 + 14);
    expect(resumed.lines[0]!.row._timestamp).toBe(T0 + 514);
  });

  it('never drops a training row that arrives after sample and score rows: it takes the next _step, train/step keeps its step', () => {
    const trained = foldEvents(EMPTY_FOLD, [{ type: 'start', t: T0 }, ...Array.from({ length: 20 }, (_, i) => metricEvent(i + 1))]);
    const sampled = sampleSetLines(trained.state, manifest, 'samples/final-1', sizes);
    const scored = scoreLines(sampled.state, 'final-1', scoreReport(0.71), { kind: 'run', step: 20 }, T0 + 200);
    expect([...sampled.lines, ...scored.lines].map((l) => l.row._step)).toEqual([21, 22, 23]);
    const late = foldEvents(scored.state, [metricEvent(21), metricEvent(22), metricEvent(23)]);
    expect(late.lines.map((l) => [l.src, l.row._step, l.row['train/step']])).toEqual([
      ['m:21', 24, 21],
      ['m:22', 25, 22],
      ['m:23', 26, 23],
    ]);
    // and a re-derivation from the ledger adds none of them twice
    const ledger = [...trained.lines, ...sampled.lines, ...scored.lines, ...late.lines];
    expect(foldEvents({ ...stateFromLedger(ledger), prev: null }, [metricEvent(21), metricEvent(23)]).lines).toEqual([]);
    // timestamps never go back: the late rows (t ≤ the score row's) sit at the score row's time
    expect(late.lines.every((l) => l.row._timestamp >= scored.lines[0]!.row._timestamp)).toBe(true);
  });

  it('recovers the fold from the ledger, so a re-derivation adds nothing twice', () => {
    const events = [{ type: 'start', t: T0 }, metricEvent(1), metricEvent(2)];
    const once = foldEvents(EMPTY_FOLD, events);
    const again = foldEvents({ ...stateFromLedger(once.lines), prev: null }, events);
    expect(again.lines).toEqual([]);
  });
});

describe('samples, scores, summary, config', () => {

  it('gives one row per seed with one image per prompt, on the axis of the weights they come from', () => {
    const trained = foldEvents(EMPTY_FOLD, [{ type: 'start', t: T0 }, metricEvent(1), metricEvent(19), { type: 'weights_saved', step: 20, t: T0 + 40 }]);
    const { lines } = sampleSetLines(trained.state, manifest, 'samples/final-1', sizes);
    expect(lines.map((l) => l.row._step)).toEqual([20, 21]);
    const image = lines[0]!.row['samples/01-profile-before'] as unknown as Record<string, unknown>;
    expect(image).toMatchObject({ _type: 'image-file', format: 'png', width: 16, height: 16, size: 123, caption: `${PROMPTS[0]!.prompt} · seed 7` });
    expect(image.path).toMatch(/^media\/images\/samples_01-profile-before_20_7f{19}\.png$/);
    // the final weights were saved at step 20 (the last metric row said 19): that is their axis value
    expect(lines.map((l) => l.row['samples/weights_step'])).toEqual([20, 20]);
    expect(lines[0]!.files?.map((f) => f.source)).toEqual(['samples/final-1/01-profile-before__s7.png', 'samples/final-1/02-forest-haze__s7.png']);
  });

  it('turns a score report into means, intervals and counts; a missing mean stays missing', () => {
    const { lines } = scoreLines({ ...EMPTY_FOLD, lastStep: 22 }, 'final-1', scoreReport(0.71), { kind: 'run', step: 20 }, T0 + 200);
    const row = lines[0]!.row;
    expect(row._step).toBe(23);
    expect(row['scores/weights_step']).toBe(20);
    expect(row['scores/identity']).toBe(0.71);
    expect(row['scores/identity_ci_low']).toBeCloseTo(0.66);
    expect(row['scores/nose']).toBeUndefined();
    expect(row['scores/nose_n']).toBe(4);
  });

  it('puts the base model control set under control/, without a weights axis', () => {
    const control = { ...manifest, setId: 'control-1', weights: { kind: 'control' } } as unknown as SampleSetManifest;
    const { lines, state } = sampleSetLines({ ...EMPTY_FOLD, lastStep: 30 }, control, '../_control/samples/control-1', sizes);
    expect(lines.map((l) => l.row._step)).toEqual([31, 32]);
    expect(Object.keys(lines[0]!.row).filter((k) => !k.startsWith('_'))).toEqual(['control/01-profile-before', 'control/02-forest-haze']);
    expect((lines[0]!.row['control/01-profile-before'] as unknown as { caption: string }).caption).toMatch(/base model, no LoRA/);
    const scores = scoreLines(state, 'control-1', scoreReport(0.2), { kind: 'control' }, null);
    expect(scores.lines[0]!.row).toMatchObject({ _step: 33, 'control/identity': 0.2 });
    expect(scores.lines[0]!.row['scores/weights_step']).toBeUndefined();
  });

  it('summarises with last values, the best loss, the VRAM peak and the runtime', () => {
    const { lines } = foldEvents(EMPTY_FOLD, [{ type: 'start', t: T0 }, metricEvent(1), metricEvent(2), { type: 'metric', step: 3, t: T0 + 9, loss: 0.4, vram_peak_mb: 100 }]);
    const summary = summaryFrom(lines);
    expect(summary['train/loss']).toBe(0.4);
    expect(summary['train/loss_min']).toBe(0.25);
    expect(summary['gpu/vram_peak_gb_max']).toBeCloseTo(10242 / 1024);
    expect(summary._step).toBe(3);
    expect(summary._wandb).toEqual({ runtime: 9 });
    // the end of the run as status.json recorded it, 70.6 s after the start
    expect(summaryFrom(lines, T0 + 70.6)).toMatchObject({ _runtime: 70.6, _wandb: { runtime: 70 } });
  });

  it('defines each charted key against its step metric, encoded as the official client encodes define_metric', () => {
    const trained = foldEvents(EMPTY_FOLD, [{ type: 'start', t: T0 }, metricEvent(1)]);
    const sampled = sampleSetLines(trained.state, manifest, 'samples/final-1', sizes);
    const scored = scoreLines(sampled.state, 'final-1', scoreReport(0.71), { kind: 'run', step: 1 }, null);
    const definitions = metricDefinitions([...trained.lines, ...sampled.lines, ...scored.lines]);
    const names = definitions.map((d) => d['1']);
    expect(names.slice(0, 3)).toEqual(['samples/weights_step', 'scores/weights_step', 'train/step']);
    const byName = new Map(definitions.map((d) => [d['1'], d]));
    expect(byName.get('train/step')).toEqual({ '1': 'train/step', '6': [3] });
    expect(byName.get('train/loss')).toEqual({ '1': 'train/loss', '5': 3, '6': [1, 3] });
    expect(byName.get('gpu/vram_peak_gb')!['5']).toBe(3);
    expect(byName.get('samples/02-forest-haze')!['5']).toBe(1);
    expect(byName.get('scores/identity')!['5']).toBe(2);
    expect(names.some((n) => n.startsWith('_'))).toBe(false);
    expect(wandbConfig({ rank: 4 }, definitions)._wandb).toEqual({ value: { m: definitions } });
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
