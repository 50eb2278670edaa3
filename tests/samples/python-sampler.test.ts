// The real python/sample.py, with stand-ins for torch and diffusers (tests/fixtures/sampler/stubs/).
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import type { SampleSidecar } from '../../harness/samples/protocol.ts';
import { DEFAULT_SAMPLER_SCRIPT } from '../../harness/samples/render.ts';
import { sampleRun, type SampleRunOptions } from '../../harness/samples/run.ts';
import { readJsonLines } from '../../harness/store/atomic.ts';
import { sampleSetFiles } from '../../harness/store/layout.ts';
import { REPO } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { fakeTrained, runOf, workspace, type Workspace } from './helpers.ts';

const STUBS = path.join(REPO, 'tests/fixtures/sampler/stubs');

interface Call {
  call: string;
  [key: string]: unknown;
}

function realSampler(ws: Workspace, calls: string, extra: Partial<SampleRunOptions> = {}, env: NodeJS.ProcessEnv = {}): SampleRunOptions {
  return {
    context: ws.context,
    run: runOf(ws, 'baseline'),
    python: 'python3',
    modelDir: ws.model,
    vaeDir: ws.vae,
    env: { ...ws.env, HARNESS_SAMPLER_SCRIPT: undefined, PYTHONPATH: STUBS, STUB_CUDA: '1', STUB_CALLS: calls, ...env },
    sets: { checkpoints: 'none', control: false },
    ...extra,
  };
}

describe('python/sample.py (stub torch/diffusers)', () => {
  it('loads the models as the spec says and gives every image a fresh CPU generator', async () => {
    const ws = await workspace(await tempDir(), { scheduler: 'dpmpp_2m_karras', lora_scale: 0.75 });
    await fakeTrained(ws, 'baseline');
    const calls = path.join(ws.dir, 'calls.jsonl');
    const result = await sampleRun(realSampler(ws, calls, { batchSize: 2 }));
    const set = result.sets[0]!;
    expect(set).toMatchObject({ status: 'rendered', rendered: 4 });
    const log = await readJsonLines<Call>(calls);
    const byKind = (kind: string) => log.filter((c) => c.call === kind);
    expect(byKind('vae')).toEqual([{ call: 'vae', path: ws.vae, options: { torch_dtype: 'float16', local_files_only: true } }]);
    expect(byKind('pipeline')).toEqual([
      { call: 'pipeline', path: ws.model, vae: 'AutoencoderKL', options: { torch_dtype: 'float16', use_safetensors: true, local_files_only: true, add_watermarker: false } },
    ]);
    expect(byKind('scheduler')).toEqual([
      { call: 'scheduler', cls: 'DPMSolverMultistepScheduler', overrides: { algorithm_type: 'dpmsolver++', solver_order: 2, use_karras_sigmas: true } },
    ]);
    const weightsPath = path.join(ws.store, 'tiny', runOf(ws, 'baseline').id, 'output');
    expect(byKind('load_lora')).toEqual([{ call: 'load_lora', folder: weightsPath, options: { weight_name: 'pytorch_lora_weights.safetensors', adapter_name: 'harness_lora' } }]);
    expect(byKind('set_adapters')).toEqual([{ call: 'set_adapters', names: ['harness_lora'], weights: [0.75] }]);
    expect(byKind('to')).toEqual([{ call: 'to', device: 'cuda' }]);
    // One pipeline load, batches of one prompt's seeds, each image its own seeded CPU generator.
    expect(byKind('generate').map((c) => [c.prompt, c.generators, c.negative_prompt, c.steps, c.guidance, c.size, c.scheduler])).toEqual([
      [['a photo of TOK boy, portrait', 'a photo of TOK boy, portrait'], [['cpu', 11], ['cpu', 22]], ['blurry', 'blurry'], 4, 5, [64, 64], 'DPMSolverMultistepScheduler'],
      [['a photo of TOK boy, in a forest', 'a photo of TOK boy, in a forest'], [['cpu', 11], ['cpu', 22]], ['sunlight', 'sunlight'], 4, 5, [64, 64], 'DPMSolverMultistepScheduler'],
    ]);

    const sidecar = JSON.parse(await readFile(path.join(set.dir, 'forest__s11.json'), 'utf8')) as SampleSidecar & Record<string, unknown>;
    expect(sidecar).toMatchObject({
      set_id: set.setId,
      prompt_id: 'forest',
      seed: 11,
      lora_scale: 0.75,
      batch_size: 2,
      device: 'cuda',
      dtype: 'fp16',
      watermark: false,
      scheduler: { name: 'dpmpp_2m_karras', class: 'DPMSolverMultistepScheduler', resolved: { use_karras_sigmas: true, timestep_spacing: 'leading' } },
      env: { torch: '0.0.0+stub', torch_cuda_build: '12.6', gpu: { name: 'Stub P100', capability: '6.0', memory_mb: 16384 }, attention: ['object'] },
    });
    const events = await readJsonLines<{ type: string; vram_peak_mb?: number }>(sampleSetFiles(set.dir).events);
    expect(events.map((e) => e.type)).toEqual(['start', 'loaded', 'image', 'image', 'image', 'image', 'end']);
    expect(events.find((e) => e.type === 'end')?.vram_peak_mb).toBe(1234);
  });

  it('renders final, checkpoint and control sets with one pipeline load, swapping LoRA weights in and out', async () => {
    const ws = await workspace(await tempDir(), { lora_scale: 0.5 });
    await fakeTrained(ws, 'baseline');
    const calls = path.join(ws.dir, 'calls.jsonl');
    const result = await sampleRun(realSampler(ws, calls, { sets: { checkpoints: 'all', control: true } }));
    expect(result.sets.map((set) => [set.weights.kind, set.status, set.rendered])).toEqual([
      ['final', 'rendered', 4],
      ['checkpoint', 'rendered', 4],
      ['control', 'rendered', 4],
    ]);
    const log = await readJsonLines<Call>(calls);
    const output = path.join(ws.store, 'tiny', runOf(ws, 'baseline').id, 'output');
    // the order of the calls that decide pixels: each set gets a fresh scheduler from the model's config and its
    // own LoRA, which is unloaded before the next set; the control renders on the bare base model
    const sequence = log.filter((c) => c.call !== 'generate' || (c.generators as number[][])[0]![1] === 11).map((c) =>
      c.call === 'load_lora' ? `load_lora ${path.relative(output, c.folder as string) || 'output'}` : c.call === 'set_adapters' ? `set_adapters ${(c.weights as number[]).join()}` : c.call,
    );
    expect(sequence).toEqual([
      'vae', 'pipeline', 'to',
      'scheduler', 'load_lora output', 'set_adapters 0.5', 'generate', 'generate', 'unload_lora',
      'scheduler', 'load_lora checkpoint-2', 'set_adapters 0.5', 'generate', 'generate', 'unload_lora',
      'scheduler', 'generate', 'generate',
    ]);
    const events = await Promise.all(result.sets.map((set) => readJsonLines<{ type: string; pid?: number; pipeline_loaded?: boolean }>(sampleSetFiles(set.dir).events)));
    expect(events.map((list) => list.find((e) => e.type === 'loaded')?.pipeline_loaded)).toEqual([true, false, false]);
    expect(new Set(events.flat().filter((e) => e.type === 'start').map((e) => e.pid)).size).toBe(1);
  });

  it('loads no LoRA for the control set', async () => {
    const ws = await workspace(await tempDir());
    const calls = path.join(ws.dir, 'calls.jsonl');
    const result = await sampleRun(realSampler(ws, calls, { run: null, sets: { control: true }, device: 'cpu' }));
    expect(result.sets[0]).toMatchObject({ weights: { kind: 'control' }, status: 'rendered', rendered: 4 });
    const log = await readJsonLines<Call>(calls);
    expect(log.filter((c) => c.call === 'load_lora' || c.call === 'set_adapters')).toEqual([]);
    expect(log.find((c) => c.call === 'vae')).toMatchObject({ options: { torch_dtype: 'float32' } });
    expect(log.find((c) => c.call === 'to')).toEqual({ call: 'to', device: 'cpu' });
  });

  it('resumes after being killed mid-set, skipping finished images; reports OOM', async () => {
    const ws = await workspace(await tempDir());
    await fakeTrained(ws, 'baseline');
    const calls = path.join(ws.dir, 'calls.jsonl');
    await expect(sampleRun(realSampler(ws, calls, {}, { STUB_CRASH_AFTER: '3' }))).rejects.toMatchObject({ reason: 'crashed' });
    const resumed = await sampleRun(realSampler(ws, calls));
    expect(resumed.sets[0]).toMatchObject({ status: 'resumed', kept: 3, rendered: 1 });
    const seeds = (await readJsonLines<Call>(calls)).filter((c) => c.call === 'generate').map((c) => `${(c.prompt as string[])[0]}|${(c.generators as number[][])[0]![1]}`);
    expect(seeds).toEqual([
      'a photo of TOK boy, portrait|11',
      'a photo of TOK boy, portrait|22',
      'a photo of TOK boy, in a forest|11',
      'a photo of TOK boy, in a forest|22', // the crashed call
      'a photo of TOK boy, in a forest|22',
    ]);

    const other = await workspace(await tempDir());
    await fakeTrained(other, 'baseline');
    const oom = await sampleRun(realSampler(other, calls, {}, { STUB_OOM: '1' })).catch((e) => e);
    expect(oom).toMatchObject({ reason: 'oom', message: expect.stringMatching(/CUDA out of memory at batch size 1/) });
  });

  it('refuses LoRA weights whose sha256 is not the one in the spec, and a spec of another protocol', async () => {
    const ws = await workspace(await tempDir());
    const weights = path.join(ws.dir, 'w.safetensors');
    await writeFile(weights, 'changed after hashing');
    const spec = {
      protocol: 1, set_id: 'final-x', run_id: 'r', experiment: 'tiny', out_dir: path.join(ws.dir, 'out'),
      model: { id: 'm', commit: null, path: ws.model }, vae: { id: 'v', commit: null, path: ws.vae },
      weights: { kind: 'final', path: weights, sha256: '0'.repeat(64) }, device: 'cpu', dtype: 'fp32', model_variant: null,
      scheduler: { name: 'euler', class: 'EulerDiscreteScheduler', config: {} }, steps: 1, guidance_scale: 1, width: 8, height: 8,
      lora_scale: 1, adapter_name: 'a', batch_size: 1,
      images: [{ prompt_id: 'p', prompt: 'p', negative_prompt: '', seed: 1, file: 'p__s1.png', sidecar: 'p__s1.json' }],
    };
    const specFile = path.join(ws.dir, 'spec.json');
    await writeFile(specFile, JSON.stringify(spec));
    const env = { ...process.env, PYTHONPATH: STUBS };
    const mismatch = await execa('python3', [DEFAULT_SAMPLER_SCRIPT, specFile], { env, reject: false });
    expect(mismatch.exitCode).toBe(1);
    expect(mismatch.stdout).toMatch(/"reason": "weights_mismatch"/);
    await writeFile(specFile, JSON.stringify({ ...spec, protocol: 99 }));
    const protocol = await execa('python3', [DEFAULT_SAMPLER_SCRIPT, specFile], { env, reject: false });
    expect(protocol.exitCode).toBe(2);
    expect(protocol.stdout).toMatch(/"reason": "invalid_spec"/);
  });
});
