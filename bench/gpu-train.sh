#!/usr/bin/env bash
# Trainer throughput on a GPU machine: builds the training code (bench/gpu_train) against that
# machine's own LibTorch (PyTorch's, found with python3), with Eigen/cereal/FlatBuffers headers
# carried in build/gpu-deps/include (filled here from /usr/include when missing), simulates a
# large store (>= 10M events by default) with disco-sim and trains on it, printing events/s and
# epoch time. With --build-only it only builds and runs a tiny CPU smoke test (what this machine
# without a GPU can check).
#   bench/gpu-train.sh [--build-only] [--shoppers N] [--days N] [--epochs N] [--batch-size N]
#   device run: carry build/gpu-deps, then: bash bench/gpu-train.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_ONLY=0
SHOPPERS=440000
DAYS=30
EPOCHS=1
BATCH=1024
while [ $# -gt 0 ]; do
  case "$1" in
    --build-only) BUILD_ONLY=1; shift ;;
    --shoppers) SHOPPERS=$2; shift 2 ;;
    --days) DAYS=$2; shift 2 ;;
    --epochs) EPOCHS=$2; shift 2 ;;
    --batch-size) BATCH=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "gpu-train.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
DEPS=build/gpu-deps/include
if [ ! -d "$DEPS/Eigen" ] || [ ! -d "$DEPS/CLI" ]; then
  mkdir -p "$DEPS"
  for d in /usr/include/eigen3/Eigen /usr/include/cereal /usr/include/flatbuffers /usr/include/CLI; do
    [ -d "$d" ] && cp -r "$d" "$DEPS/"
  done
fi
[ -d "$DEPS/Eigen" ] && [ -d "$DEPS/CLI" ] || { echo "gpu-train.sh: no Eigen or CLI11 headers in $DEPS (carry build/gpu-deps)" >&2; exit 1; }
PY=python3
$PY -c 'import torch' 2>/dev/null || PY=/usr/bin/python3
TORCH_PREFIX=$($PY -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null || true)
if [ -z "$TORCH_PREFIX" ] || [ ! -d "$TORCH_PREFIX/Torch" ]; then
  TORCH_PREFIX=/usr/lib/x86_64-linux-gnu/cmake   # Debian's libtorch-dev (CPU)
fi
TORCH_VERSION=$($PY -c 'import torch; print(torch.__version__, "cuda" if torch.cuda.is_available() else "cpu")' 2>/dev/null || echo "?")
echo "== build against LibTorch in $TORCH_PREFIX (python torch: $TORCH_VERSION)"
GEN=()
command -v ninja >/dev/null && GEN=(-G Ninja)
B=build/gpu-train
cmake -S bench/gpu_train -B "$B" "${GEN[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$TORCH_PREFIX" \
  -DDISCO_DEPS_INCLUDE="$PWD/$DEPS" > "$B.cmake.log" 2>&1 || { tail -30 "$B.cmake.log"; exit 1; }
t0=$(date +%s)
cmake --build "$B" -j "$(nproc)" --target disco-gpu-train disco-sim
echo "build: $(( $(date +%s) - t0 )) s"
DATA=$B/data
if [ "$BUILD_ONLY" = 1 ]; then
  echo "== smoke test (CPU, tiny)"
  "$B/disco-sim" --seed 3 --out "$DATA-smoke" --shoppers 500 --items 500 --days 3 --quiet
  "$B/disco-gpu-train" --data "$DATA-smoke" --epochs 1 --max-steps 20 --batch-size 64 --device auto --threads 1
  exit 0
fi
if [ ! -f "$DATA/events.csv" ]; then
  echo "== simulate $SHOPPERS shoppers x $DAYS days"
  "$B/disco-sim" --seed 42 --out "$DATA" --shoppers "$SHOPPERS" --days "$DAYS" --quiet
fi
echo "== train: $EPOCHS epoch(s), batch $BATCH"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
"$B/disco-gpu-train" --data "$DATA" --epochs "$EPOCHS" --batch-size "$BATCH" --device auto --patience 0
