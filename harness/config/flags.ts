// The flags of diffusers' examples/dreambooth/train_dreambooth_lora_sdxl.py that an experiment may set,
// named as the flag without dashes, with the script's own default (facts: shared/reference/diffusers-sdxl-lora.md §1).
// `managed` flags are set by the harness from other parts of the experiment and may not be set by hand.

export type FlagType = 'int' | 'float' | 'str' | 'bool';

export interface FlagInfo {
  type: FlagType;
  /** The script's default; undefined where the script's default is None. */
  scriptDefault?: string | number | boolean;
  choices?: readonly string[];
  min?: number;
  /** exclusive lower bound */
  gt?: number;
  managed?: string;
}

export const FLAGS: Record<string, FlagInfo> = {
  // model
  rank: { type: 'int', scriptDefault: 4, min: 1 },
  lora_dropout: { type: 'float', scriptDefault: 0, min: 0 },
  use_dora: { type: 'bool', scriptDefault: false },
  do_edm_style_training: { type: 'bool', scriptDefault: false },
  output_kohya_format: { type: 'bool', scriptDefault: false },
  variant: { type: 'str' },
  // data
  repeats: { type: 'int', scriptDefault: 1, min: 1 },
  resolution: { type: 'int', scriptDefault: 1024, min: 64 },
  center_crop: { type: 'bool', scriptDefault: false },
  random_flip: { type: 'bool', scriptDefault: false },
  image_interpolation_mode: {
    type: 'str',
    scriptDefault: 'lanczos',
    choices: ['lanczos', 'bilinear', 'bicubic', 'nearest', 'nearest_exact', 'box', 'hamming'],
  },
  dataloader_num_workers: { type: 'int', scriptDefault: 0, min: 0 },
  with_prior_preservation: { type: 'bool', scriptDefault: false },
  prior_loss_weight: { type: 'float', scriptDefault: 1.0, min: 0 },
  num_class_images: { type: 'int', scriptDefault: 100, min: 0 },
  class_prompt: { type: 'str' },
  class_data_dir: { type: 'str' },
  sample_batch_size: { type: 'int', scriptDefault: 4, min: 1 },
  prior_generation_precision: { type: 'str', choices: ['no', 'fp32', 'fp16', 'bf16'] },
  // training
  train_text_encoder: { type: 'bool', scriptDefault: false },
  train_batch_size: { type: 'int', scriptDefault: 4, min: 1 },
  num_train_epochs: { type: 'int', scriptDefault: 1, min: 1 },
  max_train_steps: { type: 'int', min: 1 },
  gradient_accumulation_steps: { type: 'int', scriptDefault: 1, min: 1 },
  learning_rate: { type: 'float', scriptDefault: 1e-4, gt: 0 },
  text_encoder_lr: { type: 'float', scriptDefault: 5e-6, gt: 0 },
  scale_lr: { type: 'bool', scriptDefault: false },
  lr_scheduler: {
    type: 'str',
    scriptDefault: 'constant',
    choices: ['linear', 'cosine', 'cosine_with_restarts', 'polynomial', 'constant', 'constant_with_warmup', 'piecewise_constant'],
  },
  lr_warmup_steps: { type: 'int', scriptDefault: 500, min: 0 },
  lr_num_cycles: { type: 'int', scriptDefault: 1, min: 1 },
  lr_power: { type: 'float', scriptDefault: 1.0 },
  snr_gamma: { type: 'float', gt: 0 },
  optimizer: { type: 'str', scriptDefault: 'AdamW', choices: ['AdamW', 'adamw', 'prodigy', 'Prodigy'] },
  use_8bit_adam: { type: 'bool', scriptDefault: false },
  adam_beta1: { type: 'float', scriptDefault: 0.9, min: 0 },
  adam_beta2: { type: 'float', scriptDefault: 0.999, min: 0 },
  adam_weight_decay: { type: 'float', scriptDefault: 1e-4, min: 0 },
  adam_weight_decay_text_encoder: { type: 'float', scriptDefault: 1e-3, min: 0 },
  adam_epsilon: { type: 'float', scriptDefault: 1e-8, gt: 0 },
  prodigy_beta3: { type: 'float' },
  max_grad_norm: { type: 'float', scriptDefault: 1.0, gt: 0 },
  seed: { type: 'int', min: 0 },
  // memory / precision
  gradient_checkpointing: { type: 'bool', scriptDefault: false },
  mixed_precision: { type: 'str', choices: ['no', 'fp16', 'bf16'] },
  enable_xformers_memory_efficient_attention: { type: 'bool', scriptDefault: false },
  allow_tf32: { type: 'bool', scriptDefault: false },
  // checkpointing and logging
  checkpointing_steps: { type: 'int', scriptDefault: 500, min: 1 },
  checkpoints_total_limit: { type: 'int', min: 1 },
  report_to: { type: 'str', scriptDefault: 'tensorboard', choices: ['tensorboard', 'wandb', 'comet_ml', 'all'] },

  // set by the harness, never by hand
  pretrained_model_name_or_path: { type: 'str', managed: 'set from base.model (a pinned local snapshot)' },
  pretrained_vae_model_name_or_path: { type: 'str', managed: 'set from base.vae (a pinned local snapshot)' },
  revision: { type: 'str', managed: 'pin base.model.commit instead: --revision would also be applied to the VAE' },
  dataset_name: { type: 'str', managed: 'set from dataset.dir' },
  instance_data_dir: { type: 'str', managed: 'captioned data goes through dataset.dir (--dataset_name)' },
  instance_prompt: { type: 'str', managed: 'set from dataset.instance_prompt' },
  caption_column: { type: 'str', managed: 'always "prompt" (the metadata.jsonl column)' },
  image_column: { type: 'str', managed: 'always "image" (the imagefolder loader column)' },
  output_dir: { type: 'str', managed: 'each run writes into its own folder of the run store' },
  resume_from_checkpoint: { type: 'str', managed: 'the harness resumes from the newest complete checkpoint itself' },
  validation_prompt: {
    type: 'str',
    managed: 'sampling is a separate step (samples:); in-training validation keeps fp32 text encoders on the GPU',
  },
  num_validation_images: { type: 'int', managed: 'sampling is a separate step (samples:)' },
  validation_epochs: { type: 'int', managed: 'sampling is a separate step (samples:)' },
  push_to_hub: { type: 'bool', managed: 'publishing is `harness push`' },
  hub_token: { type: 'str', managed: 'secrets are never written into an experiment' },
  hub_model_id: { type: 'str', managed: 'publishing is `harness push`' },
  logging_dir: { type: 'str', managed: 'set inside the run folder' },
  cache_dir: { type: 'str', managed: 'set per run by the harness' },
  local_rank: { type: 'int', managed: 'set by the launcher' },
};

export const SETTABLE_FLAGS = Object.keys(FLAGS).filter((name) => !FLAGS[name]!.managed);

/**
 * Settings the harness always passes explicitly, filled with the script's default when an experiment
 * leaves them out: the script would otherwise pick them silently (or leave them to accelerate's config).
 */
export const ALWAYS_EXPLICIT: Record<string, string | number | boolean> = {
  resolution: 1024,
  train_batch_size: 4,
  gradient_accumulation_steps: 1,
  learning_rate: 1e-4,
  lr_scheduler: 'constant',
  lr_warmup_steps: 500,
  rank: 4,
  checkpointing_steps: 500,
  mixed_precision: 'no',
  seed: 0,
  optimizer: 'AdamW',
  report_to: 'tensorboard',
};
