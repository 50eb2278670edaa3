// A rough peak-VRAM estimate for SDXL LoRA training with the diffusers script, for the preflight warning
// only. Resident weights follow reference §6 (UNet fp16 ≈ 5.1 GB, both text encoders fp16 ≈ 1.6 GB, VAE
// kept in fp32 ≈ 0.34 GB, CUDA context); activations scale with pixels × batch. The activation constants
// are unmeasured guesses that land inside the reference's ranges (512/bs2 with checkpointing ≈ 8–11 GB,
// 1024/bs1 ≈ 13–16 GB); replace them with measured peaks from events.jsonl once P100 runs exist.
import type { TrainingSettings } from '../config/schema.ts';

export interface VramEstimate {
  totalMb: number;
  parts: Record<string, number>;
}

const GB = 1024;

export function estimateVramMb(settings: TrainingSettings): VramEstimate {
  const precision = String(settings.mixed_precision ?? 'no');
  const halfWeights = precision === 'fp16' || precision === 'bf16';
  const resolution = Number(settings.resolution ?? 1024);
  const batch = Number(settings.train_batch_size ?? 4);
  const rank = Number(settings.rank ?? 4);
  const checkpointing = settings.gradient_checkpointing === true;
  const textEncoder = settings.train_text_encoder === true;
  const pixels = (resolution / 512) ** 2;
  const parts: Record<string, number> = {
    unet: (halfWeights ? 5.1 : 10.2) * GB,
    textEncoders: (halfWeights ? 1.6 : 3.2) * GB,
    vae: 0.34 * GB,
    cudaContext: 0.45 * GB,
    // LoRA weights + gradients + Adam moments in fp32: ≈ 23 MB of weights at rank 4 for the UNet alone
    lora: 23 * (rank / 4) * 4 * (textEncoder ? 1.3 : 1),
    activations: batch * pixels * (checkpointing ? 1.3 : 4.5) * GB * (halfWeights ? 1 : 1.8),
  };
  if (textEncoder) parts.textEncoderActivations = batch * 0.3 * GB;
  const totalMb = Math.round(Object.values(parts).reduce((a, b) => a + b, 0));
  return { totalMb, parts: Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, Math.round(v)])) };
}
