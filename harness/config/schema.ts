// The shape of an experiment file. The same schema validates files and generates the editors' JSON Schema.
import { z } from 'zod';
import { FLAGS, SETTABLE_FLAGS, type FlagInfo } from './flags.ts';

const commitSha = z
  .string()
  .regex(/^[0-9a-f]{40}$/, 'must be a full 40-character commit SHA (run `harness pin` to resolve it)');

const repoId = z.string().regex(/^[A-Za-z0-9][\w.-]*\/[\w.-]+$/, 'must be a Hub repo id like "org/name"');

export const modelRef = z
  .object({
    id: repoId.describe('Hugging Face Hub repo id'),
    commit: commitSha.nullable().default(null).describe('pinned commit SHA; null = unpinned (`harness pin` fills it)'),
    build: z
      .enum(['tiny-sdxl'])
      .optional()
      .describe('the harness makes this model itself instead of downloading it (tiny-sdxl: python/make_tiny_sdxl.py, a seeded random SDXL for CPU runs); commit is then the digest of the built files'),
  })
  .strict();

function flagSchema(info: FlagInfo): z.ZodType {
  let schema: z.ZodType;
  if (info.type === 'bool') schema = z.boolean();
  else if (info.type === 'str') schema = info.choices ? z.enum(info.choices as [string, ...string[]]) : z.string().min(1);
  else {
    let n = z.number();
    if (info.type === 'int') n = n.int('must be a whole number');
    if (info.min !== undefined) n = n.min(info.min, `must be at least ${info.min}`);
    if (info.gt !== undefined) n = n.gt(info.gt, `must be greater than ${info.gt}`);
    schema = n;
  }
  return schema;
}

const settingsShape: Record<string, z.ZodType> = Object.fromEntries(
  SETTABLE_FLAGS.map((name) => [name, flagSchema(FLAGS[name]!).optional()]),
);

/** Training settings: diffusers flags without dashes. All optional here; defaults are filled later. */
export const trainingSettings = z.object(settingsShape).strict();
export type TrainingSettings = Record<string, string | number | boolean>;

const variantName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/, 'variant names use letters, digits, "_", "." and "-" (at most 40)');

export const promptSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'prompt ids use lower-case letters, digits, "_" and "-"'),
    prompt: z.string().min(1),
    negative_prompt: z.string().optional(),
  })
  .strict();

export const samplesSchema = z
  .object({
    prompts: z.array(promptSchema).min(1),
    seeds: z.array(z.number().int().min(0)).min(1),
    steps: z.number().int().min(1).default(30),
    guidance_scale: z.number().min(0).default(5.0),
    scheduler: z
      .enum(['euler', 'euler_a', 'dpmpp_2m', 'ddim', 'dpmpp_2m_karras'])
      .default('euler')
      .describe('euler = EulerDiscreteScheduler (the SDXL base default)'),
    width: z.number().int().min(64).multipleOf(8).default(1024),
    height: z.number().int().min(64).multipleOf(8).default(1024),
    lora_scale: z.number().min(0).default(1.0),
    negative_prompt: z.string().default(''),
    checkpoints: z
      .union([z.array(z.number().int().min(1)), z.literal('all'), z.literal('none')])
      .default('none')
      .describe('checkpoint steps to sample besides the final weights'),
    control: z.boolean().default(true).describe('also sample the base model without LoRA, once per experiment'),
  })
  .strict();

const markerName = z.enum(['identity', 'curls', 'nose', 'neck']);

export const scoringSchema = z
  .object({
    reference: z.string().optional().describe('folder of reference photos; default: dataset.dir'),
    markers: z.array(markerName).default(['identity', 'curls', 'nose', 'neck']),
    weights: z.record(markerName, z.number().min(0)).default({ identity: 0.55, curls: 0.15, nose: 0.15, neck: 0.15 }),
  })
  .strict();

const tierTolerances = z
  .object({
    exact: z
      .object({ mismatch_ratio: z.number().min(0).max(1).default(0.001), max_channel_diff: z.number().int().min(0).max(255).default(8) })
      .strict()
      .default({ mismatch_ratio: 0.001, max_channel_diff: 8 }),
    perceptual: z
      .object({
        pixel_threshold: z.number().min(0).max(1).default(0.1),
        mismatch_ratio: z.number().min(0).max(1).default(0.05),
        min_ssim: z.number().min(0).max(1).default(0.9),
        max_embedding_drift: z.number().min(0).max(2).default(0.1),
      })
      .strict()
      .default({ pixel_threshold: 0.1, mismatch_ratio: 0.05, min_ssim: 0.9, max_embedding_drift: 0.1 }),
    statistical: z
      .object({ max_mean_shift_se: z.number().min(0).default(3) })
      .strict()
      .default({ max_mean_shift_se: 3 }),
  })
  .strict();

export const regressionSchema = z
  .object({
    goldens: z.string().optional().describe('default: experiments/goldens/<name>'),
    variant: z.string().default('baseline').describe('the run whose samples are compared with the goldens'),
    tolerances: tierTolerances.default({
      exact: { mismatch_ratio: 0.001, max_channel_diff: 8 },
      perceptual: { pixel_threshold: 0.1, mismatch_ratio: 0.05, min_ssim: 0.9, max_embedding_drift: 0.1 },
      statistical: { max_mean_shift_se: 3 },
    }),
  })
  .strict();

export const trackingSchema = z
  .object({
    wandb: z
      .object({
        project: z.string().min(1),
        entity: z.string().min(1).optional(),
        mode: z.enum(['auto', 'online', 'offline', 'disabled']).default('auto'),
      })
      .strict()
      .optional(),
  })
  .strict();

export const hubSchema = z
  .object({
    model_repo: repoId.optional().describe('where `harness push` publishes the LoRA'),
    runs_repo: repoId.optional().describe('dataset repo that carries run folders between machines'),
    private: z.boolean().default(true),
  })
  .strict();

export const experimentSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'experiment names use lower-case letters, digits, "_" and "-"'),
    description: z.string().optional(),
    base: z
      .object({
        model: modelRef,
        vae: modelRef,
        diffusers: z
          .object({
            release: z.string().min(1).describe('diffusers tag the script and the library come from, e.g. v0.40.0'),
            commit: commitSha,
            script: z.string().default('examples/dreambooth/train_dreambooth_lora_sdxl.py'),
            sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be a 64-character hex sha256'),
          })
          .strict(),
      })
      .strict(),
    dataset: z
      .object({
        dir: z.string().min(1).describe('folder of PNGs + metadata.jsonl, relative to the experiment file'),
        instance_prompt: z.string().min(1),
        caption_prefix: z.string().min(1),
        image_size: z.number().int().min(64).default(1024),
        min_images: z.number().int().min(1).default(5),
      })
      .strict(),
    baseline: trainingSettings,
    variants: z.record(variantName, trainingSettings).default({}),
    grid: z.record(z.string(), z.array(z.union([z.number(), z.string(), z.boolean()])).min(1)).optional(),
    samples: samplesSchema,
    scoring: scoringSchema.default({
      markers: ['identity', 'curls', 'nose', 'neck'],
      weights: { identity: 0.55, curls: 0.15, nose: 0.15, neck: 0.15 },
    }),
    regression: regressionSchema.default({
      variant: 'baseline',
      tolerances: {
        exact: { mismatch_ratio: 0.001, max_channel_diff: 8 },
        perceptual: { pixel_threshold: 0.1, mismatch_ratio: 0.05, min_ssim: 0.9, max_embedding_drift: 0.1 },
        statistical: { max_mean_shift_se: 3 },
      },
    }),
    tracking: trackingSchema.default({}),
    hub: hubSchema.default({ private: true }),
    store: z.string().optional().describe('run store root, relative to this file like dataset.dir; default runs/ beside this file'),
    python: z
      .object({
        requirements: z
          .string()
          .min(1)
          .describe('a requirements file (relative to the experiment file): the harness makes a virtual environment from it under ~/.cache/harness/python/ and trains, samples and captions with it, unless --python or $HARNESS_PYTHON names another interpreter'),
      })
      .strict()
      .optional(),
  })
  .strict();

export type ExperimentFile = z.output<typeof experimentSchema>;
