#!/usr/bin/env bash
# On a machine with a CUDA GPU: prove that the recorder's statistics on the GPU equal the CPU's
# bit for bit, and print the recording overhead there. CI never needs a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python -m recorder.gpu_check "$@"
