#!/usr/bin/env python3
"""Describes the Python environment for training as one JSON object on stdout (standard library only).

python, the versions of the training packages (null = not installed), torch's CUDA build and the GPU
architectures its kernels were compiled for, and every visible GPU (name, compute capability, memory,
driver). It never fails: what could not be read is null and explained under "errors".
"""
import json
import platform
import shutil
import subprocess
import sys

PACKAGES = [
    "torch", "torchvision", "diffusers", "transformers", "accelerate", "peft", "bitsandbytes", "datasets",
    "safetensors", "huggingface-hub", "tokenizers", "pillow", "numpy", "tqdm", "tensorboard", "xformers",
    "invisible-watermark", "prodigyopt",
]


def versions(errors):
    from importlib import metadata

    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
        except Exception as error:  # a broken install: report it, keep going
            out[name] = None
            errors.append(f"{name}: {error}")
    return out


def torch_info(errors):
    try:
        import torch
    except Exception as error:
        if not isinstance(error, ModuleNotFoundError):
            errors.append(f"import torch: {type(error).__name__}: {error}")
        return None, []
    info = {
        "version": getattr(torch, "__version__", None),
        "cuda": getattr(getattr(torch, "version", None), "cuda", None),
        "cudnn": None,
        "arch_list": [],
        "cuda_available": False,
        "device_count": 0,
    }
    gpus = []
    try:
        info["arch_list"] = list(torch.cuda.get_arch_list())
        info["cuda_available"] = bool(torch.cuda.is_available())
        if info["cuda_available"]:
            info["device_count"] = torch.cuda.device_count()
            try:
                info["cudnn"] = torch.backends.cudnn.version()
            except Exception:
                pass
            for index in range(info["device_count"]):
                major, minor = torch.cuda.get_device_capability(index)
                props = torch.cuda.get_device_properties(index)
                gpus.append({
                    "index": index,
                    "name": torch.cuda.get_device_name(index),
                    "capability": f"{major}.{minor}",
                    "memory_mb": round(props.total_memory / (1024 * 1024)),
                    "driver": None,
                })
    except Exception as error:
        errors.append(f"torch.cuda: {type(error).__name__}: {error}")
    return info, gpus


def nvidia_smi(errors):
    if shutil.which("nvidia-smi") is None:
        return None
    query = "index,name,compute_cap,memory.total,driver_version"
    try:
        out = subprocess.run(
            ["nvidia-smi", f"--query-gpu={query}", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=20, check=True,
        ).stdout
    except Exception as error:
        errors.append(f"nvidia-smi: {error}")
        return None
    rows = []
    for line in out.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != 5:
            continue
        index, name, capability, memory, driver = parts
        rows.append({
            "index": int(index),
            "name": name,
            "capability": capability,
            "memory_mb": int(float(memory)) if memory.replace(".", "").isdigit() else None,
            "driver": driver,
        })
    return rows


def main():
    errors = []
    packages = versions(errors)
    torch, gpus = torch_info(errors)
    smi = nvidia_smi(errors)
    if smi is not None:
        by_index = {row["index"]: row for row in smi}
        if gpus:
            for gpu in gpus:
                gpu["driver"] = by_index.get(gpu["index"], {}).get("driver")
        else:  # torch missing or CPU-only: the GPU is still worth naming
            gpus = smi
    report = {
        "schemaVersion": 1,
        "python": {
            "version": platform.python_version(),
            "executable": sys.executable,
            "implementation": platform.python_implementation(),
        },
        "platform": platform.platform(),
        "packages": packages,
        "torch": torch,
        "gpus": gpus,
        "errors": errors,
    }
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
