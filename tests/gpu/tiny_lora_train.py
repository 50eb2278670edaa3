#!/usr/bin/env python3
"""Test double of diffusers' examples/dreambooth/train_dreambooth_lora_sdxl.py for the GPU device check
(tests/gpu/README.md). Run by python/train.py exactly as the real script is (spec `trainer.script`).

A small attention-shaped torch model gets a PEFT LoRA adapter and trains on CUDA through a real
accelerate.Accelerator, making the calls the real script makes in the same order: log(step=global_step) after
every optimizer step, save_state(output_dir/checkpoint-N) with a LoRA-saving pre-hook that keeps the model
weights out of the checkpoint, load_state on --resume_from_checkpoint with a LoRA-loading pre-hook, the final
StableDiffusionXLPipeline.save_lora_weights, then AutoencoderKL.from_pretrained (the reload the tap cuts short).

Failure switches (environment): TINY_OOM_AT=N allocates twice the GPU's memory before step N (a real CUDA
OOM); TINY_NAN_AT=N makes the loss NaN from step N on.
Each checkpoint save, and a resume's load, prints one `TINY_STATE {json}` line on stdout (LoRA weight sum,
scheduler/optimizer step, grad-scaler scale) so the check can prove load_state restored what save_state wrote.
"""
import argparse
import json
import math
import os
import sys

import torch
import torch.nn.functional as F
from accelerate import Accelerator
from accelerate.utils import ProjectConfiguration, set_seed
from peft import LoraConfig, inject_adapter_in_model
from peft.utils import get_peft_model_state_dict, set_peft_model_state_dict

from diffusers import AutoencoderKL, StableDiffusionXLPipeline

TARGET_MODULES = ["to_q", "to_k", "to_v", "to_out"]
LORA_FILE = "pytorch_lora_weights.safetensors"


def parse_args():
    p = argparse.ArgumentParser(description="Tiny LoRA trainer (GPU check stand-in for the SDXL DreamBooth script).")
    p.add_argument("--pretrained_model_name_or_path", type=str, default="gpu-check-stand-in")
    p.add_argument("--output_dir", type=str, required=True)
    p.add_argument("--max_train_steps", type=int, default=6)
    p.add_argument("--checkpointing_steps", type=int, default=500)
    p.add_argument("--learning_rate", type=float, default=1e-3)
    p.add_argument("--lr_warmup_steps", type=int, default=0)
    p.add_argument("--rank", type=int, default=4)
    p.add_argument("--train_batch_size", type=int, default=8)
    p.add_argument("--gradient_accumulation_steps", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume_from_checkpoint", type=str, default=None)
    p.add_argument("--mixed_precision", type=str, default=None, choices=["no", "fp16", "bf16"])
    p.add_argument("--hidden", type=int, default=256)
    return p.parse_args()


def env_int(name):
    value = os.environ.get(name)
    return int(value) if value else None


class Block(torch.nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.to_q = torch.nn.Linear(dim, dim)
        self.to_k = torch.nn.Linear(dim, dim)
        self.to_v = torch.nn.Linear(dim, dim)
        self.to_out = torch.nn.Linear(dim, dim)

    def forward(self, x):
        q, k, v = self.to_q(x), self.to_k(x), self.to_v(x)
        attention = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]), dim=-1)
        return x + self.to_out(attention @ v)


class TinyUNet(torch.nn.Module):
    def __init__(self, dim, depth=2):
        super().__init__()
        self.blocks = torch.nn.ModuleList([Block(dim) for _ in range(depth)])
        self.norm = torch.nn.LayerNorm(dim)

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return self.norm(x)


def main(args):
    accelerator = Accelerator(
        gradient_accumulation_steps=args.gradient_accumulation_steps,
        mixed_precision=args.mixed_precision,
        log_with=None,
        project_config=ProjectConfiguration(project_dir=args.output_dir, logging_dir=os.path.join(args.output_dir, "logs")),
    )
    set_seed(args.seed)
    if accelerator.is_main_process:
        os.makedirs(args.output_dir, exist_ok=True)

    weight_dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(accelerator.mixed_precision, torch.float32)
    model = TinyUNet(args.hidden)
    model.requires_grad_(False)
    model.to(accelerator.device, dtype=weight_dtype)  # frozen base in the half type, as the real script does
    inject_adapter_in_model(LoraConfig(r=args.rank, lora_alpha=args.rank, init_lora_weights="gaussian", target_modules=TARGET_MODULES), model)
    model.to(accelerator.device)
    params = []
    for name, param in model.named_parameters():
        if param.requires_grad:
            if "lora_" not in name:
                raise RuntimeError(f"a base parameter is trainable after the adapter injection: {name}")
            param.data = param.data.float()  # trainable LoRA stays fp32 (cast_training_params in the real script)
            params.append(param)
    if not params:
        raise RuntimeError("peft injected no trainable LoRA parameters")

    optimizer = torch.optim.AdamW(params, lr=args.learning_rate)
    warmup = args.lr_warmup_steps
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / (warmup + 1)) if warmup else 1.0)
    generator = torch.Generator().manual_seed(args.seed)
    inputs = torch.randn(64, 16, args.hidden, generator=generator)
    targets = torch.roll(inputs, shifts=1, dims=-1) * 0.5
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(inputs, targets), batch_size=args.train_batch_size, shuffle=True)
    model, optimizer, loader, scheduler = accelerator.prepare(model, optimizer, loader, scheduler)

    def lora_layers():
        state = get_peft_model_state_dict(accelerator.unwrap_model(model))
        return {key: value.detach().float().cpu().contiguous() for key, value in state.items()}

    def report_state(phase, directory):
        net = accelerator.unwrap_model(model)
        lora_sum = sum(p.detach().double().abs().sum().item() for n, p in net.named_parameters() if "lora_" in n)
        opt_steps = [float(s["step"]) for s in optimizer.state_dict()["state"].values() if "step" in s]
        record = {
            "phase": phase,
            "dir": os.path.basename(os.path.normpath(directory)),
            "lora_sum": lora_sum,
            "sched_last_epoch": scheduler.state_dict().get("last_epoch"),
            "opt_step": max(opt_steps) if opt_steps else None,
            "scaler_scale": accelerator.scaler.get_scale() if accelerator.scaler is not None else None,
        }
        print("TINY_STATE " + json.dumps(record), flush=True)

    def save_model_hook(models, weights, output_dir):
        if accelerator.is_main_process:
            for _ in models:
                if weights:
                    weights.pop()  # the LoRA file below is the model state: no full model.safetensors
            StableDiffusionXLPipeline.save_lora_weights(output_dir, unet_lora_layers=lora_layers())
            report_state("saved", output_dir)

    def load_model_hook(models, input_dir):
        target = None
        while models:
            target = models.pop()  # accelerate must not look for model.safetensors
        from safetensors.torch import load_file

        state = load_file(os.path.join(input_dir, LORA_FILE))
        state = {key[len("unet."):]: value for key, value in state.items() if key.startswith("unet.")}
        result = set_peft_model_state_dict(accelerator.unwrap_model(target), state, adapter_name="default")
        unexpected = getattr(result, "unexpected_keys", None)
        if unexpected:
            raise RuntimeError(f"LoRA keys not in the model: {unexpected[:5]}")

    accelerator.register_save_state_pre_hook(save_model_hook)
    accelerator.register_load_state_pre_hook(load_model_hook)
    accelerator.init_trackers("gpu-check-tiny-lora", config={k: v for k, v in vars(args).items() if v is not None})

    global_step = 0
    if args.resume_from_checkpoint:
        if args.resume_from_checkpoint != "latest":
            path = os.path.basename(os.path.normpath(args.resume_from_checkpoint))
        else:
            dirs = sorted((d for d in os.listdir(args.output_dir) if d.startswith("checkpoint")), key=lambda d: int(d.split("-")[1]))
            path = dirs[-1] if dirs else None
        if path is None:
            accelerator.print(f"Checkpoint '{args.resume_from_checkpoint}' does not exist. Starting a new training run.")
        else:
            accelerator.print(f"Resuming from checkpoint {path}")
            accelerator.load_state(os.path.join(args.output_dir, path))
            global_step = int(path.split("-")[1])
            report_state("loaded", path)

    oom_at, nan_at = env_int("TINY_OOM_AT"), env_int("TINY_NAN_AT")
    hog = None
    while global_step < args.max_train_steps:
        for x, y in loader:
            with accelerator.accumulate(model):
                upcoming = global_step + 1
                if upcoming == oom_at:
                    total = torch.cuda.get_device_properties(torch.cuda.current_device()).total_memory
                    hog = torch.empty(int(total * 2), dtype=torch.uint8, device=accelerator.device)
                prediction = model(x)
                loss = F.mse_loss(prediction.float(), y.float())
                if nan_at is not None and upcoming >= nan_at:
                    loss = loss * float("nan")
                accelerator.backward(loss)
                if accelerator.sync_gradients:
                    accelerator.clip_grad_norm_(params, 1.0)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
            if accelerator.sync_gradients:
                global_step += 1
                if global_step % args.checkpointing_steps == 0 and accelerator.is_main_process:
                    save_path = os.path.join(args.output_dir, f"checkpoint-{global_step}")
                    accelerator.save_state(save_path)
            logs = {"loss": loss.detach().item(), "lr": scheduler.get_last_lr()[0]}
            accelerator.log(logs, step=global_step)
            if global_step >= args.max_train_steps:
                break
    del hog

    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        StableDiffusionXLPipeline.save_lora_weights(save_directory=args.output_dir, unet_lora_layers=lora_layers(), safe_serialization=True)
        # The real script's final inference starts here; python/train.py stops the run at this call.
        vae = AutoencoderKL.from_pretrained(args.pretrained_model_name_or_path)
        StableDiffusionXLPipeline.from_pretrained(args.pretrained_model_name_or_path, vae=vae)
    accelerator.end_training()


if __name__ == "__main__":
    main(parse_args())
    sys.stdout.flush()
