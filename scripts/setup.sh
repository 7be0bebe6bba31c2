#!/usr/bin/env bash
# Installs what disco needs on Debian 12 (idempotent: quiet and fast when everything is there),
# then configures and builds the native release tree (build/release).
#   scripts/setup.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*"; }
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

PKGS=(build-essential cmake git pkg-config ca-certificates gzip
      libeigen3-dev libcereal-dev libflatbuffers-dev flatbuffers-compiler libgtest-dev
      libtorch-dev libgloo-dev libopenblas0-pthread libssl-dev libsqlite3-dev openssl
      clang libclang-rt-14-dev emscripten binaryen
      libcpp-httplib-dev nlohmann-json3-dev libcli11-dev nats-server libnats-dev wrk
      zlib1g-dev libxgboost-dev curl
      chromium
      python3-torch)  # torch.onnx.export for the peer benchmark (bench/wasm)
# Node.js: Debian's nodejs 18 + npm unless a node (e.g. 20) is already on the machine.
command -v node >/dev/null 2>&1 || PKGS+=(nodejs)
command -v npm >/dev/null 2>&1 || PKGS+=(npm)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${#missing[@]} Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/disco-apt.log 2>&1 \
    || { tail -n 30 /tmp/disco-apt.log; echo "[setup] apt-get install failed (log: /tmp/disco-apt.log)"; exit 1; }
fi

# npm packages of the SDK, the browser tests and the loop (loop/ installs @disco/sdk from ../sdk-js, as a
# store installs the package; lockfiles committed; npm ci only when changed).
for dir in sdk-js tests/browser loop; do
  if [ -f "$dir/package-lock.json" ]; then
    stamp="$dir/node_modules/.disco-lock-stamp"
    if [ ! -f "$stamp" ] || ! cmp -s "$dir/package-lock.json" "$stamp"; then
      log "npm ci in $dir"
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
      cp "$dir/package-lock.json" "$stamp"
    fi
  fi
done

[ "${1:-}" = "--no-build" ] && exit 0

JOBS=${DISCO_JOBS:-2}
if [ ! -f build/release/CMakeCache.txt ]; then
  log "configuring build/release"
  cmake --preset release >/tmp/disco-configure.log 2>&1 \
    || { tail -n 40 /tmp/disco-configure.log; echo "[setup] cmake configure failed"; exit 1; }
fi
log "building build/release (-j$JOBS)"
cmake --build build/release -j"$JOBS" >/tmp/disco-build.log 2>&1 \
  || { grep -E "error|Error" -A3 /tmp/disco-build.log | head -n 60; echo "[setup] build failed (log: /tmp/disco-build.log)"; exit 1; }
log "building the WebAssembly runtime"
bash wasm/build.sh >/tmp/disco-wasm.log 2>&1 \
  || { tail -n 40 /tmp/disco-wasm.log; echo "[setup] wasm build failed"; exit 1; }
