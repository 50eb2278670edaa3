#!/usr/bin/env bash
# On a GPU box without diffusers or internet: install the carried wheels into /tmp/site, then run the demo
# run's Python side (tests/gpu/real_stack.py) with fp16 + gradient checkpointing and with fp32.
# Carry .device/ (see tests/gpu/README.md: wheels/, hub/, script/, cpu-runs/).
set -euo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .device/wheels/diffusers-*.whl .device/wheels/datasets-*.whl .device/wheels/dill-*.whl
# multiprocess is published per Python version; its py311 build is plain Python and imports on 3.12
python3 - <<'PY'
import glob, zipfile
for wheel in glob.glob('.device/wheels/multiprocess-*.whl'):
    zipfile.ZipFile(wheel).extractall('/tmp/site')
PY
export PYTHONPATH=/tmp/site
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
PYTHONUNBUFFERED=1 python3 tests/gpu/real_stack.py
