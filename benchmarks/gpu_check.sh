#!/usr/bin/env bash
# The GPU check in one command (see benchmarks/gpu/check.py): every model and benchmark on CUDA,
# one JSON report. Without CUDA, or with --dry, the plumbing alone on the CPU.
#   benchmarks/gpu_check.sh [--out PATH] [--dry] [--only CASE,...] [--budget SECONDS]
# PYTHON picks the interpreter (default python3: the one that holds torch on the GPU machine).
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
exec "${PYTHON:-python3}" benchmarks/gpu/check.py "$@"
