#!/usr/bin/env python3
"""GPU device check driver (tests/gpu/README.md): runs python/envinfo.py and python/train.py against real
torch CUDA + real accelerate with the tiny LoRA stand-in script, then checks what the tap wrote.

usage: run_checks.py OUT_DIR WORK_DIR     (standard library only; children get PYTHONPATH=tests/gpu/site)
Writes OUT_DIR/summary.txt, OUT_DIR/envinfo.json, OUT_DIR/events-all.txt, OUT_DIR/runs.tar.gz.
"""
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from importlib import metadata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checks  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TRAIN_PY = os.path.join(REPO, "python", "train.py")
ENVINFO_PY = os.path.join(REPO, "python", "envinfo.py")
SCRIPT = os.path.join(HERE, "tiny_lora_train.py")
SITE = os.path.join(HERE, "site")
RUN_TIMEOUT_S = 150


def installed_versions():
    out = {}
    for name in ("torch", "accelerate", "peft", "safetensors"):
        try:
            out[name] = metadata.version(name)
        except Exception:  # noqa: BLE001 - absent: the start-event check reports it
            out[name] = None
    return out


def sha256(path):
    try:
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except OSError:
        return None


def accelerate_config_yaml(num_processes, mixed_precision):
    """The same text as harness/runner/command.ts accelerateConfigYaml()."""
    return "\n".join([
        "compute_environment: LOCAL_MACHINE",
        f"distributed_type: {'MULTI_GPU' if num_processes > 1 else 'NO'}",
        'downcast_bf16: "no"',
        "dynamo_config: {}",
        "gpu_ids: all",
        "machine_rank: 0",
        "main_training_function: main",
        f"mixed_precision: {mixed_precision}",
        "num_machines: 1",
        f"num_processes: {num_processes}",
        "rdzv_backend: static",
        "same_network: true",
        "use_cpu: false",
        "",
    ])


def build_spec(run_id, argv, output_dir, events, settings, attempt=1, resume_from=None, resume_step=0):
    """spec.json as harness/train/run.ts writes it: the RunSpec plus `trainer` (records.ts TrainerSpec)."""
    return {
        "schemaVersion": 1,
        "id": run_id,
        "hash": hashlib.sha256(run_id.encode()).hexdigest(),
        "experiment": "gpu-check",
        "variant": run_id,
        "overrides": {},
        "settings": settings,
        "provenance": {},
        "provisional": True,
        "provisionalWhy": ["GPU device check with a stand-in script"],
        "steps": None,
        "argv": argv,
        "aliases": [],
        "trainer": {
            "script": SCRIPT,
            "scriptSha256": sha256(SCRIPT),
            "scriptPinned": False,
            "argv": argv + (["--resume_from_checkpoint", resume_from] if resume_from else []),
            "outputDir": output_dir,
            "events": events,
            "attempt": attempt,
            "resumeFrom": resume_from,
            "resumeStep": resume_step,
            "stopAfterSave": True,
            "stopOnNan": True,
        },
    }


def rewrite_events_for_resume(path, from_step, checkpoint, attempt):
    """What harness/train/resume.ts rewriteEventsForResume does before a resumed attempt."""
    events, _ = checks.read_events(path)
    kept, dropped = [], 0
    for event in events or []:
        if event.get("type") in ("metric", "checkpoint", "weights_saved") and (event.get("step") or 0) > from_step:
            dropped += 1
            continue
        kept.append(event)
    kept.append({"v": 1, "type": "resume", "t": time.time(), "from_step": from_step, "checkpoint": checkpoint, "dropped": dropped, "attempt": attempt})
    with open(path, "w", encoding="utf-8") as handle:
        for event in kept:
            handle.write(json.dumps(event, separators=(",", ":")) + "\n")


def child_env(extra=None):
    env = dict(os.environ)
    env.update({
        "PYTHONPATH": SITE,  # only the diffusers stand-in: torch/accelerate/peft are the installed ones
        "PYTHONUNBUFFERED": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "HF_HUB_OFFLINE": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
    })
    for key in ("HARNESS_PARENT_PID", "HARNESS_OWN_GROUP", "TINY_OOM_AT", "TINY_NAN_AT", "ACCELERATE_CONFIG_FILE"):
        env.pop(key, None)
    env.update(extra or {})
    return env


class Run:
    def __init__(self, work, name, argv, settings, launcher="python", env=None, output_dir=None, events=None, attempt=1,
                 resume_from=None, resume_step=0):
        self.name = name
        self.dir = os.path.join(work, name)
        os.makedirs(self.dir, exist_ok=True)
        self.output_dir = output_dir or os.path.join(self.dir, "output")
        self.events = events or os.path.join(self.dir, "events.jsonl")
        self.log = os.path.join(self.dir, "train.log")
        self.spec = os.path.join(self.dir, "spec.json")
        self.settings = settings
        argv = [self.output_dir if a is None else a for a in argv]  # None marks the --output_dir value
        with open(self.spec, "w", encoding="utf-8") as handle:
            json.dump(build_spec(f"gpu-check-{name}", argv, self.output_dir, self.events, settings, attempt, resume_from, resume_step), handle, indent=2)
        if launcher == "accelerate":
            config = os.path.join(self.dir, "accelerate.yaml")
            with open(config, "w", encoding="utf-8") as handle:
                handle.write(accelerate_config_yaml(1, settings.get("mixed_precision", "no")))
            self.cmd = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", config, TRAIN_PY, self.spec]
        else:
            self.cmd = [sys.executable, TRAIN_PY, self.spec]
        self.env = child_env(env)
        self.process = None
        self.returncode = None
        self.wall_s = None

    def start(self):
        self.started = time.time()
        with open(self.log, "ab") as log:
            log.write(("$ " + " ".join(self.cmd) + "\n").encode())
            self.process = subprocess.Popen(self.cmd, cwd=self.dir, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def wait(self, deadline):
        try:
            self.returncode = self.process.wait(timeout=max(1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)  # our own child's session only
            except OSError:
                pass
            self.process.wait()
            self.returncode = f"timeout after {RUN_TIMEOUT_S}s"
        self.wall_s = round(time.time() - self.started, 1)
        return self

    def attempt_events(self, r):
        events, bad = checks.read_events(self.events)
        r.check(f"{self.name}.exited", isinstance(self.returncode, int), f"rc={self.returncode} wall={self.wall_s}s log={self.log}")
        if not r.check(f"{self.name}.events", events, f"{self.events}: {'missing' if events is None else len(events)} events, {bad} unparsable lines"):
            return None
        return checks.last_attempt(events)


def log_tail(path, lines=25):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return "".join(handle.readlines()[-lines:])
    except OSError:
        return "(no log)"


def run_envinfo(r, out_dir):
    try:
        done = subprocess.run([sys.executable, ENVINFO_PY], capture_output=True, text=True, timeout=90, env=child_env())
    except Exception as error:  # noqa: BLE001
        r.check("envinfo.run", False, f"{type(error).__name__}: {error}")
        return
    with open(os.path.join(out_dir, "envinfo.json"), "w", encoding="utf-8") as handle:
        handle.write(done.stdout or json.dumps({"stderr": done.stderr[-4000:]}))
    try:
        report = json.loads(done.stdout)
    except ValueError:
        r.check("envinfo.run", False, f"rc={done.returncode}, stdout is not JSON; stderr: {done.stderr[-800:]}")
        return
    r.check("envinfo.run", done.returncode == 0, f"rc={done.returncode}")
    r.guard("envinfo", lambda: checks.check_envinfo(r, report))


def main(out_dir, work):
    began = time.time()
    os.makedirs(out_dir, exist_ok=True)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work, exist_ok=True)
    r = checks.Results()
    versions = installed_versions()
    base = ["--learning_rate", "1e-3", "--seed", "0", "--train_batch_size", "8"]

    def args(steps, every, rank, precision, warmup=0):
        return ["--output_dir", None, "--max_train_steps", str(steps), "--checkpointing_steps", str(every), "--rank", str(rank),
                "--mixed_precision", precision, "--lr_warmup_steps", str(warmup), *base]

    def make(name, steps, every, rank, precision, **kw):
        argv = args(steps, every, rank, precision, kw.pop("warmup", 0))
        settings = {"max_train_steps": steps, "checkpointing_steps": every, "rank": rank, "mixed_precision": precision}
        return Run(work, name, argv, settings, **kw)

    runs = {}
    try:
        runs["direct"] = make("direct", 6, 2, 4, "fp16", warmup=3)
        runs["launcher"] = make("launcher", 4, 2, 8, "fp16", launcher="accelerate")
        runs["oom"] = make("oom", 6, 100, 4, "bf16", env={"TINY_OOM_AT": "2"})
        runs["nan"] = make("nan", 6, 2, 4, "bf16", env={"TINY_NAN_AT": "3"})
        # Independent runs share the GPU at once (tiny models): the whole check stays well inside its budget.
        for run in runs.values():
            run.start()
    except Exception as error:  # noqa: BLE001
        r.check("setup", False, f"{type(error).__name__}: {error}")
    run_envinfo(r, out_dir)
    deadline = time.time() + RUN_TIMEOUT_S
    for run in runs.values():
        if run.process:
            run.wait(deadline)

    def success_checks(run, first, last, checkpoints, rank, attempt=1, resume_from=None):
        events = run.attempt_events(r)
        if events is None:
            return
        precision = run.settings["mixed_precision"]
        r.guard(f"{run.name}.start", lambda: checks.check_start(r, run.name, events, versions, attempt, resume_from))
        r.guard(f"{run.name}.metrics", lambda: checks.check_metrics(r, run.name, events, first, last))
        r.guard(f"{run.name}.checkpoints", lambda: checks.check_checkpoints(r, run.name, events, checkpoints, precision, rank))
        r.guard(f"{run.name}.weights", lambda: checks.check_weights(r, run.name, events, run.output_dir, rank))
        r.guard(f"{run.name}.end", lambda: checks.check_end(r, run.name, events, "success", 0, run.returncode))

    if "direct" in runs:
        success_checks(runs["direct"], 1, 6, [2, 4, 6], 4)
    if "launcher" in runs:
        success_checks(runs["launcher"], 1, 4, [2, 4], 8)
    if "oom" in runs:
        run = runs["oom"]
        events = run.attempt_events(r)
        if events is not None:
            r.guard("oom.start", lambda: checks.check_start(r, "oom", events, versions))
            r.guard("oom.metrics", lambda: checks.check_metrics(r, "oom", events, 1, 1))
            r.guard("oom.weights", lambda: checks.check_weights(r, "oom", events, run.output_dir, 4, expect_saved=False))
            r.guard("oom.end", lambda: checks.check_end(r, "oom", events, "oom", 1, run.returncode, error_type="OutOfMemoryError"))
    if "nan" in runs:
        run = runs["nan"]
        events = run.attempt_events(r)
        if events is not None:
            r.guard("nan.metrics", lambda: checks.check_metrics(r, "nan", events, 1, 3, nan_step=3))
            r.guard("nan.checkpoints", lambda: checks.check_checkpoints(r, "nan", events, [2], "bf16", 4))
            r.guard("nan.weights", lambda: checks.check_weights(r, "nan", events, run.output_dir, 4, expect_saved=False))
            r.guard("nan.end", lambda: checks.check_end(r, "nan", events, "nan_loss", 65, run.returncode))

    # Resume: attempt 2 of the direct run from its checkpoint-4, set up the way harness/train/run.ts does it.
    direct = runs.get("direct")
    checkpoint = os.path.join(direct.output_dir, "checkpoint-4") if direct else None
    if direct and os.path.isdir(checkpoint):
        r.guard("resume", lambda: resume(r, work, direct, checkpoint, versions))
    else:
        r.check("resume.setup", False, f"no {checkpoint} from the direct run to resume from")

    r.check("runtime", time.time() - began < 180, f"{time.time() - began:.1f}s for all checks (budget 180 s)")
    report(r, out_dir, work, runs, began)
    return 0 if not r.failed else 1


def resume(r, work, direct, checkpoint, versions):
    name = "resume"
    resume_dir = os.path.join(work, name)
    os.makedirs(resume_dir, exist_ok=True)
    events_file = os.path.join(resume_dir, "events.jsonl")
    shutil.copyfile(direct.events, events_file)
    rewrite_events_for_resume(events_file, 4, checkpoint, 2)
    argv = ["--output_dir", direct.output_dir, "--max_train_steps", "6", "--checkpointing_steps", "2", "--rank", "4",
            "--mixed_precision", "fp16", "--lr_warmup_steps", "3", "--learning_rate", "1e-3", "--seed", "0", "--train_batch_size", "8"]
    settings = direct.settings
    run = Run(work, name, argv, settings, output_dir=direct.output_dir, events=events_file, attempt=2, resume_from=checkpoint, resume_step=4)
    run.start().wait(time.time() + RUN_TIMEOUT_S)
    events = run.attempt_events(r)
    if events is None:
        return
    r.guard("resume.start", lambda: checks.check_start(r, name, events, versions, attempt=2, resume_from=checkpoint))
    r.guard("resume.metrics", lambda: checks.check_metrics(r, name, events, 5, 6))
    r.guard("resume.checkpoints", lambda: checks.check_checkpoints(r, name, events, [6], "fp16", 4))
    r.guard("resume.weights", lambda: checks.check_weights(r, name, events, direct.output_dir, 4))
    r.guard("resume.end", lambda: checks.check_end(r, name, events, "success", 0, run.returncode))
    whole, _ = checks.read_events(events_file)
    steps = [e.get("step") for e in whole or [] if e.get("type") == "metric"]
    r.check("resume.events_file", steps == [1, 2, 3, 4, 5, 6], f"metric steps over both attempts {steps} (expected 1..6 once each)")
    found = "Resuming from checkpoint checkpoint-4" in log_tail(run.log, 10_000)
    r.check("resume.log", found, "the script printed 'Resuming from checkpoint checkpoint-4'" if found else "no resume line in train.log")
    r.guard("resume.restored", lambda: checks.check_restored(r, name, direct.log, run.log, "checkpoint-4"))


def report(r, out_dir, work, runs, began):
    lines = [f"GPU device check of python/train.py + python/envinfo.py, {time.strftime('%Y-%m-%d %H:%M:%S %Z')}", *r.lines()]
    failed_runs = sorted({name.split(".")[0] for name, ok, _ in r.rows if not ok})
    for name in failed_runs:
        log = os.path.join(work, name, "train.log")
        if os.path.exists(log):
            lines += [f"---- last lines of {name}/train.log ----", log_tail(log).rstrip()]
    lines.append(f"TOTAL: {len(r.rows) - len(r.failed)} passed, {len(r.failed)} failed, {time.time() - began:.1f}s")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(out_dir, "summary.txt"), "w", encoding="utf-8") as handle:
        handle.write(text)
    with open(os.path.join(out_dir, "events-all.txt"), "w", encoding="utf-8") as handle:
        for name in sorted(os.listdir(work)):
            path = os.path.join(work, name, "events.jsonl")
            if os.path.exists(path):
                handle.write(f"==== {name}/events.jsonl ====\n")
                with open(path, encoding="utf-8", errors="replace") as source:
                    handle.write(source.read())
    with tarfile.open(os.path.join(out_dir, "runs.tar.gz"), "w:gz") as tar:
        tar.add(work, arcname="gpu-check-runs", filter=lambda info: None if info.size > 5 * 1024 * 1024 else info)
    sys.stdout.write(text)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    try:
        sys.exit(main(os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])))
    except Exception:  # noqa: BLE001 - check.sh still packs what exists and reports the missing summary
        import traceback

        traceback.print_exc()
        sys.exit(3)
