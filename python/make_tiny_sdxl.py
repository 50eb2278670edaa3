#!/usr/bin/env python3
"""Build a tiny random SDXL: python/make_tiny_sdxl.py <out-dir>

Writes two folders that load like Hub snapshots:
  <out-dir>/model/  a StableDiffusionXLPipeline (UNet, VAE, two CLIP text encoders, two tokenizers, Euler)
  <out-dir>/vae/    the same AutoencoderKL on its own, for --pretrained_vae_model_name_or_path
About 11 MB in all. Weights are random from a fixed seed on the CPU, so rebuilding with the same library
versions gives byte-identical files (the harness checks a digest of them against the experiment's pin).

The component sizes follow diffusers' own SDXL pipeline tests (get_dummy_components), slightly wider, so
that every code path of the training script and of the pipeline runs (text_time embeddings, two text
encoders, cross-attention, LoRA targets). Images are 64 px by default and noise by construction.

stdout: one JSON line at the end ({"model": ..., "vae": ...}); progress goes to stderr.
"""
import json
import os
import sys

# Nothing is fetched, and the saved tokenizer config records local_files_only from this variable: fixing it
# here keeps the bytes (and so the digest) the same whatever the caller's environment says.
os.environ["HF_HUB_OFFLINE"] = "1"

SEED = 0
# CLIP byte-level BPE: the 256 byte characters alone and with the end-of-word mark, a few merges, then the
# special tokens last (their ids become bos/eos/pad of the text encoders).
MERGES = ["t o", "to k</w>", "b o", "bo y</w>", "p h", "o t", "ph ot", "phot o</w>", "o f</w>"]


def byte_chars():
    """The 256 printable stand-ins CLIP's tokenizer uses for bytes (GPT-2's bytes_to_unicode table)."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars = keep[:]
    extra = 0
    for byte in range(256):
        if byte not in keep:
            keep.append(byte)
            chars.append(256 + extra)
            extra += 1
    return [chr(c) for c in chars]


def write_tokenizer_files(folder):
    os.makedirs(folder, exist_ok=True)
    tokens = byte_chars()
    vocab = {}
    for token in tokens + [t + "</w>" for t in tokens]:
        vocab.setdefault(token, len(vocab))
    for merge in MERGES:
        joined = merge.replace(" ", "")
        vocab.setdefault(joined, len(vocab))
    for special in ("<|startoftext|>", "<|endoftext|>"):
        vocab.setdefault(special, len(vocab))
    with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as handle:
        json.dump(vocab, handle, ensure_ascii=False, sort_keys=False)
    with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as handle:
        handle.write("#version: 0.2\n" + "\n".join(MERGES) + "\n")
    return vocab


def log(message):
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def build(out_dir):
    import shutil

    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    torch.use_deterministic_algorithms(True)
    scratch = os.path.join(out_dir, ".tokenizer")
    vocab = write_tokenizer_files(scratch)
    # transformers 5 ignores vocab_file=/merges_file= in the constructor: load from the folder instead
    tokenizer = CLIPTokenizer.from_pretrained(scratch, model_max_length=77)

    torch.manual_seed(SEED)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=2,
        sample_size=32,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4),
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=8,
        transformer_layers_per_block=(1, 2),
        projection_class_embeddings_input_dim=80,  # 6 time ids × 8 + the 32-wide pooled text embedding
        cross_attention_dim=64,  # the two text encoders' hidden states side by side (32 + 32)
        norm_num_groups=1,
    )
    log("unet built")
    torch.manual_seed(SEED)
    vae = AutoencoderKL(
        block_out_channels=[32, 64],
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
        up_block_types=["UpDecoderBlock2D", "UpDecoderBlock2D"],
        latent_channels=4,
        sample_size=128,
    )
    log("vae built")
    text_config = CLIPTextConfig(
        bos_token_id=vocab["<|startoftext|>"],
        eos_token_id=vocab["<|endoftext|>"],
        pad_token_id=vocab["<|endoftext|>"],
        hidden_size=32,
        intermediate_size=37,
        layer_norm_eps=1e-05,
        num_attention_heads=4,
        num_hidden_layers=5,
        projection_dim=32,
        hidden_act="gelu",
        max_position_embeddings=77,
        vocab_size=len(vocab),
    )
    torch.manual_seed(SEED)
    text_encoder = CLIPTextModel(text_config)
    torch.manual_seed(SEED + 1)
    text_encoder_2 = CLIPTextModelWithProjection(text_config)
    log("text encoders built")
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        steps_offset=1,
        timestep_spacing="leading",
        prediction_type="epsilon",
        num_train_timesteps=1000,
    )
    pipeline = StableDiffusionXLPipeline(
        vae=vae,
        text_encoder=text_encoder,
        text_encoder_2=text_encoder_2,
        tokenizer=tokenizer,
        tokenizer_2=tokenizer,
        unet=unet,
        scheduler=scheduler,
        force_zeros_for_empty_prompt=True,
    )
    model_dir = os.path.join(out_dir, "model")
    vae_dir = os.path.join(out_dir, "vae")
    pipeline.save_pretrained(model_dir, safe_serialization=True)
    vae.save_pretrained(vae_dir, safe_serialization=True)
    for sub in ("tokenizer", "tokenizer_2"):
        for name in ("vocab.json", "merges.txt"):
            shutil.copyfile(os.path.join(scratch, name), os.path.join(model_dir, sub, name))
    shutil.rmtree(scratch)
    log(f"saved {model_dir} and {vae_dir}")
    return {"model": model_dir, "vae": vae_dir}


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: make_tiny_sdxl.py <out-dir>\n")
        return 2
    out_dir = os.path.abspath(argv[1])
    os.makedirs(out_dir, exist_ok=True)
    print(json.dumps(build(out_dir)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
