#!/usr/bin/env bash
# Run by `npm test` before the suite (npm's pretest): brings what the tests drive for real.
# - Debian packages: a single-node SLURM (slurm-wlm, munge) and the notebook validator (python3-nbformat),
#   installed when missing and this runs as root with apt-get; otherwise it says what is missing.
# - The CPU Python environment and the tiny SDXL are made by the suite's global setup
#   (tests/real/global-setup.ts), through the same code a user's first `harness sweep` runs.
set -euo pipefail
need=()
command -v slurmctld >/dev/null 2>&1 || need+=(slurm-wlm)
command -v munged >/dev/null 2>&1 || need+=(munge)
/usr/bin/python3 -c 'import nbformat' >/dev/null 2>&1 || need+=(python3-nbformat)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "tests/prepare.sh: installing ${need[*]} (Debian) for the SLURM and notebook tests" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
else
  echo "tests/prepare.sh: missing ${need[*]}; install them (Debian: sudo apt-get install ${need[*]}) or the SLURM and notebook tests fail" >&2
  exit 1
fi
