#!/usr/bin/env bash
# The removal's GPU check, on a machine with a CUDA GPU, in under 8 minutes: the CUDA-marked tests, then the
# removal benchmark's timing table (a 2 % hole in a 512x512 photo, and a 300 px object in a 4000x3000 scene) and the
# photo set's quality table for the presets, all on the GPU.
#
# Usage: tests/benchmarks/gpu_check.sh [OUT_DIR]      (PYTHON=... to pick the interpreter; default .venv/bin/python,
#                                                       else python3)
# Needs the gRPC code generated (python -m inference_server.build_protos) only for the server tests, which are not
# run here. Writes OUT_DIR/gpu-tests.log, timing.json/.md, photos.json/.md.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT="${1:-benchmark-results/gpu}"
mkdir -p "$OUT"
PY="${PYTHON:-}"
if [[ -z "$PY" ]]; then
    if [[ -x .venv/bin/python ]]; then PY=.venv/bin/python; else PY=python3; fi
fi
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
status=0

echo "== GPU"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
"$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name())'

echo "== CUDA-marked tests"
timeout 150 "$PY" -m pytest -m cuda -q -p no:cacheprovider tests/test_cuda.py 2>&1 | tee "$OUT/gpu-tests.log"
[[ ${PIPESTATUS[0]} == 0 ]] || status=1

echo "== Timing: the default and the other presets, 3 runs each"
timeout 200 "$PY" -m tests.benchmarks.removal_benchmark --dataset timing --device cuda --repeats 3 \
    --methods ours-fast ours-balanced ours-best --json "$OUT/timing.json" 2>"$OUT/timing.err" \
    | tee "$OUT/timing.md" || status=1

echo "== Photos: the default and the fast preset's quality and speed on the GPU"
timeout 120 "$PY" -m tests.benchmarks.removal_benchmark --dataset photos --device cuda \
    --methods ours-fast ours-balanced --json "$OUT/photos.json" 2>"$OUT/photos.err" \
    | tee "$OUT/photos.md" || status=1
exit $status
