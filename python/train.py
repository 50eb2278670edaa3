#!/usr/bin/env python3
"""Thin training wrapper (DESIGN.md §5): python/train.py <run>/spec.json

Installs a metrics tap on accelerate's Accelerator.log/save_state and on diffusers' LoRA save, then runs the
unmodified diffusers script in-process with the argv from the spec. Everything is decided in the spec; this
file only observes and reports, as JSON lines appended to the spec's events file:

  start · metric (one per optimizer step) · checkpoint (a complete checkpoint-N) · weights_saved · end

Exit codes: 0 success, 1 the script failed, 2 bad spec, 65 stopped on a non-finite loss, 130 interrupted
(SIGINT), 143 terminated (SIGTERM) or orphaned.
"""
import json
import math
import os
import re
import runpy
import signal
import sys
import threading
import time
import traceback

EVENT_VERSION = 1
VERSIONED_PACKAGES = [
    "torch", "torchvision", "diffusers", "transformers", "accelerate", "peft", "bitsandbytes", "datasets",
    "safetensors", "huggingface-hub", "tokenizers", "pillow", "numpy", "tqdm", "tensorboard",
]
MODULE_NAMES = {"huggingface-hub": "huggingface_hub", "pillow": "PIL"}
MB = 1024 * 1024


class StopAfterSave(BaseException):
    """Ends the script once the LoRA is saved, before its full-pipeline reload (which OOMs small machines)."""


class NonFiniteLoss(BaseException):
    def __init__(self, step):
        super().__init__(f"non-finite loss at step {step}")
        self.step = step


class Terminated(BaseException):
    """SIGTERM, turned into an exception so the end event is still written."""


def finite(value):
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return value if math.isfinite(value) else None
    try:  # a 0-d tensor or numpy scalar
        return finite(float(value))
    except (TypeError, ValueError):
        return None


class EventWriter:
    """One write(2) per line on an O_APPEND descriptor: lines never interleave and survive a crash."""

    def __init__(self, path, enabled=True):
        self.enabled = enabled
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644) if enabled else None
        self.lock = threading.Lock()

    def emit(self, kind, durable=False, **fields):
        if not self.enabled:
            return
        event = {"v": EVENT_VERSION, "type": kind, "t": round(time.time(), 3)}
        event.update(fields)
        line = (json.dumps(event, allow_nan=False, separators=(",", ":")) + "\n").encode("utf-8")
        with self.lock:
            os.write(self.fd, line)
            if durable:
                os.fsync(self.fd)


def package_versions():
    from importlib import metadata

    versions = {}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            module = sys.modules.get(MODULE_NAMES.get(name, name))  # imported but not pip-installed
            versions[name] = getattr(module, "__version__", None) if module else None
    return versions


def cuda_memory():
    """Current/peak VRAM of this process in MB, or None without a CUDA torch (torch is imported by the script)."""
    torch = sys.modules.get("torch")
    try:
        if torch is None or not torch.cuda.is_available():
            return None
        return {
            "alloc": round(torch.cuda.memory_allocated() / MB, 1),
            "reserved": round(torch.cuda.memory_reserved() / MB, 1),
            "peak": round(torch.cuda.max_memory_allocated() / MB, 1),
            "peak_reserved": round(torch.cuda.max_memory_reserved() / MB, 1),
        }
    except Exception:  # a broken CUDA context must not stop the run from reporting
        return None


class Tap:
    def __init__(self, events, trainer):
        self.events = events
        self.output_dir = os.path.realpath(trainer["outputDir"])
        self.stop_after_save = bool(trainer.get("stopAfterSave", True))
        self.stop_on_nan = bool(trainer.get("stopOnNan", True))
        self.last_step = int(trainer.get("resumeStep") or 0)
        self.saving_state = 0
        self.weights_saved = False
        self.accelerator = None
        self.started = time.time()

    # accelerate.Accelerator.log: called every dataloader step with step=global_step; under gradient
    # accumulation the same step repeats, so only the first call for a new step is an optimizer step.
    def on_log(self, accelerator, values, step):
        self.accelerator = accelerator
        if step is None or not isinstance(values, dict):
            return
        step = int(step)
        if step <= self.last_step:
            return
        self.last_step = step
        raw_loss = values.get("loss")
        loss = finite(raw_loss)
        memory = cuda_memory() or {}
        fields = {
            "step": step,
            "loss": loss,
            "lr": finite(values.get("lr")),
            "vram_alloc_mb": memory.get("alloc"),
            "vram_reserved_mb": memory.get("reserved"),
            "vram_peak_mb": memory.get("peak"),
        }
        nonfinite = loss is None and raw_loss is not None
        if nonfinite:
            fields["loss_nonfinite"] = str(float(raw_loss))
        self.events.emit("metric", **fields)
        if nonfinite and self.stop_on_nan:
            raise NonFiniteLoss(step)

    def on_checkpoint(self, folder):
        if folder is None:
            return
        match = re.search(r"checkpoint-(\d+)$", os.path.normpath(str(folder)))
        step = int(match.group(1)) if match else self.last_step
        self.events.emit("checkpoint", durable=True, step=step, path=os.path.realpath(str(folder)))

    def on_lora_saved(self, directory, weight_name, safe):
        # The save hook inside save_state writes the LoRA of a checkpoint too: only the final save counts.
        if self.saving_state or directory is None:
            return
        if os.path.realpath(str(directory)) != self.output_dir:
            return
        name = weight_name or ("pytorch_lora_weights.safetensors" if safe else "pytorch_lora_weights.bin")
        path = os.path.join(os.path.realpath(str(directory)), name)
        size = os.path.getsize(path) if os.path.exists(path) else None
        self.weights_saved = True
        self.events.emit("weights_saved", durable=True, step=self.last_step, path=path, bytes=size)

    def before_reload(self):
        if self.weights_saved and self.stop_after_save:
            if self.accelerator is not None:
                try:
                    self.accelerator.end_training()  # flush trackers (TensorBoard) before leaving early
                except Exception:
                    pass
            raise StopAfterSave()


def install(tap):
    import accelerate

    accelerator_cls = accelerate.Accelerator
    original_log = accelerator_cls.log
    original_save_state = accelerator_cls.save_state

    def log(self, values, step=None, *args, **kwargs):
        result = original_log(self, values, step, *args, **kwargs)
        tap.on_log(self, values, step)
        return result

    def save_state(self, output_dir=None, *args, **kwargs):
        tap.saving_state += 1
        try:
            result = original_save_state(self, output_dir, *args, **kwargs)
        finally:
            tap.saving_state -= 1
        tap.on_checkpoint(output_dir)  # only reached once the folder is complete
        return result

    accelerator_cls.log = log
    accelerator_cls.save_state = save_state

    import diffusers

    pipeline_cls = diffusers.StableDiffusionXLPipeline
    wrap_classmethod(pipeline_cls, "save_lora_weights", after=lambda args, kwargs: tap.on_lora_saved(
        kwargs.get("save_directory", args[0] if args else None),
        kwargs.get("weight_name"),
        kwargs.get("safe_serialization", True),
    ))
    # The script's final reload starts with these loads; leaving there skips it once the weights are safe.
    wrap_classmethod(diffusers.AutoencoderKL, "from_pretrained", before=lambda args, kwargs: tap.before_reload())
    wrap_classmethod(pipeline_cls, "from_pretrained", before=lambda args, kwargs: tap.before_reload())


def wrap_classmethod(cls, name, before=None, after=None):
    owner = next((c for c in cls.__mro__ if name in c.__dict__), None)
    if owner is None:
        raise RuntimeError(f"{cls.__name__}.{name} not found: the tap does not fit this diffusers version")
    descriptor = owner.__dict__[name]
    function = descriptor.__func__ if isinstance(descriptor, classmethod) else descriptor

    def wrapped(klass, *args, **kwargs):
        if before:
            before(args, kwargs)
        result = function(klass, *args, **kwargs)
        if after:
            after(args, kwargs)
        return result

    wrapped.__wrapped__ = function
    setattr(owner, name, classmethod(wrapped))


def watch_parent(on_orphan):
    """The harness may die without a word (kill -9): then this process, and its group, must not go on."""
    original_parent = os.getppid()
    watched = int(os.environ.get("HARNESS_PARENT_PID") or original_parent)

    def alive():
        if watched == original_parent and os.getppid() != original_parent:
            return False
        try:
            os.kill(watched, 0)
            return True
        except ProcessLookupError:
            return False
        except PermissionError:
            return True

    def loop():
        while True:
            time.sleep(1.0)
            if not alive():
                on_orphan()
                return

    threading.Thread(target=loop, name="harness-parent-watch", daemon=True).start()


def is_main_rank():
    return os.environ.get("RANK", "0") in ("", "0") and os.environ.get("LOCAL_RANK", "0") in ("", "0", "-1")


def end_fields(tap, started):
    memory = cuda_memory() or {}
    return {
        "step": tap.last_step if tap else None,
        "wall_s": round(time.time() - started, 3),
        "peak_vram_mb": memory.get("peak"),
        "peak_vram_reserved_mb": memory.get("peak_reserved"),
    }


def is_oom(error):
    names = {cls.__name__ for cls in type(error).__mro__}
    text = str(error)
    return bool(
        names & {"OutOfMemoryError", "MemoryError"}
        or "CUDA out of memory" in text
        or "CUBLAS_STATUS_ALLOC_FAILED" in text
    )


def main(argv):
    if len(argv) != 2:
        print("usage: python train.py <run>/spec.json", file=sys.stderr)
        return 2
    started = time.time()
    with open(argv[1], encoding="utf-8") as handle:
        spec = json.load(handle)
    trainer = spec["trainer"]
    script = trainer["script"]
    events = EventWriter(trainer["events"], enabled=is_main_rank())
    tap = Tap(events, trainer)

    def orphaned():
        events.emit("end", durable=True, status="interrupted", reason="parent_died", **end_fields(tap, started))
        if os.environ.get("HARNESS_OWN_GROUP") == "1":
            os.killpg(os.getpgrp(), signal.SIGTERM)
        os._exit(143)

    stopping = []

    def on_signal(signum, frame):
        # Only the first signal stops the script. Under SLURM both slurmd and the harness signal this process
        # within milliseconds; a second exception raised while the first is being handled would skip the
        # end event (seen: a SIGINT landing on the line that was about to ignore it).
        if stopping:
            return
        stopping.append(signum)
        raise KeyboardInterrupt() if signum == signal.SIGINT else Terminated()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    watch_parent(orphaned)
    install(tap)
    events.emit(
        "start",
        durable=True,
        pid=os.getpid(),
        attempt=trainer.get("attempt"),
        resume_from=trainer.get("resumeFrom"),
        script=script,
        script_sha256=trainer.get("scriptSha256"),
        python=sys.version.split()[0],
        versions=package_versions(),
    )

    sys.argv = [script, *trainer["argv"]]
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    status, code, error = "success", 0, None
    try:
        runpy.run_path(script, run_name="__main__")
    except StopAfterSave:
        status = "success"
    except NonFiniteLoss as stop:
        status, code = "nan_loss", 65
        print(f"harness: stopping: {stop}", file=sys.stderr)
    except KeyboardInterrupt:
        status, code = "interrupted", 130
    except Terminated:
        status, code = "interrupted", 143
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        status = "success" if code == 0 else "error"
        if isinstance(exit_.code, str):
            print(exit_.code, file=sys.stderr)
    except BaseException as failure:  # noqa: B902 - every failure is reported, then the exit code says it
        traceback.print_exc()
        status, code = ("oom" if is_oom(failure) else "error"), 1
        error = {"type": type(failure).__name__, "message": str(failure)[:2000]}
    # Stopping now: from here on no signal may cut the end event short (on_signal raises only while
    # `stopping` is empty).
    stopping.append("ending")
    fields = end_fields(tap, started)
    fields["skipped_reload"] = tap.weights_saved and tap.stop_after_save and status == "success"
    if error:
        fields["error"] = error
    events.emit("end", durable=True, status=status, exit_code=code, **fields)
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown (CUDA context, loader threads): everything worth keeping is on disk.
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
