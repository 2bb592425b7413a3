#!/usr/bin/env bash
# The GPU check and GPU benchmarks of l0sparse in ONE command, for a bare machine with an NVIDIA GPU, nvcc, cmake,
# ninja and a CUDA build of PyTorch (+ transformers, sentence-transformers 6.0.1) in python3 and no network.
# What it cannot get there comes from bench/work/gpu-carry (scripts/gpu-carry.sh, run beforehand on a
# development machine): Node, node_modules, dist/, a tokenizer and SciFact documents.
# Steps (each under its own `timeout`, each writing its results as soon as it ends, so a run cut short still
# leaves everything done before):
#   checks  configure the CUDA build against python3's torch, build l0sparse_cuda_check, run it: the tiled and the
#           fused forward + backward against CPU float64 truths (values, argmax ties, padding, k = 0..3,
#           fp32/bf16/fp16), then fused/tiled/eager timings  -> gpu-check.json
#   p5      fused head fwd+bwd vs eager composed ATen ops, B=32 L=256 D=768 V=30522, fp32 and bf16, median time and
#           allocator peak (from the checks run, or a timings-only run when checks was not in STEPS)
#                                                                -> P5-gpu-head.json
#   core    the whole l0sparse_core with its CUDA kernels
#   device  model + trainer on the GPU vs the CPU, natively and through the JS API (scripts/device-check.sh)
#   p2      trainStep on CUDA (bf16 autocast) vs sentence-transformers SpladeLoss on the same GPU, same weights and
#           batch as P2 (scripts/bench/p2-setup.py)               -> P2-gpu-train-step.json
#   p3      corpus encoding on CUDA, bf16 both sides, vs SparseEncoder.encode_document, vectors compared
#                                                                -> P3-gpu-encode.json
# While the checks run on the GPU, the rest of the CUDA build (l0sparse_core, the device check, the addon) goes on
# in the background on the CPUs; `core` waits for it. The whole run stops at DEADLINE seconds (default 570: one
# device-tool call of 600 s): a step gets min(its limit, the time left); a step with under 30 s left is skipped
# (steps.txt says so) and can be rerun with STEPS=... in a second call.
# Results go to $OUT and bench/results/; step logs to $OUT/logs.tar.gz (refreshed after every step) and
# $OUT/steps.txt (one line per step: name, exit, seconds). Exit 0 when every step that ran passed.
#   bash scripts/gpu-check.sh [--dry-run]
# Env: STEPS (default "checks p5 core device p2 p3"), COMMIT (recorded; default: git HEAD or carry/commit.txt),
#      OUT (default bench/work/gpu-check), CUDA_HOME, TORCH_CUDA_ARCH_LIST (default: the GPU's), JOBS, PYTHON,
#      REPEATS (kernel timing repeats, default 15), DEADLINE (570), T_<STEP> (seconds per step: T_CHECKS 300,
#      T_P5 90, T_CORE 240, T_DEVICE 180, T_P2 150, T_P3 180), CARRY (default bench/work/gpu-carry),
#      P2_ROUNDS (5), P3_DOCS (1024).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DRY_RUN=0
[ "${1:-}" = "--dry-run" ] && DRY_RUN=1
STEPS=${STEPS:-checks p5 core device p2 p3}
OUT=${OUT:-$ROOT/bench/work/gpu-check}
LOGS=$ROOT/bench/work/gpu-check-logs
CARRY=${CARRY:-$ROOT/bench/work/gpu-carry}
PYTHON=${PYTHON:-python3}
JOBS=${JOBS:-$(nproc)}
BUILD=${BUILD:-build-gpu-check}
REPEATS=${REPEATS:-15}
COMMIT=${COMMIT:-$(git rev-parse HEAD 2>/dev/null || cat "$CARRY/commit.txt" 2>/dev/null || echo unknown)}
export COMMIT
DEADLINE=${DEADLINE:-570}
declare -A LIMIT=([checks]=${T_CHECKS:-300} [p5]=${T_P5:-90} [core]=${T_CORE:-240} [device]=${T_DEVICE:-180}
  [p2]=${T_P2:-150} [p3]=${T_P3:-180})

for s in $STEPS; do
  [ -n "${LIMIT[$s]:-}" ] || { echo "gpu-check: unknown step '$s' (steps: checks p5 core device p2 p3)" >&2; exit 2; }
done
if [ "$DRY_RUN" = 1 ]; then
  echo "gpu-check plan (commit $COMMIT): results in $OUT and bench/results/"
  for s in $STEPS; do echo "  $s: at most ${LIMIT[$s]} s"; done
  echo "  all steps: at most $DEADLINE s (DEADLINE)"
  echo "  carry: $CARRY ($( [ -d "$CARRY" ] && du -sh "$CARRY" | cut -f1 || echo 'missing: run scripts/gpu-carry.sh'))"
  exit 0
fi
mkdir -p "$OUT" "$LOGS" bench/results
case " $STEPS " in *" checks "*) rm -f "$OUT/gpu-check.json" ;; esac  # p5 must not read an older run's report
start=$(date +%s)
: >"$OUT/steps.txt"

# ---- environment: torch, CUDA toolkit, carried Node -------------------------------------------------------
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | tee "$LOGS/nvidia-smi.txt"
read -r TORCH_DIR TORCH_VERSION TORCH_CUDA GPU_ARCH < <("$PYTHON" -c '
import os, torch
cap = torch.cuda.get_device_capability() if torch.cuda.is_available() else (0, 0)
print(os.path.dirname(torch.__file__), torch.__version__, torch.version.cuda, "%d.%d" % cap)')
echo "torch $TORCH_VERSION (CUDA $TORCH_CUDA) at $TORCH_DIR; GPU compute capability $GPU_ARCH; commit $COMMIT"
if [ "$TORCH_CUDA" = "None" ] || [ "$GPU_ARCH" = "0.0" ]; then
  echo "gpu-check: needs a CUDA build of torch in $PYTHON and a visible GPU" >&2
  exit 2
fi
export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-$GPU_ARCH}
CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
if [ ! -x "$CUDA_HOME/bin/nvcc" ] && command -v nvcc >/dev/null; then
  CUDA_HOME=$(dirname "$(dirname "$(readlink -f "$(command -v nvcc)")")")
fi
# The nvidia-* wheels next to torch carry cuBLAS headers and the CUDA runtime torch was built with.
SITE=$(dirname "$TORCH_DIR")
WHEEL_CUDA=""
for d in "$SITE/nvidia/cu13" "$SITE/nvidia/cuda_runtime"; do
  if [ -d "$d/lib" ]; then WHEEL_CUDA=$d; break; fi
done
RUNPATH="$TORCH_DIR/lib${WHEEL_CUDA:+:$WHEEL_CUDA/lib}"
export RUNPATH
if ! command -v node >/dev/null && [ -f "$CARRY/node.xz" ]; then
  mkdir -p /tmp/l0sparse-node/bin
  xz -dc "$CARRY/node.xz" >/tmp/l0sparse-node/bin/node && chmod +x /tmp/l0sparse-node/bin/node
  export PATH=/tmp/l0sparse-node/bin:$PATH
fi
[ -d node_modules ] || { [ -f "$CARRY/node_modules.tar.xz" ] && tar -xJf "$CARRY/node_modules.tar.xz"; }
[ -f dist/lib/index.js ] || { [ -f "$CARRY/dist.tar.xz" ] && tar -xJf "$CARRY/dist.tar.xz"; }
export L0SPARSE_SHARED_DATA=${L0SPARSE_SHARED_DATA:-$CARRY/data}
command -v node >/dev/null && echo "node $(node --version)" || echo "no node (device JS checks, p2 and p3 will fail)"

# ---- steps --------------------------------------------------------------------------------------------------
configured=0
configure() {  # the CUDA build folder, once
  [ "$configured" = 1 ] && return 0
  local defs=(-DTORCH_ROOT="$TORCH_DIR" -DL0SPARSE_CUDA_CHECK=ON -DCUDAToolkit_ROOT="$CUDA_HOME"
    -DCUDA_TOOLKIT_ROOT_DIR="$CUDA_HOME" -DCMAKE_CUDA_COMPILER="$CUDA_HOME/bin/nvcc"
    -DL0SPARSE_CUDA_CHECK_RUNPATH="$RUNPATH" -DL0SPARSE_CUDA_ARCH_LIST="$TORCH_CUDA_ARCH_LIST")
  [ -n "$WHEEL_CUDA" ] && [ -d "$WHEEL_CUDA/include" ] && defs+=(-DL0SPARSE_CUDA_EXTRA_INCLUDE="$WHEEL_CUDA/include")
  if ! ls "$CUDA_HOME"/lib64/libnvrtc.so* >/dev/null 2>&1 && [ -n "$WHEEL_CUDA" ]; then  # torch links nvrtc
    local nvrtc
    nvrtc=$(ls "$WHEEL_CUDA"/lib/libnvrtc.so.* 2>/dev/null | grep -v builtins | head -1 || true)
    [ -n "$nvrtc" ] && defs+=(-DCUDA_nvrtc_LIBRARY="$nvrtc")
  fi
  # The addon target too when Node and its headers are here, with the definitions scripts/device-check.sh passes
  # (so that its configure changes nothing and the prebuilt addon is reused).
  if command -v node >/dev/null && [ -d node_modules/node-addon-api ] && [ -d node_modules/node-api-headers/include ]; then
    defs+=(-DCMAKE_JS_VERSION=8.0.0 -DCMAKE_JS_SRC= -DCMAKE_JS_LIB=
      "-DCMAKE_JS_INC=$PWD/node_modules/node-api-headers/include;$PWD/node_modules/node-addon-api"
      "-DL0SPARSE_RUNPATH=$RUNPATH")
  fi
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release "${defs[@]}" >"$LOGS/configure.log" 2>&1 || {
    tail -40 "$LOGS/configure.log"; return 1; }
  configured=1
}

build_check() { configure && cmake --build "$BUILD" --target l0sparse_cuda_check -j "$JOBS" >"$LOGS/build-check.log" 2>&1 ||
  { tail -60 "$LOGS/build-check.log"; return 1; }; }

# The rest of the CUDA build, in the background while the GPU runs the checks (one ninja at a time per folder:
# wait_prebuild before any other build in $BUILD).
start_prebuild() {
  local targets=(l0sparse_core l0sparse_device_check)
  grep -q '^build l0sparse\.node\|l0sparse.node:' "$BUILD/build.ninja" 2>/dev/null && targets+=(l0sparse)
  nohup cmake --build "$BUILD" --target "${targets[@]}" -j "$JOBS" >"$LOGS/prebuild.log" 2>&1 &
  echo $! >"$LOGS/prebuild.pid"
}
wait_prebuild() {
  local pid
  pid=$(cat "$LOGS/prebuild.pid" 2>/dev/null) || return 0
  while kill -0 "$pid" 2>/dev/null; do sleep 2; done
  rm -f "$LOGS/prebuild.pid"
}

step_checks() {
  build_check || return 1
  start_prebuild
  "$BUILD/l0sparse_cuda_check" --json "$OUT/gpu-check.json" --repeats "$REPEATS" 2>&1 | tee "$LOGS/checks.log"
  local status=${PIPESTATUS[0]}
  cp "$OUT/gpu-check.json" bench/results/gpu-check.json 2>/dev/null
  return "$status"
}

step_p5() {
  if [ ! -f "$OUT/gpu-check.json" ]; then  # checks did not run in this invocation: timings only
    wait_prebuild
    build_check || return 1
    "$BUILD/l0sparse_cuda_check" --json "$OUT/gpu-check.json" --repeats "$REPEATS" --timings-only 2>&1 |
      tee "$LOGS/p5-timings.log" || return 1
  fi
  "$PYTHON" scripts/bench/p5-gpu-head.py "$OUT/gpu-check.json" --out "$OUT/P5-gpu-head.json" \
    --command "STEPS=p5 bash scripts/gpu-check.sh" && cp "$OUT/P5-gpu-head.json" bench/results/
}

step_core() {
  wait_prebuild
  configure && cmake --build "$BUILD" --target l0sparse_core -j "$JOBS" >"$LOGS/core-build.log" 2>&1 ||
    { tail -30 "$LOGS/core-build.log"; return 1; }
}

step_device() {
  wait_prebuild
  configure || return 1
  BUILD="$BUILD" OUT="$LOGS" JOBS="$JOBS" RUNPATH="$RUNPATH" DEVICE=cuda BUILD_TIMEOUT=$((LIMIT[device] - 30)) \
    bash scripts/device-check.sh
}

addon_path() { find "$BUILD" -maxdepth 2 -name l0sparse.node | head -1; }

step_p2() {
  [ -n "$(addon_path)" ] || { echo "p2 needs the addon built by the device step (STEPS=\"device p2\")"; return 1; }
  "$PYTHON" scripts/bench/p2-setup.py >"$LOGS/p2-setup.log" 2>&1 || { tail -20 "$LOGS/p2-setup.log"; return 1; }
  L0SPARSE_ADDON="$(readlink -f "$(addon_path)")" node scripts/bench/p2-train-step.js --device cuda --bf16 \
    --python "$PYTHON" --rounds "${P2_ROUNDS:-5}" --max-seconds $((LIMIT[p2] - 90)) \
    --out "$OUT/P2-gpu-train-step.json" 2>&1 | tee "$LOGS/p2.log"
  local status=${PIPESTATUS[0]}
  cp "$OUT/P2-gpu-train-step.json" bench/results/ 2>/dev/null
  return "$status"
}

step_p3() {
  [ -n "$(addon_path)" ] || { echo "p3 needs the addon built by the device step (STEPS=\"device p3\")"; return 1; }
  "$PYTHON" scripts/bench/p3-make-model.py --data "$L0SPARSE_SHARED_DATA" >"$LOGS/p3-setup.log" 2>&1 ||
    { tail -20 "$LOGS/p3-setup.log"; return 1; }
  L0SPARSE_ADDON="$(readlink -f "$(addon_path)")" node scripts/bench/p3-encode.js --device cuda --pairs bf16 \
    --python "$PYTHON" --data "$L0SPARSE_SHARED_DATA/scifact" --docs "${P3_DOCS:-1024}" --reps 5 --threads "$JOBS" \
    --batch-size 64 --out "$OUT/P3-gpu-encode.json" 2>&1 | tee "$LOGS/p3.log"
  local status=${PIPESTATUS[0]}
  cp "$OUT/P3-gpu-encode.json" bench/results/ 2>/dev/null
  return "$status"
}

overall=0
for s in $STEPS; do
  t0=$(date +%s)
  left=$((DEADLINE - (t0 - start)))
  limit=$((LIMIT[$s] < left - 5 ? LIMIT[$s] : left - 5))
  if [ "$limit" -lt 30 ]; then
    echo "$s exit=skipped seconds=0 (under 30 s left of DEADLINE=$DEADLINE)" | tee -a "$OUT/steps.txt"
    overall=1
    continue
  fi
  echo "=== $s (at most $limit s)"
  LIMIT[$s]=$limit
  # A function under `timeout` needs its own shell: export what the steps use and run this script's functions.
  timeout --kill-after=10 "$limit" bash -c "$(declare -f configure build_check start_prebuild wait_prebuild \
    step_checks step_p5 step_core step_device addon_path step_p2 step_p3); $(declare -p LIMIT); configured=0; \
    TORCH_DIR='$TORCH_DIR' CUDA_HOME='$CUDA_HOME' WHEEL_CUDA='$WHEEL_CUDA' BUILD='$BUILD' LOGS='$LOGS' OUT='$OUT' \
    JOBS='$JOBS' PYTHON='$PYTHON' REPEATS='$REPEATS'; step_$s"
  status=$?
  [ "$status" = 124 ] && echo "$s: timed out after $limit s"
  echo "$s exit=$status seconds=$(( $(date +%s) - t0 ))" | tee -a "$OUT/steps.txt"
  [ "$status" = 0 ] || overall=1
  tar -C "$LOGS/.." -czf "$OUT/logs.tar.gz" "$(basename "$LOGS")" 2>/dev/null
done
echo "gpu-check: exit $overall, $(( $(date +%s) - start )) s in all (commit $COMMIT)"
cat "$OUT/steps.txt"
exit "$overall"
