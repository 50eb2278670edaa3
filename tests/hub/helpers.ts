// Shared set-up for the Hub tests: a stand-in Hub with SDXL-shaped repos and a copy of the experiment.
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tokBoyText, unpinnedText } from '../helpers/experiment.ts';
import { startHubServer, type HubServer } from '../fixtures/hub-server/server.ts';

export const TOKENS = {
  alice: 'hf_aliceWriteTokenDoNotLeak0123456789',
  aliceRead: 'hf_aliceReadOnlyTokenDoNotLeak012345',
  bob: 'hf_bobWriteTokenDoNotLeak01234567890',
};

export const BASE_ID = 'stabilityai/stable-diffusion-xl-base-1.0';
export const VAE_ID = 'madebyollin/sdxl-vae-fp16-fix';

const blob = (n: number) => randomBytes(n);

/** The SDXL base repo's shape, small: what the pipeline loads plus what it must not download. */
export function sdxlFiles(): Record<string, string | Buffer> {
  const tokenizer = (dir: string) => ({
    [`${dir}/merges.txt`]: '#version: 0.2\nt o\n',
    [`${dir}/special_tokens_map.json`]: '{"bos_token": "<|startoftext|>"}',
    [`${dir}/tokenizer_config.json`]: '{"model_max_length": 77}',
    [`${dir}/vocab.json`]: '{"t": 0, "o": 1}',
  });
  return {
    'README.md': '---\nlicense: openrail++\n---\n# SDXL\n',
    'model_index.json': '{"_class_name": "StableDiffusionXLPipeline"}',
    'scheduler/scheduler_config.json': '{"_class_name": "EulerDiscreteScheduler"}',
    ...tokenizer('tokenizer'),
    ...tokenizer('tokenizer_2'),
    'text_encoder/config.json': '{"architectures": ["CLIPTextModel"]}',
    'text_encoder/model.safetensors': blob(40_000),
    'text_encoder/model.fp16.safetensors': blob(20_000),
    'text_encoder/model.onnx': blob(5_000),
    'text_encoder_2/config.json': '{"architectures": ["CLIPTextModelWithProjection"]}',
    'text_encoder_2/model.safetensors': blob(60_000),
    'text_encoder_2/model.fp16.safetensors': blob(30_000),
    'unet/config.json': '{"_class_name": "UNet2DConditionModel"}',
    'unet/diffusion_pytorch_model.safetensors': blob(400_000),
    'unet/diffusion_pytorch_model.fp16.safetensors': blob(200_000),
    'unet/openvino_model.bin': blob(3_000),
    'vae/config.json': '{"_class_name": "AutoencoderKL"}',
    'vae/diffusion_pytorch_model.safetensors': blob(30_000),
    'vae/diffusion_pytorch_model.fp16.safetensors': blob(15_000),
    'vae_decoder/model.onnx': blob(4_000),
    'sd_xl_base_1.0.safetensors': blob(50_000),
  };
}

export function vaeFiles(): Record<string, string | Buffer> {
  return {
    'README.md': '# fp16 fix\n',
    'config.json': '{"_class_name": "AutoencoderKL", "force_upcast": false}',
    'diffusion_pytorch_model.safetensors': blob(25_000),
    'diffusion_pytorch_model.bin': blob(25_000),
    'sdxl_vae.safetensors': blob(25_000),
    'sdxl.vae.safetensors': blob(25_000),
  };
}

export async function startHub(): Promise<{ hub: HubServer; baseCommit: string; vaeCommit: string }> {
  const hub = await startHubServer({
    users: {
      alice: { token: TOKENS.alice, role: 'write' },
      'alice-reader': { token: TOKENS.aliceRead, role: 'read' },
      bob: { token: TOKENS.bob, role: 'write' },
    },
    // small pages, so the library's Link-header pagination is exercised too
    pageSize: 7,
  });
  const baseCommit = hub.addRepo({ id: BASE_ID, files: sdxlFiles() });
  const vaeCommit = hub.addRepo({ id: VAE_ID, files: vaeFiles() });
  return { hub, baseCommit, vaeCommit };
}

/** A copy of the real experiment file in `dir`, unpinned (the loopback Hub has commits of its own). */
export async function copyExperiment(dir: string): Promise<string> {
  await mkdir(path.join(dir, 'experiments'), { recursive: true });
  const file = path.join(dir, 'experiments', 'tok-boy.yaml');
  await writeFile(file, unpinnedText(tokBoyText()));
  return file;
}

/** Env for a child CLI: this Hub, a private HF_HOME, short retries, and nothing inherited from the user. */
export function hubEnv(hub: HubServer, home: string, extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    HF_ENDPOINT: hub.url,
    HF_HOME: home,
    HF_HUB_CACHE: undefined,
    HF_TOKEN: undefined,
    HF_TOKEN_PATH: undefined,
    HARNESS_HUB_RETRY_BASE_MS: '5',
    ...extra,
  };
}
