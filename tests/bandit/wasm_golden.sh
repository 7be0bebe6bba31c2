#!/bin/sh
# Builds tests/bandit/golden_main.cpp with em++ and checks that WASM prints exactly the native
# digests in tests/bandit/golden_expected.txt (bit-identical decisions across platforms).
# usage: wasm_golden.sh SOURCE_DIR WORK_DIR
set -eu
src=$1
work=$2
mkdir -p "$work/inc"
ln -sfn /usr/include/eigen3/Eigen "$work/inc/Eigen"
ln -sfn /usr/include/cereal "$work/inc/cereal"
export NODE_PATH="${NODE_PATH:-/usr/share/nodejs}"
em++ -std=c++20 -O2 -ffp-contract=off -DEIGEN_DONT_VECTORIZE -DEIGEN_MPL2_ONLY \
  -sWASM_ASYNC_COMPILATION=0 -I"$src/runtime/include" -isystem "$work/inc" \
  "$src/tests/bandit/golden_main.cpp" "$src/runtime/src/bandit.cpp" "$src/runtime/src"/bandit/*.cpp "$src/runtime/src/context.cpp" \
  "$src/runtime/src/guardrails.cpp" -o "$work/golden.js"
node "$work/golden.js" > "$work/wasm.txt"
if diff -u "$src/tests/bandit/golden_expected.txt" "$work/wasm.txt"; then
  echo "WASM digests identical to native"
else
  echo "WASM decision digests differ from native (see diff above)" >&2
  exit 1
fi
