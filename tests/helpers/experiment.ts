// A small valid experiment, as YAML text, for tests that need one.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseExperiment } from '../../harness/config/load.ts';
import { ConfigError, type Problem } from '../../harness/errors.ts';
import { REPO } from './cli.ts';

export const TOK_BOY = path.join(REPO, 'experiments', 'tok-boy.yaml');

export function tokBoyText(): string {
  return readFileSync(TOK_BOY, 'utf8');
}

/**
 * An experiment's text with base.model and base.vae unpinned (`commit: null`), as it is before `harness pin`:
 * the tests of pinning start from it, and the loopback Hub's commits are not the real ones tok-boy.yaml ships.
 */
export function unpinnedText(text: string): string {
  const out = text.replace(/^(  (?:model|vae):\n    id: [^\n]+\n    commit: )[0-9a-f]{40}$/gm, '$1null');
  if ((out.match(/^    commit: null$/gm) ?? []).length !== 2) throw new Error('unpinnedText: expected base.model and base.vae with a commit line each');
  return out;
}

/** A pinned (made-up) base model and VAE and the real diffusers pin: the `base:` block of test experiments. */
export const PINNED_BASE = `base:
  model: { id: org/base, commit: 0123456789abcdef0123456789abcdef01234567 }
  vae: { id: org/vae, commit: 89abcdef0123456789abcdef0123456789abcdef }
  diffusers:
    release: v0.40.0
    commit: d035dcd7cc7c88e0a154609b62887d50bba9fdc2
    sha256: 88ffa83ccf7f45fb79fb7fc7fd23bf49ba87a5ba8b011ae295dd0b57fdd5ddfa
`;

/** The real pins of the tok-boy recipe as a run spec's provenance records them (datasetHash, instancePrompt aside). */
export const PINNED_PROVENANCE = {
  diffusersRelease: 'v0.40.0',
  diffusersCommit: 'd035dcd7cc7c88e0a154609b62887d50bba9fdc2',
  script: 'examples/dreambooth/train_dreambooth_lora_sdxl.py',
  scriptSha256: '88ffa83ccf7f45fb79fb7fc7fd23bf49ba87a5ba8b011ae295dd0b57fdd5ddfa',
  model: { id: 'stabilityai/stable-diffusion-xl-base-1.0', commit: '462165984030d82259a11f4367a4eed129e94a7b' },
  vae: { id: 'madebyollin/sdxl-vae-fp16-fix', commit: '207b116dae70ace3637169f1ddd2434b91b3a8cd' },
} as const;

/** `base:`, `dataset:` and `baseline:` of a small valid experiment; tests add `samples:` (and more). */
export const MINIMAL_HEAD = `${PINNED_BASE}dataset:
  dir: data
  instance_prompt: a photo of TOK boy
  caption_prefix: "a photo of TOK boy, "
  min_images: 2
baseline:
  resolution: 512
  train_batch_size: 2
  learning_rate: 1.0e-4
  max_train_steps: 20
  lr_warmup_steps: 0
  mixed_precision: fp16
  checkpointing_steps: 10
  seed: 0
`;

export const MINIMAL = `name: mini
${MINIMAL_HEAD}variants:
  lr-low:
    learning_rate: 5.0e-5
samples:
  prompts:
    - id: portrait
      prompt: a photo of TOK boy, portrait
  seeds: [1, 2]
`;

/** MINIMAL with its base model and VAE unpinned (commit: null). */
export const UNPINNED_MINIMAL = MINIMAL.replace(/commit: [0-9a-f]{40} \}/g, 'commit: null }');

/** The problems of an experiment text that must not parse (a ConfigError); throws if it parses. */
export function problemsOf(text: string): Problem[] {
  try {
    parseExperiment('exp.yaml', text);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}
