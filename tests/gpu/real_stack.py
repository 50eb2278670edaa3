#!/usr/bin/env python3
"""The demo run's Python side on a CUDA GPU: python/train.py (the unmodified pinned diffusers script behind the
metrics tap) and python/sample.py (the real StableDiffusionXLPipeline + load_lora_weights), both on the tiny
SDXL, from the spec files `harness run` wrote on the CPU machine (their paths rewritten to this machine).

Run by tests/gpu/real_stack.sh on a GPU box (the device machine has no Node.js, so the harness's TypeScript
side decides everything on the CPU machine beforehand, exactly as DESIGN.md §2 says: Python receives one
resolved spec and decides nothing). Needs in .device/: cpu-runs/ (a CPU run of experiments/demo.yaml's
baseline through sampling), hub/ (the tiny SDXL snapshots), script/ (the pinned script).

Prints one JSON summary (also to $OUT/real-stack.json): per GPU training attempt s/it, peak VRAM and the
losses; the fp32 GPU losses against the CPU run's; sampling seconds per image; the largest pixel difference
between the GPU's fp32 images and the CPU's of the same LoRA.
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import time

ROOT = os.getcwd()
DEVICE = os.path.join(ROOT, ".device")
CPU_ROOT = "/work/main"
CPU_HUB = "/root/.cache/huggingface/hub"


def rewrite(value, run_from, run_to):
    if isinstance(value, dict):
        return {k: rewrite(v, run_from, run_to) for k, v in value.items()}
    if isinstance(value, list):
        return [rewrite(v, run_from, run_to) for v in value]
    if isinstance(value, str):
        value = value.replace(run_from, run_to)
        value = value.replace(CPU_HUB, os.path.join(DEVICE, "hub"))
        if value.endswith("train_dreambooth_lora_sdxl.py"):
            value = os.path.join(DEVICE, "script", "train_dreambooth_lora_sdxl.py")
        return value.replace(CPU_ROOT, ROOT)
    return value


def events(path):
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def train(cpu_run, name, mixed_precision):
    """One training attempt on the GPU from the CPU run's spec; returns its measurements."""
    target = os.path.join(DEVICE, "gpu-runs", name)
    shutil.rmtree(target, ignore_errors=True)
    os.makedirs(target)
    with open(os.path.join(cpu_run, "spec.json"), encoding="utf-8") as handle:
        spec = rewrite(json.load(handle), cpu_run, target)
    argv = spec["argv"]
    argv[argv.index("--mixed_precision") + 1] = mixed_precision
    spec_path = os.path.join(target, "spec.json")
    with open(spec_path, "w", encoding="utf-8") as handle:
        json.dump(spec, handle)
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONHASHSEED="0", HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1",
               HF_HUB_CACHE=os.path.join(DEVICE, "hub"), HF_DATASETS_CACHE=os.path.join(target, "datasets-cache"))
    started = time.time()
    with open(os.path.join(target, "train.log"), "w") as log:
        code = subprocess.call([sys.executable, os.path.join(ROOT, "python", "train.py"), spec_path], stdout=log, stderr=subprocess.STDOUT, env=env, cwd=target)
    wall = time.time() - started
    evs = events(spec["trainer"]["events"]) if os.path.exists(spec["trainer"]["events"]) else []
    metrics = [e for e in evs if e["type"] == "metric"]
    end = next((e for e in evs if e["type"] == "end"), {})
    times = [m["t"] for m in metrics]
    result = {
        "name": name,
        "mixed_precision": mixed_precision,
        "gradient_checkpointing": "--gradient_checkpointing" in argv,
        "exit_code": code,
        "end": end.get("status"),
        "steps": len(metrics),
        "wall_s": round(wall, 2),
        "s_per_it": round((times[-1] - times[0]) / (len(times) - 1), 4) if len(times) > 1 else None,
        "peak_vram_mb": end.get("peak_vram_mb"),
        "peak_vram_reserved_mb": end.get("peak_vram_reserved_mb"),
        "losses": [m["loss"] for m in metrics],
        "weights": next((e["path"] for e in evs if e["type"] == "weights_saved"), None),
    }
    if code != 0:
        with open(os.path.join(target, "train.log"), encoding="utf-8", errors="replace") as handle:
            result["log_tail"] = handle.read().splitlines()[-25:]
    return result


def sample(cpu_set, name, weights, dtype):
    """Renders the CPU set's images on the GPU with `weights`; returns seconds per image and the folder."""
    out = os.path.join(DEVICE, "gpu-samples", name)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    with open(os.path.join(cpu_set, "sampler-spec.json"), encoding="utf-8") as handle:
        spec = rewrite(json.load(handle), cpu_set, out)
    spec.update(out_dir=out, device="cuda", dtype=dtype)
    if weights:
        import hashlib

        spec["weights"]["path"] = weights
        with open(weights, "rb") as handle:
            spec["weights"]["sha256"] = hashlib.sha256(handle.read()).hexdigest()
    spec_path = os.path.join(out, "sampler-spec.json")
    with open(spec_path, "w", encoding="utf-8") as handle:
        json.dump(spec, handle)
    started = time.time()
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "python", "sample.py"), spec_path], capture_output=True, text=True,
                          env=dict(os.environ, HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1"))
    lines = [json.loads(l) for l in proc.stdout.splitlines() if l.startswith("{")]
    images = [l for l in lines if l.get("type") == "image"]
    result = {"name": name, "dtype": dtype, "exit_code": proc.returncode, "images": len(images), "wall_s": round(time.time() - started, 2),
              "image_s": [round(i.get("seconds", 0), 3) for i in images]}
    if proc.returncode != 0:
        result["errors"] = [l for l in lines if l.get("type") == "error"]
        result["stderr_tail"] = proc.stderr.splitlines()[-25:]
    return result, out


def max_pixel_diff(dir_a, dir_b):
    import numpy as np
    from PIL import Image

    worst = 0
    for png in sorted(glob.glob(os.path.join(dir_a, "*.png"))):
        other = os.path.join(dir_b, os.path.basename(png))
        if not os.path.exists(other):
            return None
        a = np.asarray(Image.open(png).convert("RGB"), dtype=np.int16)
        b = np.asarray(Image.open(other).convert("RGB"), dtype=np.int16)
        worst = max(worst, int(np.abs(a - b).max()))
    return worst


def main():
    import torch

    summary = {"torch": torch.__version__, "cuda": torch.version.cuda, "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
    for name in ("diffusers", "transformers", "accelerate", "peft", "datasets"):
        try:
            summary[name] = __import__(name).__version__
        except Exception as error:  # noqa: BLE001 - a summary, not a check
            summary[name] = f"missing: {error}"
    cpu_run = glob.glob(os.path.join(DEVICE, "cpu-runs", "demo", "baseline-*"))[0]
    cpu_losses = [e["loss"] for e in events(os.path.join(cpu_run, "events.jsonl")) if e["type"] == "metric"]
    fp16 = train(cpu_run, "fp16", "fp16")
    fp32 = train(cpu_run, "fp32", "no")
    summary["train"] = [fp16, fp32]
    summary["cpu_losses"] = cpu_losses
    if fp32["losses"] and len(fp32["losses"]) == len(cpu_losses):
        summary["fp32_gpu_vs_cpu_max_abs_loss_diff"] = max(abs(a - b) for a, b in zip(fp32["losses"], cpu_losses))
    cpu_final = glob.glob(os.path.join(cpu_run, "samples", "final-*"))[0]
    cpu_lora = os.path.join(cpu_run, "output", "pytorch_lora_weights.safetensors")
    sampled_fp16, _ = sample(cpu_final, "fp16-gpu-lora", fp16["weights"], "fp16")
    sampled_fp32, out32 = sample(cpu_final, "fp32-cpu-lora", cpu_lora, "fp32")
    summary["sample"] = [sampled_fp16, sampled_fp32]
    summary["fp32_gpu_vs_cpu_images_max_pixel_diff"] = max_pixel_diff(cpu_final, out32)
    text = json.dumps(summary, indent=1)
    print(text)
    if os.environ.get("OUT"):
        with open(os.path.join(os.environ["OUT"], "real-stack.json"), "w", encoding="utf-8") as handle:
            handle.write(text)
    ok = fp16["exit_code"] == 0 and fp32["exit_code"] == 0 and sampled_fp16["exit_code"] == 0 and sampled_fp32["exit_code"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
