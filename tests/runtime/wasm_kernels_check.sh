#!/bin/sh
# Compiles the runtime kernels with em++ -msimd128 and runs the equality check under Node.
# usage: wasm_kernels_check.sh EMXX NODE SOURCE_DIR WORK_DIR
set -e
EMXX="$1"; NODE="$2"; SRC="$3"; WORK="$4"
mkdir -p "$WORK"
export NODE_PATH="${NODE_PATH:-/usr/share/nodejs}"
"$EMXX" -std=c++20 -O2 -msimd128 -ffp-contract=off -fno-exceptions -sENVIRONMENT=node -sEXIT_RUNTIME=1 -sSINGLE_FILE=1 \
  -I"$SRC/runtime/include" "$SRC/runtime/src/kernels.cpp" "$SRC/tests/runtime/wasm_kernels_main.cpp" \
  -o "$WORK/wasm_kernels.js"
"$NODE" "$WORK/wasm_kernels.js"
