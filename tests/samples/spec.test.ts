import { describe, expect, it } from 'vitest';
import { samplesSchema } from '../../harness/config/schema.ts';
import { UsageError } from '../../harness/errors.ts';
import { SCHEDULERS } from '../../harness/samples/schedulers.ts';
import { renderSettings, samplerJob, samplingSpecFrom, setId } from '../../harness/samples/spec.ts';
import type { SamplingSpec, WeightsRef } from '../../harness/samples/types.ts';

const samples = samplesSchema.parse({
  prompts: [
    { id: 'portrait', prompt: 'a photo of TOK boy' },
    { id: 'forest', prompt: 'TOK boy in a forest', negative_prompt: 'sunlight' },
  ],
  seeds: [11, 22],
  negative_prompt: 'blurry',
});
const model = { id: 'stabilityai/stable-diffusion-xl-base-1.0', commit: 'a'.repeat(40) };
const vae = { id: 'madebyollin/sdxl-vae-fp16-fix', commit: 'b'.repeat(40) };
const final: WeightsRef = { kind: 'final', path: '/x/pytorch_lora_weights.safetensors', sha256: 'c'.repeat(64) };
const render = renderSettings();
const spec = samplingSpecFrom(samples);
const id = (s: SamplingSpec = spec, w: WeightsRef = final, r = render, m = model) => setId(w, s, m, vae, r);

describe('sample set ids', () => {
  it('are the same for the same spec and weights, whatever the key order or the weights path', () => {
    const reordered = JSON.parse(JSON.stringify(Object.fromEntries(Object.entries(spec).reverse()))) as SamplingSpec;
    expect(id(reordered)).toBe(id());
    expect(id(spec, { ...final, path: '/elsewhere/w.safetensors' })).toBe(id());
    expect(id()).toMatch(/^final-[0-9a-f]{10}$/);
  });

  it('change with every sampling setting', () => {
    const changes: Partial<SamplingSpec>[] = [
      { steps: spec.steps + 1 },
      { guidance_scale: 7 },
      { scheduler: 'dpmpp_2m' },
      { width: 512 },
      { height: 512 },
      { lora_scale: 0.8 },
      { negative_prompt: '' },
      { seeds: [11] },
      { seeds: [11, 22, 33] },
      { prompts: spec.prompts.slice(0, 1) },
      { prompts: spec.prompts.map((p) => ({ ...p, prompt: `${p.prompt}!` })) },
      { prompts: spec.prompts.map((p) => ({ ...p, negative_prompt: 'x' })) },
    ];
    const ids = new Set([id(), ...changes.map((change) => id({ ...spec, ...change }))]);
    expect(ids.size).toBe(changes.length + 1);
  });

  it('change with the weights, the base models and how pixels are computed', () => {
    const others = [
      id(spec, { ...final, sha256: 'd'.repeat(64) }),
      id(spec, final, renderSettings({ device: 'cpu' })),
      id(spec, final, renderSettings({ batchSize: 2 })),
      id(spec, final, render, { ...model, commit: 'e'.repeat(40) }),
      setId(final, spec, model, { ...vae, commit: 'f'.repeat(40) }, render),
    ];
    expect(new Set([id(), ...others]).size).toBe(others.length + 1);
  });

  it('name checkpoints and the control set readably; the control ignores the LoRA scale', () => {
    expect(id(spec, { kind: 'checkpoint', step: 200, path: '/c', sha256: 'c'.repeat(64) })).toMatch(/^ckpt200-[0-9a-f]{10}$/);
    const control = id(spec, { kind: 'control' });
    expect(control).toMatch(/^control-/);
    expect(id({ ...spec, lora_scale: 0.5 }, { kind: 'control' })).toBe(control);
    expect(id({ ...spec, steps: 50 }, { kind: 'control' })).not.toBe(control);
  });
});

describe('sampling spec from the experiment', () => {
  it('keeps the experiment order and filters prompts and seeds', () => {
    const filtered = samplingSpecFrom(samples, { prompts: ['forest'], seeds: [7, 7, 8] });
    expect(filtered.prompts.map((p) => p.id)).toEqual(['forest']);
    expect(filtered.seeds).toEqual([7, 8]);
    expect(spec).toMatchObject({ steps: 30, guidance_scale: 5, scheduler: 'euler', width: 1024, height: 1024, lora_scale: 1 });
  });

  it('names an unknown prompt id with a suggestion', () => {
    expect(() => samplingSpecFrom(samples, { prompts: ['forrest'] })).toThrow(UsageError);
    expect(() => samplingSpecFrom(samples, { prompts: ['forrest'] })).toThrow(/did you mean "forest"/);
  });
});

describe('the sampler job', () => {
  it('lists every (prompt, seed) with its own negative prompt, the scheduler class and no LoRA scale for the control', () => {
    const job = samplerJob({ setId: 'final-x', runId: 'baseline-1', experiment: 'e', outDir: '/o', model: { ...model, path: '/m' }, vae: { ...vae, path: '/v' }, weights: final, spec, render });
    expect(job.images.map((i) => [i.file, i.negative_prompt])).toEqual([
      ['portrait__s11.png', 'blurry'],
      ['portrait__s22.png', 'blurry'],
      ['forest__s11.png', 'sunlight'],
      ['forest__s22.png', 'sunlight'],
    ]);
    expect(job.images[0]!.sidecar).toBe('portrait__s11.json');
    expect(job).toMatchObject({ device: 'cuda', dtype: 'fp16', batch_size: 1, lora_scale: 1, scheduler: { name: 'euler', class: 'EulerDiscreteScheduler' } });
    const control = samplerJob({ setId: 'control-x', runId: null, experiment: 'e', outDir: '/o', model: { ...model, path: '/m' }, vae: { ...vae, path: '/v' }, weights: { kind: 'control' }, spec, render: renderSettings({ device: 'cpu' }) });
    expect(control).toMatchObject({ lora_scale: null, dtype: 'fp32', weights: { kind: 'control' } });
  });

  it('maps every scheduler the experiment schema allows', () => {
    const allowed = samplesSchema.shape.scheduler.unwrap().options;
    expect(Object.keys(SCHEDULERS).sort()).toEqual([...allowed].sort());
    expect(SCHEDULERS.dpmpp_2m_karras).toEqual({ class: 'DPMSolverMultistepScheduler', config: { algorithm_type: 'dpmsolver++', solver_order: 2, use_karras_sigmas: true } });
  });
});
