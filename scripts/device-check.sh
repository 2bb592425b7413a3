#!/usr/bin/env bash
# Model and trainer on a device against the CPU, in an already configured CMake build folder (scripts/gpu-check.sh
# runs it after its CUDA configure; on a CPU machine `BUILD=build-cmake DEVICE=cpu` exercises it with the CPU
# compared to itself):
#   1. native/tests/device_check.cc (target l0sparse_device_check, no Node): the fixture models of
#      test/fixtures/models encode within 1e-4 of the CPU; 3 train steps with dropout 0 give the CPU's losses and
#      parameter updates; bfloat16 autocast runs; a resumed run (optimizer + generator state) matches,
#   2. scripts/device-check.js, the same through the addon's JS API (NativeMlmModel / NativeTrainer with
#      { device }), when node, node_modules/node-addon-api + node-api-headers and dist/ (or typescript to build it)
#      are here: the addon is built in the same folder, against the same core; otherwise one SKIP line says what
#      is missing.
# PASS/FAIL lines; logs in $OUT (device-check.log, device-check-js.log). Exit 0 when every check that ran passed.
# Env: BUILD (required), OUT (default bench/work/device-check), DEVICE (default cuda), JOBS (default cores),
#      RUNPATH (the addon's RUNPATH; default: keep the folder's), NODE (default node),
#      BUILD_TIMEOUT (seconds per build step, default 300).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${BUILD:?BUILD must name a configured CMake build folder}"
OUT=${OUT:-$PWD/bench/work/device-check}
mkdir -p "$OUT"
DEVICE=${DEVICE:-cuda}
JOBS=${JOBS:-$(nproc)}
NODE=${NODE:-node}
BUILD_TIMEOUT=${BUILD_TIMEOUT:-300}

# 1. Native.
native_status=0
if timeout "$BUILD_TIMEOUT" cmake --build "$BUILD" --target l0sparse_device_check -j "$JOBS" >"$OUT/device-check-build.log" 2>&1; then
  set +e
  "$BUILD/l0sparse_device_check" --device "$DEVICE" --models test/fixtures/models 2>&1 | tee "$OUT/device-check.log"
  native_status=${PIPESTATUS[0]}
  set -e
else
  echo "FAIL device check: l0sparse_device_check did not build (see $OUT/device-check-build.log)"
  tail -15 "$OUT/device-check-build.log" || true
  native_status=1
fi

# 2. JS API, when Node and the JS build inputs are here.
js_status=0
missing=""
if command -v "$NODE" >/dev/null; then
  PATH="$(dirname "$(command -v "$NODE")"):$PATH"  # CMakeLists.txt runs `node` to find node-addon-api
else
  missing=" node"
fi
for d in node_modules/node-addon-api node_modules/node-api-headers/include; do
  [ -d "$d" ] || missing="$missing $d"
done
if [ -z "$missing" ] && [ ! -f dist/lib/model/native-model.js ]; then
  if [ -f node_modules/typescript/bin/tsc ]; then
    "$NODE" node_modules/typescript/bin/tsc -p tsconfig.json >"$OUT/tsc.log" 2>&1 || missing=" dist/ (tsc failed: $OUT/tsc.log)"
  else
    missing=" dist/ (run npm run build:ts, or bring node_modules/typescript)"
  fi
fi
if [ -n "$missing" ]; then
  echo "SKIP device-check.js: missing$missing (the native device check covers the model and trainer)"
else
  # The addon in the same folder: cmake-js passes nothing else than these variables.
  defs=(-DCMAKE_JS_VERSION=8.0.0 -DCMAKE_JS_SRC= -DCMAKE_JS_LIB=
    "-DCMAKE_JS_INC=$PWD/node_modules/node-api-headers/include;$PWD/node_modules/node-addon-api")
  [ -n "${RUNPATH:-}" ] && defs+=("-DL0SPARSE_RUNPATH=$RUNPATH")
  if cmake -S . -B "$BUILD" "${defs[@]}" >"$OUT/addon-configure.log" 2>&1 &&
     timeout "$BUILD_TIMEOUT" cmake --build "$BUILD" --target l0sparse -j "$JOBS" >"$OUT/addon-build.log" 2>&1; then
    addon=$(find "$BUILD" -maxdepth 2 -name l0sparse.node -newer "$OUT/addon-configure.log" | head -1)
    [ -n "$addon" ] || addon=$(find "$BUILD" -maxdepth 2 -name l0sparse.node | head -1)
    set +e
    L0SPARSE_ADDON="$(readlink -f "$addon")" "$NODE" scripts/device-check.js --device "$DEVICE" 2>&1 | tee "$OUT/device-check-js.log"
    js_status=${PIPESTATUS[0]}
    set -e
  else
    echo "FAIL device-check.js: the addon did not build (see $OUT/addon-configure.log, $OUT/addon-build.log)"
    tail -15 "$OUT/addon-build.log" 2>/dev/null || tail -15 "$OUT/addon-configure.log" || true
    js_status=1
  fi
fi

echo "device checks on $DEVICE: native exit $native_status, JS exit $js_status"
[ "$native_status" = 0 ] && [ "$js_status" = 0 ]
