"""What the GPU device check asserts, as pure functions over a run's files (standard library only, so they
are dry-run here by selftest.py without torch). Each function appends Results; none raises on bad data."""
import json
import math
import os
import re
import struct

# python/train.py's checkpoint completeness, as harness/train/resume.ts requires it
CHECKPOINT_FILES = ["pytorch_lora_weights.safetensors", "optimizer.bin", "scheduler.bin", "random_states_0.pkl"]
DOWN = re.compile(r"\.(lora\.down|lora_A|lora_down|lora_linear_layer\.down)\.weight$")
UP = re.compile(r"\.(lora\.up|lora_B|lora_up|lora_linear_layer\.up)\.weight$")


class Results:
    def __init__(self):
        self.rows = []  # (name, ok, detail)

    def check(self, name, ok, detail=""):
        self.rows.append((name, bool(ok), str(detail)))
        return bool(ok)

    def guard(self, name, fn):
        """Runs one check function; a crash in it is a FAIL of that check, never of the whole script."""
        try:
            fn()
        except Exception as error:  # noqa: BLE001 - reported as a failed check
            self.check(name, False, f"check crashed: {type(error).__name__}: {error}")

    @property
    def failed(self):
        return [row for row in self.rows if not row[1]]

    def lines(self):
        return [f"{'PASS' if ok else 'FAIL'} {name}: {detail}" for name, ok, detail in self.rows]


def read_events(path):
    events, bad = [], 0
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if not line.strip():
                    continue
                try:
                    events.append(json.loads(line))
                except ValueError:
                    bad += 1
    except OSError:
        return None, 0
    return events, bad


def last_attempt(events):
    """The events of the newest attempt: everything after the last start event."""
    starts = [i for i, e in enumerate(events) if e.get("type") == "start"]
    return events[starts[-1]:] if starts else []


def positive(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def finite(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def read_safetensors_header(path):
    with open(path, "rb") as handle:
        raw = handle.read(8)
        if len(raw) != 8:
            raise ValueError("shorter than the 8-byte header length")
        (length,) = struct.unpack("<Q", raw)
        if length <= 0 or length > 100 * 1024 * 1024:
            raise ValueError(f"implausible header length {length}")
        header = json.loads(handle.read(length).decode("utf-8"))
    size = os.path.getsize(path)
    end = max((t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"), default=0)
    if 8 + length + end != size:
        raise ValueError(f"file is {size} bytes, the header says {8 + length + end}")
    return header


def lora_problems(path, rank):
    """The harness's LoRA file check in short: paired down/up matrices of `rank`, all under `unet.`."""
    header = read_safetensors_header(path)
    tensors = {k: v for k, v in header.items() if k != "__metadata__"}
    downs = {DOWN.sub("", k): v for k, v in tensors.items() if DOWN.search(k)}
    ups = {UP.sub("", k): v for k, v in tensors.items() if UP.search(k)}
    problems = []
    if not downs:
        problems.append(f"no LoRA down matrices among {len(tensors)} tensors")
    for module, down in downs.items():
        up = ups.get(module)
        if up is None:
            problems.append(f"{module}: no up matrix")
        elif down["shape"][0] != rank or up["shape"][1] != rank:
            problems.append(f"{module}: rank {down['shape'][0]}/{up['shape'][1]}, expected {rank}")
        if not module.startswith("unet."):
            problems.append(f"{module}: not under unet.")
    return problems, len(tensors)


def check_start(r, name, events, expected_versions, attempt=1, resume_from=None, require=("torch", "accelerate", "peft")):
    starts = [e for e in events if e.get("type") == "start"]
    if not r.check(f"{name}.start", starts, f"{len(starts)} start events"):
        return
    start = starts[-1]
    versions = start.get("versions") or {}
    wrong = {k: (versions.get(k), v) for k, v in expected_versions.items() if v is not None and versions.get(k) != v}
    shown = {k: versions.get(k) for k in ("torch", "accelerate", "peft", "safetensors", "diffusers", "transformers")}
    r.check(f"{name}.start.versions", all(versions.get(k) for k in require) and not wrong,
            f"{shown}" + (f"; differ from the installed (event, installed): {wrong}" if wrong else ""))
    r.check(f"{name}.start.attempt", start.get("attempt") == attempt and start.get("resume_from") == resume_from,
            f"attempt={start.get('attempt')} resume_from={start.get('resume_from')} (expected {attempt}, {resume_from})")


def check_metrics(r, name, events, first, last, nan_step=None):
    metrics = [e for e in events if e.get("type") == "metric"]
    steps = [e.get("step") for e in metrics]
    r.check(f"{name}.metrics.steps", steps == list(range(first, last + 1)), f"steps {steps}, expected {first}..{last} once each")
    good = [e for e in metrics if e.get("step") != nan_step]
    bad_loss = [e.get("step") for e in good if not finite(e.get("loss")) or not finite(e.get("lr"))]
    r.check(f"{name}.metrics.loss", metrics and not bad_loss,
            f"losses {[round(e['loss'], 5) if finite(e.get('loss')) else e.get('loss') for e in metrics]}"
            + (f"; non-finite loss/lr at {bad_loss}" if bad_loss else ""))
    no_vram = [e.get("step") for e in metrics if not positive(e.get("vram_alloc_mb")) or not positive(e.get("vram_peak_mb"))]
    r.check(f"{name}.metrics.vram", metrics and not no_vram,
            f"vram_alloc_mb {[e.get('vram_alloc_mb') for e in metrics]} vram_peak_mb {[e.get('vram_peak_mb') for e in metrics]}"
            + (f"; null/zero at steps {no_vram}" if no_vram else ""))
    if nan_step is not None:
        hit = [e for e in metrics if e.get("step") == nan_step]
        r.check(f"{name}.metrics.nan", hit and hit[0].get("loss") is None and hit[0].get("loss_nonfinite") == "nan",
                f"step {nan_step} event: {hit[0] if hit else None}")


def check_checkpoints(r, name, events, expected_steps, mixed_precision, rank):
    cps = [e for e in events if e.get("type") == "checkpoint"]
    steps = [e.get("step") for e in cps]
    r.check(f"{name}.checkpoints.events", steps == expected_steps, f"checkpoint events at {steps}, expected {expected_steps}")
    required = CHECKPOINT_FILES + (["scaler.pt"] if mixed_precision == "fp16" else [])
    for event in cps:
        path = event.get("path") or ""
        label = f"{name}.checkpoint-{event.get('step')}"
        try:
            listing = sorted(os.listdir(path))
        except OSError as error:
            r.check(label, False, f"{path}: {error}")
            continue
        sizes = {n: os.path.getsize(os.path.join(path, n)) for n in listing if os.path.isfile(os.path.join(path, n))}
        missing = [n for n in required if not sizes.get(n)]
        problems = list(missing and [f"missing/empty: {missing}"])
        if not os.path.basename(path) == f"checkpoint-{event.get('step')}":
            problems.append(f"folder name {os.path.basename(path)} does not match step {event.get('step')}")
        if "pytorch_lora_weights.safetensors" in sizes:
            try:
                lora, _ = lora_problems(os.path.join(path, "pytorch_lora_weights.safetensors"), rank)
                problems += lora
            except Exception as error:  # noqa: BLE001
                problems.append(f"LoRA file unreadable: {error}")
        extra = "; model.safetensors present (the pre-hook did not keep the model out)" if "model.safetensors" in sizes else ""
        r.check(label, not problems, f"files {sizes}" + (f"; {problems}" if problems else "") + extra)


def check_weights(r, name, events, output_dir, rank, expect_saved=True):
    saved = [e for e in events if e.get("type") == "weights_saved"]
    if not expect_saved:
        r.check(f"{name}.weights_saved", not saved, f"{len(saved)} weights_saved events (expected none)")
        return
    if not r.check(f"{name}.weights_saved", len(saved) == 1, f"{len(saved)} weights_saved events (expected 1): {saved}"):
        return
    event = saved[0]
    path = event.get("path") or ""
    expected_path = os.path.join(os.path.realpath(output_dir), "pytorch_lora_weights.safetensors")
    actual = os.path.getsize(path) if os.path.isfile(path) else None
    r.check(f"{name}.weights_saved.bytes", positive(event.get("bytes")) and event.get("bytes") == actual and path == expected_path,
            f"bytes={event.get('bytes')} on disk={actual} step={event.get('step')} path={path}")
    try:
        problems, tensors = lora_problems(path, rank)
        r.check(f"{name}.weights_saved.lora", not problems, f"{tensors} tensors, rank {rank}" + (f"; {problems}" if problems else ""))
    except Exception as error:  # noqa: BLE001
        r.check(f"{name}.weights_saved.lora", False, f"unreadable: {error}")


def check_end(r, name, events, status, exit_code, returncode, error_type=None):
    ends = [e for e in events if e.get("type") == "end"]
    if not r.check(f"{name}.end", len(ends) == 1 and events and events[-1].get("type") == "end",
                   f"{len(ends)} end events in this attempt; process exit {returncode}"):
        return
    end = ends[0]
    r.check(f"{name}.end.status", end.get("status") == status and end.get("exit_code") == exit_code and returncode == exit_code,
            f"status={end.get('status')} exit_code={end.get('exit_code')} process rc={returncode} (expected {status}/{exit_code})"
            + (f" error={end.get('error')}" if end.get("error") else ""))
    r.check(f"{name}.end.peak_vram", positive(end.get("peak_vram_mb")),
            f"peak_vram_mb={end.get('peak_vram_mb')} peak_vram_reserved_mb={end.get('peak_vram_reserved_mb')} wall_s={end.get('wall_s')}")
    if status == "success":
        r.check(f"{name}.end.skipped_reload", end.get("skipped_reload") is True, f"skipped_reload={end.get('skipped_reload')}")
    if error_type:
        got = (end.get("error") or {}).get("type")
        r.check(f"{name}.end.error", got == error_type, f"error type {got} (expected {error_type})")


def tiny_states(log_path):
    states = []
    try:
        with open(log_path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                at = line.find("TINY_STATE ")
                if at >= 0:
                    try:
                        states.append(json.loads(line[at + len("TINY_STATE "):]))
                    except ValueError:
                        pass
    except OSError:
        pass
    return states


def check_restored(r, name, saved_log, resumed_log, checkpoint):
    """load_state must restore exactly what save_state wrote for that checkpoint."""
    saved = [s for s in tiny_states(saved_log) if s.get("phase") == "saved" and s.get("dir") == checkpoint]
    loaded = [s for s in tiny_states(resumed_log) if s.get("phase") == "loaded" and s.get("dir") == checkpoint]
    if not r.check(f"{name}.restored.found", saved and loaded, f"saved {len(saved)}, loaded {len(loaded)} TINY_STATE lines for {checkpoint}"):
        return
    a, b = saved[-1], loaded[-1]
    diffs = []
    for key in ("lora_sum", "sched_last_epoch", "opt_step", "scaler_scale"):
        x, y = a.get(key), b.get(key)
        same = x == y or (finite(x) and finite(y) and abs(x - y) <= 1e-9 * max(1.0, abs(x)))
        if not same:
            diffs.append(f"{key} saved {x} loaded {y}")
    r.check(f"{name}.restored.state", not diffs and positive(a.get("lora_sum")),
            f"saved {a} loaded {b}" + (f"; differ: {diffs}" if diffs else ""))


def check_envinfo(r, report):
    torch = report.get("torch") or {}
    gpus = report.get("gpus") or []
    r.check("envinfo.cuda", torch.get("cuda_available") is True and torch.get("device_count", 0) >= 1,
            f"torch {torch.get('version')} cuda {torch.get('cuda')} cudnn {torch.get('cudnn')} available={torch.get('cuda_available')} "
            f"devices={torch.get('device_count')} arch_list={torch.get('arch_list')}")
    if not r.check("envinfo.gpus", gpus, f"{len(gpus)} GPUs"):
        return
    gpu = gpus[0]
    r.check("envinfo.gpu0", gpu.get("name") and re.match(r"^\d+\.\d+$", str(gpu.get("capability"))) and positive(gpu.get("memory_mb")),
            f"name={gpu.get('name')} capability={gpu.get('capability')} memory_mb={gpu.get('memory_mb')}")
    r.check("envinfo.driver", bool(gpu.get("driver")), f"driver={gpu.get('driver')} (from nvidia-smi)")
    packages = report.get("packages") or {}
    r.check("envinfo.packages", packages.get("torch") and packages.get("accelerate") and packages.get("peft"),
            f"{ {k: packages.get(k) for k in ('torch', 'accelerate', 'peft', 'transformers', 'safetensors', 'diffusers', 'bitsandbytes')} }")
    r.check("envinfo.errors", not report.get("errors"), f"errors={report.get('errors')}")
