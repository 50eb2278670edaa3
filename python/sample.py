#!/usr/bin/env python3
"""Render sample sets: python/sample.py <sampler-spec.json | sampler-batch.json>

A spec (written by harness/samples/spec.ts) decides everything about one set: models, LoRA, scheduler class
and config, steps, guidance, size, dtype, device, batch size, prompts and seeds. A batch lists the spec files
of several sets (every set of one run): the SDXL pipeline is loaded once, when a set first needs it, and each
set only swaps its LoRA in (load_lora_weights + set_adapters) and out again (unload_lora_weights), so every
set renders on the bare base model as a fresh process would. This script decides nothing.

stdout: one JSON object per line (start, loaded, image, end, error), each naming its set; everything else goes
to stderr. Each image is `<prompt-id>__s<seed>.png` plus a sidecar `<prompt-id>__s<seed>.json`, both written
to a temporary name and renamed. Images whose sidecar exists and whose PNG matches the sidecar's sha256 are
kept, so an interrupted set resumes where it stopped. A failure inside a set (out of memory, bad weights, an
exception) is that set's `error` event; the next set goes on with a fresh pipeline. Exit 0 only when every set
ended; 2 for a spec this script cannot follow, else 1.
"""
import functools
import hashlib
import json
import os
import platform
import subprocess
import sys
import threading
import time
import traceback
from importlib import metadata

PROTOCOL = 1
SIDECAR_SCHEMA = 1


def emit(event):
    sys.stdout.write(json.dumps({"v": PROTOCOL, "t": time.time(), **event}, default=str) + "\n")
    sys.stdout.flush()


def log(message):
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_atomic(path, write):
    temp = f"{path}.tmp-{os.getpid()}"
    with open(temp, "wb") as handle:
        write(handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


def already_done(spec, image):
    """Kept only if the sidecar is ours and the PNG's bytes are the ones it describes."""
    png = os.path.join(spec["out_dir"], image["file"])
    sidecar = os.path.join(spec["out_dir"], image["sidecar"])
    if not (os.path.isfile(png) and os.path.isfile(sidecar)):
        return False
    try:
        with open(sidecar, encoding="utf-8") as handle:
            meta = json.load(handle)
    except (OSError, ValueError):
        return False
    ours = meta.get("set_id") == spec["set_id"] and meta.get("prompt_id") == image["prompt_id"] and meta.get("seed") == image["seed"]
    return ours and meta.get("sha256") == sha256_file(png)


def remove_stale_temps(out_dir):
    for name in os.listdir(out_dir):
        if ".tmp-" in name:
            try:
                os.remove(os.path.join(out_dir, name))
            except OSError:
                pass


def exit_with_parent():
    """The harness starts us in our own process group; if it dies (kill -9), nobody would stop us."""
    parent = os.getppid()

    def watch():
        while True:
            time.sleep(2)
            if os.getppid() != parent:
                os._exit(143)

    threading.Thread(target=watch, daemon=True).start()


# distribution name -> the module it is imported as
MODULES = {"huggingface-hub": "huggingface_hub", "pillow": "PIL", "invisible-watermark": "imwatermark"}


def version_of(package):
    """The version of what is imported: a source tree on PYTHONPATH has no distribution metadata (or another
    one than the code that runs), so an imported module's own __version__ wins over the installed metadata."""
    module = sys.modules.get(MODULES.get(package, package))
    version = getattr(module, "__version__", None) if module is not None else None
    if version:
        return str(version)
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def library_versions():
    return {package.replace("-", "_"): version_of(package) for package in LIBRARIES}


LIBRARIES = ("diffusers", "transformers", "peft", "accelerate", "safetensors", "huggingface-hub", "pillow", "numpy", "invisible-watermark")


def environment(torch, spec):
    env = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "torch_cuda_build": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "device": spec["device"],
        "dtype": spec["dtype"],
        "gpu": None,
    }
    env.update(library_versions())
    if spec["device"] == "cuda" and torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        env["gpu"] = {
            "name": props.name,
            "capability": f"{props.major}.{props.minor}",
            "memory_mb": round(props.total_memory / 2**20),
            "driver": nvidia_driver(),
        }
        env["torch_arch_list"] = torch.cuda.get_arch_list()
    return env


@functools.lru_cache(maxsize=None)
def nvidia_driver():
    """The driver version, asked of nvidia-smi once per process (every set of a batch records it)."""
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"], capture_output=True, text=True, timeout=10, check=True
        )
        return out.stdout.strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return None


def pipeline_key(spec):
    """What the loaded pipeline depends on; every set of one batch shares it (the harness makes them so)."""
    return (spec["model"]["path"], spec["vae"]["path"], spec["model_variant"], spec["device"], spec["dtype"])


class Pipelines:
    """One SDXL pipeline per process, loaded when a set first needs it; each set then only swaps LoRA weights."""

    def __init__(self, torch, diffusers):
        self.torch = torch
        self.diffusers = diffusers
        self.pipe = None
        self.key = None
        self.scheduler_config = None

    def get(self, spec):
        """(pipeline, whether it was loaded by this call)"""
        if self.pipe is not None and self.key == pipeline_key(spec):
            return self.pipe, False
        self.drop()
        self.pipe = load_pipeline(spec, self.torch, self.diffusers)
        self.key = pipeline_key(spec)
        # Each set's scheduler is built from the model's own config, as a fresh process would build it.
        self.scheduler_config = self.pipe.scheduler.config
        return self.pipe, True

    def drop(self):
        """After a failure inside a set nothing says the pipeline is clean: the next set loads a fresh one."""
        self.pipe = None
        self.key = None
        if hasattr(self.torch.cuda, "empty_cache") and self.torch.cuda.is_available():
            self.torch.cuda.empty_cache()


def load_pipeline(spec, torch, diffusers):
    dtype = torch.float16 if spec["dtype"] == "fp16" else torch.float32
    vae = diffusers.AutoencoderKL.from_pretrained(spec["vae"]["path"], torch_dtype=dtype, local_files_only=True)
    options = {"vae": vae, "torch_dtype": dtype, "use_safetensors": True, "local_files_only": True, "add_watermarker": False}
    if spec["model_variant"]:
        options["variant"] = spec["model_variant"]
    pipe = diffusers.StableDiffusionXLPipeline.from_pretrained(spec["model"]["path"], **options)
    pipe.to(spec["device"])
    pipe.set_progress_bar_config(disable=True)
    return pipe


def prepare_set(pipe, spec, scheduler_config, diffusers):
    """The set's scheduler and LoRA on the shared pipeline; returns whether a LoRA was loaded."""
    scheduler_class = getattr(diffusers, spec["scheduler"]["class"])
    pipe.scheduler = scheduler_class.from_config(scheduler_config, **spec["scheduler"]["config"])
    weights = spec["weights"]
    if weights["kind"] == "control":
        return False
    folder, name = os.path.split(weights["path"])
    pipe.load_lora_weights(folder, weight_name=name, adapter_name=spec["adapter_name"])
    # The scale is set once here, not also through cross_attention_kwargs (the two would multiply).
    pipe.set_adapters([spec["adapter_name"]], adapter_weights=[spec["lora_scale"]])
    return True


def batches(images, size):
    """Images of one prompt share a pipeline call (up to `size`); prompts never mix within a call."""
    group = []
    for image in images:
        if group and (len(group) == size or group[0]["prompt_id"] != image["prompt_id"]):
            yield group
            group = []
        group.append(image)
    if group:
        yield group


def read_job(path):
    """A set spec, or a batch `{"protocol", "sets": [<set spec path>, ...]}`: the sets of one run, one process."""
    with open(path, encoding="utf-8") as handle:
        job = json.load(handle)
    if "sets" not in job:
        return job, [job]
    specs = []
    for spec_path in job["sets"]:
        with open(spec_path, encoding="utf-8") as handle:
            specs.append(json.load(handle))
    return job, specs


def main(argv):
    if len(argv) != 2:
        log("usage: python/sample.py <sampler-spec.json | sampler-batch.json>")
        return 2
    job, specs = read_job(argv[1])
    for spec in [job, *specs]:
        if spec.get("protocol") != PROTOCOL:
            emit({"type": "error", "reason": "invalid_spec", "set_id": spec.get("set_id"), "message": f"spec protocol {spec.get('protocol')}, this script speaks {PROTOCOL}"})
            return 2
    exit_with_parent()

    import torch
    import diffusers

    pipelines = Pipelines(torch, diffusers)
    worst = 0
    for spec in specs:
        outcome = render_set(spec, torch, diffusers, pipelines)
        worst = max(worst, outcome)
    return worst


def render_set(spec, torch, diffusers, pipelines):
    """Renders what is missing of one set; a failure is told as an `error` event and fails only this set."""
    set_id = spec["set_id"]
    os.makedirs(spec["out_dir"], exist_ok=True)
    remove_stale_temps(spec["out_dir"])
    images = spec["images"]
    total = len(images)
    done = {image["file"] for image in images if already_done(spec, image)}

    env = environment(torch, spec)
    emit({"type": "start", "set_id": set_id, "total": total, "todo": total - len(done), "pid": os.getpid(), "env": env})
    for index, image in enumerate(images, start=1):
        if image["file"] in done:
            emit({"type": "image", "set_id": set_id, "file": image["file"], "prompt_id": image["prompt_id"], "seed": image["seed"],
                  "sha256": sha256_file(os.path.join(spec["out_dir"], image["file"])), "skipped": True, "index": index, "total": total})
    started = time.time()
    todo = [image for image in images if image["file"] not in done]
    if not todo:
        emit({"type": "end", "set_id": set_id, "rendered": 0, "skipped": len(done), "seconds": 0})
        return 0

    if spec["device"] == "cuda" and not torch.cuda.is_available():
        emit({"type": "error", "set_id": set_id, "reason": "invalid_spec", "message": "the spec asks for cuda but torch sees no CUDA device"})
        return 2
    weights = spec["weights"]
    if weights["kind"] != "control":
        actual = sha256_file(weights["path"])
        if actual != weights["sha256"]:
            emit({"type": "error", "set_id": set_id, "reason": "weights_mismatch", "message": f"{weights['path']} has sha256 {actual}, the spec says {weights['sha256']}"})
            return 1

    pipe, pipeline_loaded = pipelines.get(spec)
    env.update(library_versions())  # the pipeline has imported transformers, peft, …: record those modules
    lora = False
    try:
        lora = prepare_set(pipe, spec, pipelines.scheduler_config, diffusers)
        env["attention"] = sorted({type(p).__name__ for p in pipe.unet.attn_processors.values()})
        scheduler_resolved = dict(pipe.scheduler.config)
        emit({"type": "loaded", "set_id": set_id, "seconds": round(time.time() - started, 3), "pipeline_loaded": pipeline_loaded})
        end = render_images(spec, pipe, torch, images, todo, env, scheduler_resolved)
    except torch.cuda.OutOfMemoryError as error:
        emit({"type": "error", "set_id": set_id, "reason": "oom", "message": f"CUDA out of memory at batch size {spec['batch_size']}: {error}"})
        pipelines.drop()
        return 1
    except Exception as error:  # noqa: BLE001 - told as this set's failure; the next set gets a fresh pipeline
        traceback.print_exc()
        emit({"type": "error", "set_id": set_id, "reason": "crashed", "message": f"{type(error).__name__}: {error}"})
        pipelines.drop()
        return 1
    finally:
        if lora and pipelines.pipe is pipe:
            # Back to the bare base model, as a fresh load gives it: the next set (or the control) starts clean.
            try:
                pipe.unload_lora_weights()
            except Exception:  # noqa: BLE001 - this set is done; the next one gets a fresh pipeline
                traceback.print_exc()
                pipelines.drop()
    emit({**end, "set_id": set_id, "skipped": len(done), "seconds": round(time.time() - started, 3)})
    return 0


def render_images(spec, pipe, torch, images, todo, env, scheduler_resolved):
    position = {image["file"]: i for i, image in enumerate(images, start=1)}
    total = len(images)
    cuda = spec["device"] == "cuda"
    peak_mb = 0.0
    rendered = 0
    for group in batches(todo, spec["batch_size"]):
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        batch_started = time.time()
        # A fresh CPU generator per image: the latents depend on the seed alone, not on the batch or GPU.
        generators = [torch.Generator("cpu").manual_seed(image["seed"]) for image in group]
        with torch.inference_mode():
            output = pipe(
                prompt=[image["prompt"] for image in group],
                negative_prompt=[image["negative_prompt"] for image in group],
                num_inference_steps=spec["steps"],
                guidance_scale=spec["guidance_scale"],
                width=spec["width"],
                height=spec["height"],
                generator=generators,
                output_type="pil",
            )
        seconds = (time.time() - batch_started) / len(group)
        batch_peak = torch.cuda.max_memory_allocated() / 2**20 if cuda else None
        if batch_peak:
            peak_mb = max(peak_mb, batch_peak)
        for image, picture in zip(group, output.images):
            save(spec, image, picture, env, scheduler_resolved, len(group), seconds)
            rendered += 1
            event = {"type": "image", "set_id": spec["set_id"], "file": image["file"], "prompt_id": image["prompt_id"], "seed": image["seed"],
                     "sha256": sha256_file(os.path.join(spec["out_dir"], image["file"])), "skipped": False,
                     "index": position[image["file"]], "total": total, "seconds": round(seconds, 3)}
            if batch_peak:
                event["vram_peak_mb"] = round(batch_peak, 1)
            emit(event)
        del output
    end = {"type": "end", "rendered": rendered}
    if peak_mb:
        end["vram_peak_mb"] = round(peak_mb, 1)
    return end


def save(spec, image, picture, env, scheduler_resolved, batch_size, seconds):
    out_dir = spec["out_dir"]
    png = os.path.join(out_dir, image["file"])
    # No text chunks: the bytes depend on the pixels alone, the settings live in the sidecar.
    write_atomic(png, lambda handle: picture.save(handle, format="PNG"))
    sidecar = {
        "schemaVersion": SIDECAR_SCHEMA,
        "set_id": spec["set_id"],
        "run_id": spec["run_id"],
        "experiment": spec["experiment"],
        "file": image["file"],
        "sha256": sha256_file(png),
        "prompt_id": image["prompt_id"],
        "prompt": image["prompt"],
        "negative_prompt": image["negative_prompt"],
        "seed": image["seed"],
        "generator": "torch.Generator('cpu').manual_seed(seed)",
        "steps": spec["steps"],
        "guidance_scale": spec["guidance_scale"],
        "scheduler": {**spec["scheduler"], "resolved": scheduler_resolved},
        "width": spec["width"],
        "height": spec["height"],
        "lora_scale": spec["lora_scale"],
        "batch_size": batch_size,
        "weights": spec["weights"],
        "model": spec["model"],
        "vae": spec["vae"],
        "model_variant": spec["model_variant"],
        "device": spec["device"],
        "dtype": spec["dtype"],
        "watermark": False,
        "env": env,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds": round(seconds, 3),
    }
    text = json.dumps(sidecar, indent=2, default=str) + "\n"
    write_atomic(os.path.join(out_dir, image["sidecar"]), lambda handle: handle.write(text.encode("utf-8")))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
