#!/usr/bin/env bash
# Builds disco.wasm (plain) and disco-simd.wasm (SIMD128) with Emscripten and copies them to
# sdk-js/dist/, where the SDK's Node entry (sdk-js/src/node.js) and the package's "files" find them.
# Idempotent; scripts/setup.sh runs it. Usage: bash wasm/build.sh [--clean]
set -euo pipefail
cd "$(dirname "$0")/.."
export NODE_PATH=${NODE_PATH:-/usr/share/nodejs}   # Debian's emscripten optimizer needs acorn
command -v emcmake >/dev/null || { echo "wasm/build.sh: emcmake not found (apt-get install emscripten)" >&2; exit 1; }
[ "${1:-}" = "--clean" ] && rm -rf build/wasm
if [ ! -f build/wasm/CMakeCache.txt ]; then
  emcmake cmake --preset wasm >/dev/null
fi
cmake --build build/wasm -j"${DISCO_JOBS:-2}" --target disco_wasm
mkdir -p sdk-js/dist
for f in disco.wasm disco-simd.wasm; do
  src=$(find build/wasm/wasm -maxdepth 1 -name "$f" | head -n1)
  [ -n "$src" ] || { echo "wasm/build.sh: $f was not produced" >&2; exit 1; }
  cmp -s "$src" "sdk-js/dist/$f" || cp "$src" "sdk-js/dist/$f"
done
ls -l sdk-js/dist/*.wasm | awk '{print "wasm/build.sh: " $NF " " $5 " bytes"}'
