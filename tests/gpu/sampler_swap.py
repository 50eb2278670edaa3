#!/usr/bin/env python3
"""One sampler process that swaps LoRA weights against one process per set (issue 21), on a GPU.

    python3 tests/gpu/sampler_swap.py <work-dir> [--device cuda|cpu]

Run by hand from the repository root (not part of `npm test`). It builds the tiny SDXL
(python/make_tiny_sdxl.py), makes two LoRA files in the format the diffusers script saves (a PEFT LoRA on the
UNet, through StableDiffusionXLPipeline.save_lora_weights; random, non-zero), writes the specs of three sample
sets (final, checkpoint, control) as harness/samples/spec.ts does, and renders them with python/sample.py
twice one process per set (so a GPU that is not deterministic shows) and once all in one batch (one SDXL
load, LoRA swapped in and out). PASS when the batch's PNGs have the per-set PNGs' sha256; INCONCLUSIVE (exit
2) when the two per-set renders already differ. On CUDA the sets render in fp16, as a sweep renders them.

Needs torch (with CUDA for --device cuda), diffusers 0.40.0 (`pip install --no-deps
diffusers-0.40.0-py3-none-any.whl` where it is missing), transformers, peft and safetensors. With
--device cpu it runs here too, in the harness's CPU environment (~/.cache/harness/python/cpu-*/bin/python).
"""
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROMPTS = [("01-portrait", "a photo of TOK boy, portrait"), ("02-forest", "a photo of TOK boy, in a forest")]
SEEDS = [11, 22]


def sha256(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def make_lora(model_dir, out_dir, seed):
    """What the training script saves, with lora_B drawn at random so the LoRA changes the pixels."""
    import torch
    from diffusers import StableDiffusionXLPipeline, UNet2DConditionModel
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    unet = UNet2DConditionModel.from_pretrained(os.path.join(model_dir, "unet"))
    unet.add_adapter(LoraConfig(r=4, lora_alpha=4, init_lora_weights="gaussian", target_modules=["to_k", "to_q", "to_v", "to_out.0"]))
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in unet.named_parameters():
            if "lora_B" in name:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.05)
    layers = convert_state_dict_to_diffusers(get_peft_model_state_dict(unet))
    os.makedirs(out_dir, exist_ok=True)
    StableDiffusionXLPipeline.save_lora_weights(save_directory=out_dir, unet_lora_layers=layers, safe_serialization=True)
    return os.path.join(out_dir, "pytorch_lora_weights.safetensors")


def spec(set_id, weights, out_dir, model, vae, device):
    return {
        "schemaVersion": 1, "protocol": 1, "set_id": set_id, "run_id": None if weights["kind"] == "control" else "gpu-check",
        "experiment": "gpu-check", "out_dir": out_dir,
        "model": {"id": "harness/tiny-sdxl", "commit": None, "path": model}, "vae": {"id": "harness/tiny-sdxl-vae", "commit": None, "path": vae},
        "weights": weights, "device": device, "dtype": "fp16" if device == "cuda" else "fp32", "model_variant": None,
        "scheduler": {"name": "euler", "class": "EulerDiscreteScheduler", "config": {}}, "steps": 4, "guidance_scale": 5.0,
        "width": 64, "height": 64, "lora_scale": None if weights["kind"] == "control" else 1.0, "adapter_name": "harness_lora", "batch_size": 1,
        "images": [{"prompt_id": p, "prompt": text, "negative_prompt": "blurry", "seed": seed, "file": f"{p}__s{seed}.png", "sidecar": f"{p}__s{seed}.json"}
                   for p, text in PROMPTS for seed in SEEDS],
    }


def write_specs(root, sets, model, vae, device):
    paths = []
    for set_id, weights in sets:
        out_dir = os.path.join(root, set_id)
        os.makedirs(out_dir, exist_ok=True)
        path = os.path.join(out_dir, "sampler-spec.json")
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(spec(set_id, weights, out_dir, model, vae, device), handle)
        paths.append(path)
    return paths


def sample(job, env, log):
    done = subprocess.run([sys.executable, os.path.join(REPO, "python", "sample.py"), job], env=env, capture_output=True, text=True)
    with open(log, "a", encoding="utf-8") as handle:
        handle.write(done.stderr)
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    errors = [e for e in events if e["type"] == "error"]
    if done.returncode != 0 or errors:
        raise SystemExit(f"FAIL sampler exited {done.returncode} on {job}: {errors or done.stderr[-2000:]}")
    return events


def hashes(root):
    return {os.path.relpath(path, root): sha256(path) for path in sorted(glob.glob(os.path.join(root, "*", "*.png")))}


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    work = os.path.abspath(argv[1])
    device = argv[argv.index("--device") + 1] if "--device" in argv else "cuda"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    os.makedirs(work, exist_ok=True)
    log = os.path.join(work, "sample.log")
    tiny = os.path.join(work, "tiny")
    if not os.path.isdir(os.path.join(tiny, "model")):
        subprocess.run([sys.executable, os.path.join(REPO, "python", "make_tiny_sdxl.py"), tiny], env=env, check=True, stdout=subprocess.DEVNULL)
    model, vae = os.path.join(tiny, "model"), os.path.join(tiny, "vae")
    final = make_lora(model, os.path.join(work, "lora-final"), 1)
    checkpoint = make_lora(model, os.path.join(work, "lora-checkpoint"), 2)
    sets = [
        ("final-x", {"kind": "final", "path": final, "sha256": sha256(final)}),
        ("ckpt6-x", {"kind": "checkpoint", "step": 6, "path": checkpoint, "sha256": sha256(checkpoint)}),
        ("control-x", {"kind": "control"}),
    ]
    for name in ("apart-1", "apart-2", "together"):
        shutil.rmtree(os.path.join(work, name), ignore_errors=True)  # renders of an earlier check would be kept
    renders = {}
    for name in ("apart-1", "apart-2"):
        for job in write_specs(os.path.join(work, name), sets, model, vae, device):
            sample(job, env, log)
        renders[name] = hashes(os.path.join(work, name))
    together = os.path.join(work, "together")
    batch = os.path.join(together, "sampler-batch.json")
    specs = write_specs(together, sets, model, vae, device)
    with open(batch, "w", encoding="utf-8") as handle:
        json.dump({"schemaVersion": 1, "protocol": 1, "sets": specs}, handle)
    events = sample(batch, env, log)
    renders["together"] = hashes(together)
    loads = sum(1 for e in events if e["type"] == "loaded" and e.get("pipeline_loaded"))
    distinct = len({renders["apart-1"][f"{set_id}/01-portrait__s11.png"] for set_id, _ in sets})
    summary = {"device": device, "images": len(renders["together"]), "pipeline_loads_in_batch": loads, "distinct_sets": distinct}
    with open(os.path.join(work, "hashes.json"), "w", encoding="utf-8") as handle:
        json.dump({**summary, "renders": renders}, handle, indent=1)
    if renders["apart-1"] != renders["apart-2"]:
        print(f"INCONCLUSIVE one process per set is not deterministic here: {summary}")
        return 2
    if len(renders["together"]) != len(sets) * len(PROMPTS) * len(SEEDS) or loads != 1 or distinct != len(sets):
        print(f"FAIL the batch did not render as expected: {summary}")
        return 1
    if renders["together"] != renders["apart-1"]:
        differing = sorted(k for k in renders["apart-1"] if renders["apart-1"][k] != renders["together"].get(k))
        print(f"FAIL one process with LoRA swaps differs from one process per set: {differing} {summary}")
        return 1
    print(f"PASS one process with LoRA swaps gives the bytes of one process per set: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
