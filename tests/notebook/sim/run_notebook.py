"""Runs a notebook's code cells the way Colab's "Run all" does: in order, in one namespace, stopping at the
first cell that raises (SystemExit included, which is how the notebook stops with a reason).

    /usr/bin/python3 run_notebook.py SPEC.json

SPEC: {"notebook": path, "fakes": folder put first on this process's sys.path (stand-ins for google.colab,
kaggle_secrets and IPython.display; children do not inherit it), "overrides": {NAME: value}, "steps": [...],
"result": path}.

- overrides: a user filling in the form, and a test pointing the platform folders elsewhere: the line
  "NAME = ..." of a code cell becomes "NAME = <value>" (a trailing "#@param ..." is kept). Every override
  must match a line somewhere, or the run fails: a renamed setting cannot silently stop being tested.
- steps: "all" (every code cell in order), a cell id (run that cell again, as a user re-runs one cell), or
  {"exec": "python"} (something an earlier session or the user left behind, done in the notebook's namespace).
- IPython's "!cmd" and "%magic" lines are not translated: the notebook runs every command through its own
  sh() helper, and a cell with such a line fails here, so one cannot creep in untested.

The result file holds one entry per step: id, status (ok | stopped | error), message, output (everything the
cell printed, the commands' output included), seconds.
"""
import contextlib
import io
import json
import re
import sys
import time
import traceback

import nbformat


class Tee(io.TextIOBase):
    """The cell's output, kept for the result and echoed to stderr so a slow run can be watched."""

    def __init__(self):
        self.parts = []

    def write(self, text):
        self.parts.append(text)
        sys.__stderr__.write(text)
        return len(text)

    def flush(self):
        sys.__stderr__.flush()

    def value(self):
        return "".join(self.parts)


def apply_overrides(source, overrides, used):
    out = []
    for line in source.split("\n"):
        match = re.match(r"^([A-Z_][A-Z0-9_]*) = (.*?)(\s+#@param.*)?$", line)
        if match and match.group(1) in overrides:
            used.add(match.group(1))
            line = f"{match.group(1)} = {overrides[match.group(1)]!r}{match.group(3) or ''}"
        out.append(line)
    return "\n".join(out)


def main():
    spec = json.load(open(sys.argv[1], encoding="utf-8"))
    sys.path.insert(0, spec["fakes"])
    notebook = nbformat.read(spec["notebook"], as_version=4)
    nbformat.validate(notebook)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    by_id = {cell.id: cell for cell in code_cells}
    overrides = spec.get("overrides", {})
    used = set()
    namespace = {"__name__": "__main__"}
    results = []

    steps = []
    for step in spec["steps"]:
        steps.extend([cell.id for cell in code_cells] if step == "all" else [step])

    for step in steps:
        started = time.time()
        if isinstance(step, dict):
            cell_id, source = "exec", step["exec"]
        else:
            cell_id, source = step, apply_overrides(by_id[step].source, overrides, used)
        magic = [line for line in source.split("\n") if line.lstrip().startswith(("!", "%"))]
        tee = Tee()
        status, message = "ok", None
        if magic:
            status, message = "error", f"IPython shell/magic lines are not run here: {magic}"
        else:
            with contextlib.redirect_stdout(tee), contextlib.redirect_stderr(tee):
                try:
                    exec(compile(source, f"<cell {cell_id}>", "exec"), namespace)
                except SystemExit as stop:
                    status, message = "stopped", str(stop.code)
                except BaseException:  # noqa: BLE001 - a cell's error is the result
                    status, message = "error", traceback.format_exc()
        results.append({"id": cell_id, "status": status, "message": message, "output": tee.value(),
                        "seconds": round(time.time() - started, 1)})
        if status != "ok":
            break

    unused = sorted(set(overrides) - used)
    if unused and all(r["status"] == "ok" for r in results):
        results.append({"id": "overrides", "status": "error", "message": f"overrides that match no line: {unused}",
                        "output": "", "seconds": 0})
    with open(spec["result"], "w", encoding="utf-8") as handle:
        json.dump(results, handle, indent=1)


if __name__ == "__main__":
    main()
