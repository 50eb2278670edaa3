#!/usr/bin/env bash
# GPU device check (tests/gpu/README.md): run by hand on a GPU machine from the repository root,
#   OUT=/some/folder bash tests/gpu/check.sh
# Not part of `npm test`. Leaves at most 5 flat files in $OUT: summary.txt, envinfo.json, events-all.txt,
# runs.tar.gz (run folders: specs, events, logs, checkpoints) and check.log (everything printed).
set -u
OUT="${OUT:-/tmp/gpu-out}"
WORK="${GPU_CHECK_WORK:-/tmp/gpu-check-work}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$OUT"
rm -f "$OUT/summary.txt" "$OUT/runs.tar.gz" "$OUT/events-all.txt" "$OUT/envinfo.json" "$OUT/check.log"
PY="${PYTHON:-python3}"

{
  echo "== $(date -u +%FT%TZ) host $(hostname) python $("$PY" --version 2>&1)"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | head -4
  "$PY" -m py_compile "$HERE/run_checks.py" "$HERE/checks.py" "$HERE/tiny_lora_train.py" "$HERE/site/diffusers/__init__.py" \
    && echo "py_compile ok" || echo "FAIL py_compile"
  timeout -k 10 330 "$PY" "$HERE/run_checks.py" "$OUT" "$WORK"
  echo "run_checks exit: $?"
} 2>&1 | tee "$OUT/check.log"

# The driver writes the summary and the tarball itself; if it died before that, keep what there is.
if [ ! -f "$OUT/summary.txt" ]; then
  echo "FAIL driver: run_checks.py ended without a summary (see check.log)" | tee "$OUT/summary.txt"
fi
if [ ! -f "$OUT/runs.tar.gz" ] && [ -d "$WORK" ]; then
  tar czf "$OUT/runs.tar.gz" -C "$(dirname "$WORK")" "$(basename "$WORK")" 2>/dev/null || true
fi
echo "== files in $OUT:"; ls -la "$OUT"
grep -q '^FAIL' "$OUT/summary.txt" && exit 1
exit 0
