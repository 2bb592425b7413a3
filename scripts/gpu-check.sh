#!/usr/bin/env bash
# GPU check of the CUDA sparse head, in one go, for a machine with an NVIDIA GPU, nvcc, cmake and ninja and a
# CUDA build of PyTorch in python3 (its LibTorch is used; no Node, no gtest, no network needed):
#   1. configure a CUDA build (CMake option L0SPARSE_CUDA_CHECK) against python3's torch,
#   2. build l0sparse_cuda_check (native/tests/cuda_check.cc + the ops it checks) and run it: correctness
#      against the CPU float64 reference, then timing/memory vs eager composed ops on the same GPU,
#   3. build the whole l0sparse_core with CUDA (reported, not fatal: the check has run by then),
#   4. the model and trainer on the GPU against the CPU (native/tests/device_check.cc, no Node): the fixture models
#      of test/fixtures/models encode within 1e-4 of the CPU, 3 train steps (dropout 0) give the CPU's losses and
#      updates, bfloat16 autocast runs, a resumed run (CUDA generator state restored) matches; PASS/FAIL lines,
#   5. the same through the addon's JS API (scripts/device-check.js) when node, node_modules (node-addon-api,
#      node-api-headers) and dist/ (or typescript to build it) are there: the addon is built in the same folder
#      against the same CUDA core; otherwise a SKIP line says what is missing.
# Writes $OUT/gpu-check.json, device-check.log, device-check-js.log (OUT defaults to bench/work/gpu-check) and
# prints a summary. Exit 0 only when every check that ran passed.
# Env: OUT, CUDA_HOME (default /usr/local/cuda), TORCH_CUDA_ARCH_LIST (default: the GPU's own, e.g. 9.0),
#      JOBS (default: cores), PYTHON (default python3), REPEATS (timing repeats, default 15),
#      DEVICE (steps 4-5, default cuda), NODE (default node).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
OUT=${OUT:-$PWD/bench/work/gpu-check}
mkdir -p "$OUT"
PYTHON=${PYTHON:-python3}
CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
if [ ! -x "$CUDA_HOME/bin/nvcc" ] && command -v nvcc >/dev/null; then
  CUDA_HOME=$(dirname "$(dirname "$(readlink -f "$(command -v nvcc)")")")
fi
JOBS=${JOBS:-$(nproc)}
BUILD=${BUILD:-build-gpu-check}

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | tee "$OUT/nvidia-smi.txt" || true
read -r TORCH_DIR TORCH_VERSION TORCH_CUDA GPU_ARCH < <("$PYTHON" -c '
import os, torch
cap = torch.cuda.get_device_capability() if torch.cuda.is_available() else (0, 0)
print(os.path.dirname(torch.__file__), torch.__version__, torch.version.cuda, "%d.%d" % cap)')
echo "torch $TORCH_VERSION (CUDA $TORCH_CUDA) at $TORCH_DIR; GPU compute capability $GPU_ARCH"
if [ "$TORCH_CUDA" = "None" ] || [ "$GPU_ARCH" = "0.0" ]; then
  echo "gpu-check: needs a CUDA build of torch in $PYTHON and a visible GPU" >&2
  exit 2
fi
export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-$GPU_ARCH}

# The nvidia-* wheels next to torch carry cuBLAS headers and the CUDA runtime torch was built with.
SITE=$(dirname "$TORCH_DIR")
WHEEL_CUDA=""
for d in "$SITE/nvidia/cu13" "$SITE/nvidia/cuda_runtime"; do
  if [ -d "$d/lib" ]; then WHEEL_CUDA=$d; break; fi
done
RUNPATH="$TORCH_DIR/lib${WHEEL_CUDA:+:$WHEEL_CUDA/lib}"
defs=(-DTORCH_ROOT="$TORCH_DIR" -DL0SPARSE_CUDA_CHECK=ON -DCUDAToolkit_ROOT="$CUDA_HOME"
  -DCUDA_TOOLKIT_ROOT_DIR="$CUDA_HOME" -DCMAKE_CUDA_COMPILER="$CUDA_HOME/bin/nvcc"
  -DL0SPARSE_CUDA_CHECK_RUNPATH="$RUNPATH" -DL0SPARSE_CUDA_ARCH_LIST="$TORCH_CUDA_ARCH_LIST")
if [ -n "$WHEEL_CUDA" ] && [ -d "$WHEEL_CUDA/include" ]; then
  defs+=(-DL0SPARSE_CUDA_EXTRA_INCLUDE="$WHEEL_CUDA/include")
fi
# A toolkit without nvrtc (torch links it): take the wheel's.
if ! ls "$CUDA_HOME"/lib64/libnvrtc.so* >/dev/null 2>&1 && [ -n "$WHEEL_CUDA" ]; then
  nvrtc=$(ls "$WHEEL_CUDA"/lib/libnvrtc.so.* 2>/dev/null | grep -v builtins | head -1 || true)
  [ -n "$nvrtc" ] && defs+=(-DCUDA_nvrtc_LIBRARY="$nvrtc")
fi

t0=$(date +%s)
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release "${defs[@]}" >"$OUT/configure.log" 2>&1 ||
  { tail -40 "$OUT/configure.log"; exit 1; }
t1=$(date +%s)
cmake --build "$BUILD" --target l0sparse_cuda_check -j "$JOBS" >"$OUT/build.log" 2>&1 ||
  { tail -60 "$OUT/build.log"; exit 1; }
t2=$(date +%s)
echo "configure $((t1 - t0)) s, build l0sparse_cuda_check $((t2 - t1)) s (TORCH_CUDA_ARCH_LIST=$TORCH_CUDA_ARCH_LIST)"

set +e
"$BUILD/l0sparse_cuda_check" --json "$OUT/gpu-check.json" --repeats "${REPEATS:-15}" 2>&1 | tee "$OUT/check.log"
status=${PIPESTATUS[0]}
set -e

# Whole core with CUDA kernels (other ops too): evidence that the CUDA variant compiles here, not fatal.
t3=$(date +%s)
if timeout "${CORE_BUILD_TIMEOUT:-180}" cmake --build "$BUILD" --target l0sparse_core -j "$JOBS" >"$OUT/core-build.log" 2>&1; then
  echo "l0sparse_core (CUDA) built in $(( $(date +%s) - t3 )) s"
else
  echo "l0sparse_core (CUDA) did not build (see core-build.log):"; tail -15 "$OUT/core-build.log"
fi

# 4-5. Model + trainer on the GPU vs the CPU: natively, then through the addon's JS API (scripts/device-check.sh).
set +e
BUILD="$BUILD" OUT="$OUT" JOBS="$JOBS" RUNPATH="$RUNPATH" DEVICE="${DEVICE:-cuda}" bash scripts/device-check.sh
device_status=$?
set -e
if [ "$status" = 0 ] && [ "$device_status" != 0 ]; then status=$device_status; fi
echo "gpu-check: exit $status (device checks: exit $device_status), $(( $(date +%s) - start )) s in all"
exit "$status"
