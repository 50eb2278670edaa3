#!/usr/bin/env python3
"""Dry run of the GPU check's own logic on a machine without torch (standard library only):

1. the check functions on hand-made events: a good run passes, each kind of bad run fails;
2. the spec run_checks.py builds, fed to the real python/train.py with the CPU fixture trainer
   (tests/fixtures/trainer, fake torch/accelerate/diffusers on PYTHONPATH), direct and resumed, and the
   resulting events judged by the same check functions (VRAM and versions come from the fixtures).

usage: python3 tests/gpu/selftest.py      exit 0 when every expectation holds
"""
import json
import os
import shutil
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checks  # noqa: E402
import run_checks  # noqa: E402

FIXTURE = os.path.join(run_checks.REPO, "tests", "fixtures", "trainer")
problems = []


def expect(label, results, passes):
    ok = not results.failed
    if ok != passes:
        problems.append(f"{label}: expected {'PASS' if passes else 'FAIL'}, got:\n  " + "\n  ".join(results.lines()))


def write_lora(path, rank, prefix="unet."):
    tensors = {f"{prefix}blocks.0.to_q.lora_A.weight": [rank, 16], f"{prefix}blocks.0.to_q.lora_B.weight": [16, rank]}
    header, offset = {}, 0
    for name, shape in tensors.items():
        size = shape[0] * shape[1] * 4
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header).encode()
    with open(path, "wb") as handle:
        handle.write(struct.pack("<Q", len(raw)) + raw + b"\0" * offset)


def synthetic(tmp):
    out = os.path.join(tmp, "out")
    os.makedirs(out)
    events = [{"type": "start", "attempt": 1, "resume_from": None, "versions": {"torch": "2.11.0", "accelerate": "1.15.0", "peft": "0.18.0"}}]
    for step in (1, 2):
        events.append({"type": "metric", "step": step, "loss": 0.5, "lr": 1e-3, "vram_alloc_mb": 20.1, "vram_peak_mb": 30.2})
        if step == 2:
            cp = os.path.join(out, "checkpoint-2")
            os.makedirs(cp)
            for name in checks.CHECKPOINT_FILES[1:] + ["scaler.pt"]:
                with open(os.path.join(cp, name), "wb") as handle:
                    handle.write(b"x")
            write_lora(os.path.join(cp, "pytorch_lora_weights.safetensors"), 4)
            events.append({"type": "checkpoint", "step": 2, "path": cp})
    weights = os.path.join(out, "pytorch_lora_weights.safetensors")
    write_lora(weights, 4)
    events.append({"type": "weights_saved", "step": 2, "path": weights, "bytes": os.path.getsize(weights)})
    events.append({"type": "end", "status": "success", "exit_code": 0, "peak_vram_mb": 30.2, "skipped_reload": True})
    return out, events


def judge(events, out, rc=0, status="success", versions=None):
    r = checks.Results()
    checks.check_start(r, "t", events, versions or {"torch": "2.11.0", "accelerate": "1.15.0"})
    checks.check_metrics(r, "t", events, 1, 2)
    checks.check_checkpoints(r, "t", events, [2], "fp16", 4)
    checks.check_weights(r, "t", events, out, 4)
    checks.check_end(r, "t", events, status, 0, rc)
    return r


def unit(tmp):
    out, good = synthetic(tmp)
    expect("good run", judge(good, out), True)
    mutations = {
        "null vram": lambda e: [dict(x, vram_alloc_mb=None) if x["type"] == "metric" else x for x in e],
        "missing step": lambda e: [x for x in e if not (x["type"] == "metric" and x["step"] == 1)],
        "duplicate step": lambda e: e[:2] + e[1:],
        "nan loss": lambda e: [dict(x, loss=None) if x["type"] == "metric" else x for x in e],
        "no end": lambda e: e[:-1],
        "error end": lambda e: e[:-1] + [dict(e[-1], status="error", exit_code=1)],
        "reload not skipped": lambda e: e[:-1] + [dict(e[-1], skipped_reload=False)],
        "no checkpoint": lambda e: [x for x in e if x["type"] != "checkpoint"],
        "zero bytes": lambda e: [dict(x, bytes=0) if x["type"] == "weights_saved" else x for x in e],
        "wrong torch": lambda e: [dict(x, versions={"torch": "1.0", "accelerate": "1.15.0", "peft": "0.18.0"}) if x["type"] == "start" else x for x in e],
    }
    for label, mutate in mutations.items():
        expect(label, judge(mutate(list(good)), out), False)
    expect("process rc differs", judge(good, out, rc=1), False)
    os.remove(os.path.join(out, "checkpoint-2", "scaler.pt"))
    expect("fp16 checkpoint without scaler.pt", judge(good, out), False)
    write_lora(os.path.join(out, "pytorch_lora_weights.safetensors"), 8)
    expect("wrong rank", judge(good, out), False)

    r = checks.Results()
    checks.check_metrics(r, "n", [{"type": "metric", "step": 1, "loss": 1.0, "lr": 1e-3, "vram_alloc_mb": 1, "vram_peak_mb": 1},
                                  {"type": "metric", "step": 2, "loss": None, "lr": 1e-3, "vram_alloc_mb": 1, "vram_peak_mb": 1, "loss_nonfinite": "nan"}], 1, 2, nan_step=2)
    expect("nan at the expected step", r, True)
    r = checks.Results()
    checks.check_envinfo(r, {"torch": {"cuda_available": True, "device_count": 1}, "gpus": [{"name": "NVIDIA H100 80GB HBM3", "capability": "9.0", "memory_mb": 81559, "driver": "580.1"}],
                             "packages": {"torch": "2.11.0", "accelerate": "1.15.0", "peft": "0.18.0"}, "errors": []})
    expect("envinfo on a GPU", r, True)
    r = checks.Results()
    checks.check_envinfo(r, {"torch": None, "gpus": [], "packages": {}, "errors": []})
    expect("envinfo without torch", r, False)
    r = checks.Results()
    r.guard("crash", lambda: 1 / 0)
    expect("a crashing check is a FAIL", r, False)

    log_a, log_b = os.path.join(tmp, "a.log"), os.path.join(tmp, "b.log")
    with open(log_a, "w") as handle:
        handle.write('noise\nTINY_STATE {"phase": "saved", "dir": "checkpoint-4", "lora_sum": 12.5, "sched_last_epoch": 4, "opt_step": 4.0, "scaler_scale": 32768.0}\n')
    with open(log_b, "w") as handle:
        handle.write('TINY_STATE {"phase": "loaded", "dir": "checkpoint-4", "lora_sum": 12.5, "sched_last_epoch": 4, "opt_step": 4.0, "scaler_scale": 32768.0}\n')
    r = checks.Results()
    checks.check_restored(r, "x", log_a, log_b, "checkpoint-4")
    expect("restored state equal", r, True)
    with open(log_b, "w") as handle:
        handle.write('TINY_STATE {"phase": "loaded", "dir": "checkpoint-4", "lora_sum": 11.0, "sched_last_epoch": 4, "opt_step": 4.0, "scaler_scale": 32768.0}\n')
    r = checks.Results()
    checks.check_restored(r, "x", log_a, log_b, "checkpoint-4")
    expect("restored state differs", r, False)


def fixture_flow(tmp):
    """The driver's spec + Run + resume rewrite against the real python/train.py, CPU fixture trainer."""
    model = os.path.join(tmp, "model")
    dataset = os.path.join(tmp, "dataset")
    os.makedirs(model)
    os.makedirs(dataset)
    with open(os.path.join(dataset, "metadata.jsonl"), "w") as handle:
        for i in range(4):
            handle.write(json.dumps({"file_name": f"{i}.png", "text": "tok boy"}) + "\n")
    run_checks.SCRIPT = os.path.join(FIXTURE, "train_dreambooth_lora_sdxl.py")
    env = {"PYTHONPATH": os.path.join(FIXTURE, "site")}

    def argv(steps):
        return ["--pretrained_model_name_or_path", model, "--dataset_name", dataset, "--instance_prompt", "tok boy", "--output_dir", None,
                "--max_train_steps", str(steps), "--checkpointing_steps", "2", "--rank", "4", "--mixed_precision", "fp16",
                "--train_batch_size", "1", "--report_to", "tensorboard"]

    work = os.path.join(tmp, "work")
    settings = {"mixed_precision": "fp16"}
    direct = run_checks.Run(work, "direct", argv(6), settings, env=env).start().wait(time.time() + 60)
    r = checks.Results()
    events = direct.attempt_events(r)
    if events is not None:
        checks.check_start(r, "direct", events, {"accelerate": "1.15.0+fixture"}, require=("accelerate", "diffusers"))
        checks.check_metrics(r, "direct", events, 1, 6)
        checks.check_checkpoints(r, "direct", events, [2, 4, 6], "fp16", 4)
        checks.check_weights(r, "direct", events, direct.output_dir, 4)
        checks.check_end(r, "direct", events, "success", 0, direct.returncode)
    expect("fixture direct run through build_spec", r, True)

    checkpoint = os.path.join(direct.output_dir, "checkpoint-4")
    events_file = os.path.join(work, "resume-events.jsonl")
    shutil.copyfile(direct.events, events_file)
    run_checks.rewrite_events_for_resume(events_file, 4, checkpoint, 2)
    resume_argv = [direct.output_dir if a is None else a for a in argv(6)]
    resumed = run_checks.Run(work, "resume", resume_argv, settings, env=env, output_dir=direct.output_dir, events=events_file,
                             attempt=2, resume_from=checkpoint, resume_step=4).start().wait(time.time() + 60)
    r = checks.Results()
    events = resumed.attempt_events(r)
    if events is not None:
        checks.check_start(r, "resume", events, {}, attempt=2, resume_from=checkpoint, require=("accelerate",))
        checks.check_metrics(r, "resume", events, 5, 6)
        checks.check_checkpoints(r, "resume", events, [6], "fp16", 4)
        checks.check_end(r, "resume", events, "success", 0, resumed.returncode)
    whole, _ = checks.read_events(events_file)
    steps = [e["step"] for e in whole if e["type"] == "metric"]
    r.check("resume.events_file", steps == [1, 2, 3, 4, 5, 6], steps)
    expect("fixture resumed run", r, True)

    nan = run_checks.Run(work, "nan", argv(6), settings, env=dict(env, FIXTURE_NAN_AT="3")).start().wait(time.time() + 60)
    r = checks.Results()
    events = nan.attempt_events(r)
    if events is not None:
        checks.check_metrics(r, "nan", events, 1, 3, nan_step=3)
        checks.check_end(r, "nan", events, "nan_loss", 65, nan.returncode)
    expect("fixture NaN run", r, True)

    oom = run_checks.Run(work, "oom", argv(6), settings, env=dict(env, FIXTURE_OOM_AT="2")).start().wait(time.time() + 60)
    r = checks.Results()
    events = oom.attempt_events(r)
    if events is not None:
        checks.check_metrics(r, "oom", events, 1, 1)
        checks.check_end(r, "oom", events, "oom", 1, oom.returncode, error_type="OutOfMemoryError")
    expect("fixture OOM run", r, True)

    with open(direct.spec) as handle:
        spec = json.load(handle)
    trainer = spec["trainer"]
    keys = {"script", "scriptSha256", "scriptPinned", "argv", "outputDir", "events", "attempt", "resumeFrom", "resumeStep", "stopAfterSave", "stopOnNan"}
    if set(trainer) != keys or None in trainer["argv"]:
        problems.append(f"spec trainer keys/argv wrong: {sorted(trainer)} {trainer['argv']}")
    yaml = run_checks.accelerate_config_yaml(1, "fp16")
    if "distributed_type: NO" not in yaml or "mixed_precision: fp16" not in yaml:
        problems.append("accelerate config text wrong")


def main():
    tmp = tempfile.mkdtemp(prefix="gpu-selftest-")
    try:
        os.makedirs(os.path.join(tmp, "unit"))
        unit(os.path.join(tmp, "unit"))
        fixture_flow(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if problems:
        print("SELFTEST FAILED:\n" + "\n".join(problems))
        return 1
    print("selftest ok: check functions and spec/resume flow behave as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
