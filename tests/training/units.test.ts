// Pure parts of training: LoRA header checks, verdicts, preflight, event ingestion, --set parsing.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSetOverrides } from '../../harness/commands/run.ts';
import { accelerateConfigYaml, trainCommand } from '../../harness/runner/command.ts';
import { classifyAttempt, logTailLines, type AttemptEvidence } from '../../harness/train/classify.ts';
import { torchHasKernelsFor, type EnvInfo } from '../../harness/train/envinfo.ts';
import { EventLog, FileTail, LineSplitter } from '../../harness/train/events.ts';
import { checkEnvironment, checkSettings } from '../../harness/train/preflight.ts';
import { checkLoraFile, checkLoraHeader, type SafetensorsHeader } from '../../harness/train/safetensors.ts';
import { estimateVramMb } from '../../harness/train/vram.ts';
import { tempDir } from '../helpers/tmp.ts';

function header(rank: number, extra: Record<string, number[]> = {}): SafetensorsHeader {
  const tensors: SafetensorsHeader['tensors'] = {};
  let offset = 0;
  const add = (name: string, shape: number[]) => {
    const size = shape.reduce((a, b) => a * b, 1) * 4;
    tensors[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + size] };
    offset += size;
  };
  for (const target of ['to_q', 'to_k', 'to_v', 'to_out.0']) {
    add(`unet.mid_block.attentions.0.transformer_blocks.0.attn1.${target}.lora.down.weight`, [rank, 1280]);
    add(`unet.mid_block.attentions.0.transformer_blocks.0.attn1.${target}.lora.up.weight`, [1280, rank]);
  }
  for (const [name, shape] of Object.entries(extra)) add(name, shape);
  return { tensors, metadata: {}, fileBytes: offset };
}

describe('LoRA file check', () => {
  it('accepts matching ranks and refuses other ranks, unpaired matrices and unexpected text-encoder tensors', () => {
    expect(checkLoraHeader(header(4), { rank: 4, trainTextEncoder: false })).toMatchObject({ ok: true, pairs: 4, ranks: [4] });
    expect(checkLoraHeader(header(8), { rank: 4, trainTextEncoder: false }).problems[0]).toMatch(/rank 8\/8/);
    const te = header(4, { 'text_encoder.text_model.encoder.layers.0.self_attn.q_proj.lora_linear_layer.down.weight': [4, 768] });
    const check = checkLoraHeader(te, { rank: 4, trainTextEncoder: false });
    expect(check.problems.join('\n')).toMatch(/down matrix without its up matrix/);
    expect(check.problems.join('\n')).toMatch(/train_text_encoder is not set/);
    expect(checkLoraHeader(header(4), { rank: 4, trainTextEncoder: true }).problems).toEqual(['train_text_encoder is set but the file has no text-encoder LoRA']);
  });

  it('reads a real file and refuses one cut short', async () => {
    const dir = await tempDir();
    const json = Buffer.from(JSON.stringify({ 'unet.a.to_q.lora.down.weight': { dtype: 'F32', shape: [1, 1], data_offsets: [0, 4] } }));
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(json.length));
    await writeFile(path.join(dir, 'cut.safetensors'), Buffer.concat([prefix, json]));
    const cut = await checkLoraFile(path.join(dir, 'cut.safetensors'), { rank: 1, trainTextEncoder: false });
    expect(cut.ok).toBe(false);
    expect(cut.problems[0]).toMatch(/cut short/);
    expect((await checkLoraFile(path.join(dir, 'missing.safetensors'), { rank: 1, trainTextEncoder: false })).ok).toBe(false);
  });
});

describe('verdicts', () => {
  const base: AttemptEvidence = { weights: undefined, weightsCheck: undefined, end: undefined, firstNonFinite: undefined, exitCode: 1, signal: null, spawnError: null, interrupted: false, killedByHarness: false, logTail: [] };
  it('reads OOM from the log, SIGKILL from outside as system RAM, and our own SIGKILL as not an OOM', () => {
    expect(classifyAttempt({ ...base, logTail: ['torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB'] }).reason).toBe('oom');
    expect(classifyAttempt({ ...base, logTail: ["subprocess.CalledProcessError: Command '[...]' died with <Signals.SIGKILL: 9>."] }).reason).toBe('oom');
    expect(classifyAttempt({ ...base, exitCode: null, signal: 'SIGKILL' }).message).toMatch(/system RAM/);
    expect(classifyAttempt({ ...base, exitCode: null, signal: 'SIGKILL', killedByHarness: true, interrupted: true }).reason).toBe('interrupted');
    expect(classifyAttempt({ ...base, exitCode: 0 }).message).toMatch(/without saving LoRA weights/);
  });
  it('collapses tqdm redraws in the log tail', () => {
    expect(logTailLines('a\nSteps: 1%\rSteps: 2%\rSteps: 3%\nb\n', 2)).toEqual(['Steps: 3%', 'b']);
  });
});

const p100: EnvInfo = {
  schemaVersion: 1,
  python: { version: '3.11.7', executable: '/usr/bin/python3', implementation: 'CPython' },
  platform: 'Linux',
  packages: Object.fromEntries(['torch', 'torchvision', 'diffusers', 'transformers', 'accelerate', 'peft', 'datasets', 'safetensors', 'huggingface-hub', 'pillow', 'numpy', 'tqdm', 'bitsandbytes', 'tensorboard'].map((n) => [n, n === 'diffusers' ? '0.40.0' : '1.0'])),
  torch: { version: '2.14.0+cu126', cuda: '12.6', cudnn: 90100, arch_list: ['sm_50', 'sm_60', 'sm_70', 'sm_75', 'sm_80', 'sm_86', 'sm_90'], cuda_available: true, device_count: 1 },
  gpus: [{ index: 0, name: 'Tesla P100-PCIE-16GB', capability: '6.0', memory_mb: 16276, driver: '550.54' }],
  errors: [],
};
const baseline = { resolution: 512, train_batch_size: 2, mixed_precision: 'fp16', gradient_checkpointing: true, rank: 4, use_8bit_adam: true, report_to: 'tensorboard' };

describe('preflight', () => {
  it('passes the P100 baseline and refuses bf16 below compute capability 8.0', () => {
    expect(checkEnvironment(baseline, p100, 'v0.40.0')).toEqual({ errors: [], warnings: [] });
    expect(checkEnvironment({ ...baseline, mixed_precision: 'bf16' }, p100, 'v0.40.0').errors[0]!.message).toMatch(/bf16.*6\.0/);
  });
  it('refuses a torch without sm_60 kernels (CUDA 12.8 builds), naming the install command', () => {
    const cu128 = { ...p100, torch: { ...p100.torch!, arch_list: ['sm_70', 'sm_75', 'sm_80', 'sm_90', 'sm_100', 'sm_120'] } };
    const errors = checkEnvironment(baseline, cu128, 'v0.40.0').errors;
    expect(errors[0]!.message).toMatch(/no kernels for Tesla P100/);
    expect(errors[0]!.hint).toMatch(/requirements-cuda/);
    expect(torchHasKernelsFor(['sm_60'], '6.1')).toBe(true);
    expect(torchHasKernelsFor(['sm_61'], '6.0')).toBe(false);
    expect(torchHasKernelsFor(['compute_50'], '6.0')).toBe(true);
  });
  it('warns when the VRAM estimate exceeds the card and names missing packages', () => {
    const big = { ...baseline, resolution: 1024, train_batch_size: 4, gradient_checkpointing: false };
    expect(estimateVramMb(big).totalMb).toBeGreaterThan(16276);
    expect(checkEnvironment(big, p100, 'v0.40.0').warnings[0]!.message).toMatch(/VRAM estimate/);
    const noBnb = { ...p100, packages: { ...p100.packages, bitsandbytes: null } };
    expect(checkEnvironment(baseline, noBnb, 'v0.40.0').errors[0]!.message).toMatch(/missing.*bitsandbytes/);
  });
  it('refuses --validation_prompt in the argv', () => {
    expect(checkSettings({ settings: {}, argv: ['--validation_prompt', 'x'] }).errors).toHaveLength(1);
  });
});

describe('events', () => {
  it('keeps one metric per step; a resume marker drops the steps it will redo', () => {
    const log = new EventLog();
    const m = (step: number, loss: number | null) => JSON.stringify({ v: 1, type: 'metric', t: step, step, loss, lr: 1e-4, vram_alloc_mb: 1, vram_reserved_mb: 2, vram_peak_mb: 3 });
    for (const s of [1, 2, 3]) log.ingestLine(m(s, 0.1));
    log.ingestLine(JSON.stringify({ v: 1, type: 'resume', t: 4, from_step: 1, checkpoint: null, dropped: 2, attempt: 2 }));
    log.ingestLine(m(2, 0.2));
    log.ingestLine('{"not json');
    expect([...log.metrics.keys()]).toEqual([1, 2]);
    // the loss shown is the EMA 0.9 (as in the report): 0.1, then 0.9·0.1 + 0.1·0.2
    expect(log.summary()).toMatchObject({ steps: 2, lastStep: 2, minLoss: 0.1 });
    expect(log.summary().finalLoss).toBeCloseTo(0.11, 10);
    expect(log.malformed).toBe(1);
  });
  it('splits streamed text into whole lines and tails a growing file', async () => {
    const splitter = new LineSplitter();
    expect(splitter.push('a\nb')).toEqual(['a']);
    expect(splitter.push('c\n')).toEqual(['bc']);
    const dir = await tempDir();
    const file = path.join(dir, 'events.jsonl');
    await mkdir(dir, { recursive: true });
    const tail = new FileTail(file, 0, 8);
    expect(await tail.poll()).toEqual([]);
    await writeFile(file, 'first line\nsecond');
    expect(await tail.poll()).toEqual(['first line']);
    await writeFile(file, 'first line\nsecond line\n');
    expect(await tail.poll()).toEqual(['second line']);
    await tail.close();
  });
});

describe('commands as data', () => {
  it('builds plain python or accelerate launch with the harness-owned config', () => {
    const inputs = { python: 'py', numProcesses: 2, trainPy: '/r/python/train.py', specFile: '/s/spec.json', accelerateConfig: '/s/accelerate.yaml', runDir: '/s', env: {} };
    expect(trainCommand({ ...inputs, launcher: 'python' })).toMatchObject({ file: 'py', args: ['/r/python/train.py', '/s/spec.json'], cwd: '/s' });
    expect(trainCommand({ ...inputs, launcher: 'accelerate' }).args).toEqual(['-m', 'accelerate.commands.launch', '--config_file', '/s/accelerate.yaml', '/r/python/train.py', '/s/spec.json']);
    expect(accelerateConfigYaml(2, 'fp16')).toMatch(/distributed_type: MULTI_GPU\n[\s\S]*num_processes: 2/);
  });
  it('parses --set values by flag type and refuses unknown or harness-managed keys', () => {
    expect(parseSetOverrides(['learning_rate=5e-5', 'rank=16', 'train_text_encoder=true'])).toEqual({ learning_rate: 5e-5, rank: 16, train_text_encoder: true });
    expect(() => parseSetOverrides(['learnig_rate=1'])).toThrow(/did you mean "learning_rate"/);
    expect(() => parseSetOverrides(['validation_prompt=a dog'])).toThrow(/set by the harness/);
    expect(() => parseSetOverrides(['rank=2.5'])).toThrow(/whole number/);
  });
});
