// The pure parts: YAML splicing, file selection, pin state, retries' policy inputs.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/cli.ts';
import { unpinnedText } from '../helpers/experiment.ts';
import { applyYamlEdits } from '../../harness/hub/pin-file.ts';
import { sdxlBaseFiles, vaeRepoFiles } from '../../harness/hub/pipeline-files.ts';
import { isPinned, requirePinned, unpinnedRefs } from '../../harness/hub/pin-state.ts';
import { parseExperiment } from '../../harness/config/load.ts';
import { UsageError } from '../../harness/errors.ts';
import { redact } from '../../harness/hub/auth.ts';
import { sdxlFiles, vaeFiles } from './helpers.ts';

const SHA = 'a'.repeat(40);

describe('applyYamlEdits', () => {
  it('changes only the value bytes: comments, number spelling and long lines survive', async () => {
    const text = (await readFile(path.join(REPO, 'experiments', 'tok-boy.yaml'), 'utf8')).replace(
      /^(    id: stabilityai\/stable-diffusion-xl-base-1\.0\n    commit: )[0-9a-f]{40}$/m,
      '$1null # `harness pin` resolves and writes the commit',
    );
    const out = applyYamlEdits(text, [{ path: ['base', 'model', 'commit'], value: SHA }]);
    expect(out).toBe(text.replace('    commit: null # `harness pin', `    commit: ${SHA} # \`harness pin`));
    expect(out).toContain('learning_rate: 1.0e-4');
    expect(out).toContain('  rank: [8, 32]');
  });

  it('inserts a missing key, and falls back to rewriting a flow mapping', () => {
    const block = 'base:\n  vae:\n    id: a/b # keep\nnext: 1\n';
    expect(applyYamlEdits(block, [{ path: ['base', 'vae', 'commit'], value: SHA }])).toBe(`base:\n  vae:\n    id: a/b # keep\n    commit: ${SHA}\nnext: 1\n`);
    const flow = 'base:\n  vae: { id: a/b }\n';
    expect(applyYamlEdits(flow, [{ path: ['base', 'vae', 'commit'], value: SHA }])).toContain(`commit: ${SHA}`);
  });
});

describe('pipeline file selection', () => {
  const base = Object.keys(sdxlFiles());
  it('takes configs, tokenizers and full-precision weights by default, never ONNX or single-file checkpoints', () => {
    const s = sdxlBaseFiles(base, { variants: [null], separateVae: true });
    expect(s.missing).toEqual([]);
    expect(s.files).toContain('unet/diffusion_pytorch_model.safetensors');
    expect(s.files).toContain('vae/config.json');
    expect(s.files).not.toContain('vae/diffusion_pytorch_model.safetensors');
    expect(s.files.filter((f) => f.includes('fp16') || f.endsWith('.onnx') || f.endsWith('.bin') || f === 'sd_xl_base_1.0.safetensors')).toEqual([]);
  });

  it('handles sharded weights with their index, per variant', () => {
    const sharded = [
      ...base.filter((p) => !p.startsWith('unet/diffusion')),
      'unet/diffusion_pytorch_model.safetensors.index.json',
      'unet/diffusion_pytorch_model-00001-of-00002.safetensors',
      'unet/diffusion_pytorch_model-00002-of-00002.safetensors',
      'unet/diffusion_pytorch_model.safetensors.index.fp16.json',
      'unet/diffusion_pytorch_model-00001-of-00002.fp16.safetensors',
    ];
    const fp16 = sdxlBaseFiles(sharded, { variants: ['fp16'], separateVae: true }).files.filter((f) => f.startsWith('unet/diffusion'));
    expect(fp16).toEqual(['unet/diffusion_pytorch_model-00001-of-00002.fp16.safetensors', 'unet/diffusion_pytorch_model.safetensors.index.fp16.json']);
    const full = sdxlBaseFiles(sharded, { variants: [null], separateVae: true }).files.filter((f) => f.startsWith('unet/diffusion'));
    expect(full).toHaveLength(3);
  });

  it('reports what the repo lacks', () => {
    const s = sdxlBaseFiles(base.filter((p) => !p.startsWith('tokenizer_2/') && p !== 'model_index.json'), { variants: [null], separateVae: true });
    expect(s.missing).toEqual(['model_index.json', 'tokenizer_2/ (vocab.json, merges.txt, tokenizer_config.json, …)']);
    const vae = vaeRepoFiles(Object.keys(vaeFiles()), { variants: [null] });
    expect(vae).toEqual({ files: ['config.json', 'diffusion_pytorch_model.safetensors'], missing: [] });
  });
});

describe('pin state', () => {
  it('lists unpinned refs and lets sweep refuse them unless --unpinned', async () => {
    const text = unpinnedText(await readFile(path.join(REPO, 'experiments', 'tok-boy.yaml'), 'utf8'));
    const { config } = parseExperiment('experiments/tok-boy.yaml', text);
    expect(unpinnedRefs(config).map((r) => r.id)).toEqual(['stabilityai/stable-diffusion-xl-base-1.0', 'madebyollin/sdxl-vae-fp16-fix']);
    expect(isPinned(config)).toBe(false);
    expect(() => requirePinned(config, 'experiments/tok-boy.yaml')).toThrow(UsageError);
    expect(() => requirePinned(config, 'experiments/tok-boy.yaml', { allowUnpinned: true })).not.toThrow();
    const pinned = parseExperiment('x.yaml', applyYamlEdits(text, [
      { path: ['base', 'model', 'commit'], value: SHA },
      { path: ['base', 'vae', 'commit'], value: 'b'.repeat(40) },
    ])).config;
    expect(isPinned(pinned)).toBe(true);
  });
});

describe('redact', () => {
  it('removes every occurrence of the token', () => {
    expect(redact('a hf_x1 b hf_x1', 'hf_x1')).toBe('a hf_*** b hf_***');
  });
});
