#!/usr/bin/env bash
# CPU training throughput: disco-train (LibTorch C++) vs the same model in PyTorch (Python), same
# batches, same steps, same thread count, measured back to back in one run. Prints events/s of
# both and the ratio (target >= 1.0x). Builds nothing: pass the build folder.
#   bench/train_cpu/run.sh [--build DIR] [--data DIR] [--steps N] [--threads N] [--batch-size N] [--rounds N]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=build/release
DATA=""
STEPS=60
WARMUP=5
THREADS=$(nproc)
BATCH=64
ROUNDS=3
PY=/usr/bin/python3
while [ $# -gt 0 ]; do
  case "$1" in
    --build) BUILD=$2; shift 2 ;;
    --data) DATA=$2; shift 2 ;;
    --steps) STEPS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --batch-size) BATCH=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
TRAIN=$BUILD/trainer/model/disco-train
SIM=$BUILD/trainer/sim/disco-sim
for b in "$TRAIN" "$SIM"; do [ -x "$b" ] || { echo "run.sh: $b not built (cmake --build $BUILD --target disco-train disco-sim)" >&2; exit 1; }; done
"$PY" -c 'import torch' 2>/dev/null || { echo "run.sh: $PY has no torch (apt-get install -y --no-install-recommends python3-torch)" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
if [ -z "$DATA" ]; then
  DATA=$WORK/sim
  "$SIM" --seed 7 --out "$DATA" --shoppers 4000 --days 10 --quiet
fi
echo "== data $DATA, batch $BATCH, $STEPS steps (+$WARMUP warm-up), $THREADS threads, $ROUNDS rounds (alternating)"
"$TRAIN" bench --data "$DATA" --steps "$STEPS" --warmup 0 --threads "$THREADS" --batch-size "$BATCH" --dump "$WORK/batches.bin" >/dev/null
best_c=0; best_p=0
for r in $(seq "$ROUNDS"); do
  c=$("$TRAIN" bench --data "$DATA" --steps "$STEPS" --warmup "$WARMUP" --threads "$THREADS" --batch-size "$BATCH" --progress off | sed -n 's/.*: \([0-9]*\) events\/s$/\1/p')
  p=$("$PY" bench/train_cpu/torch_peer.py --batches "$WORK/batches.bin" --steps "$STEPS" --warmup "$WARMUP" --threads "$THREADS" | sed -n 's/.*: \([0-9]*\) events\/s$/\1/p')
  echo "round $r: disco-train $c events/s, pytorch-python $p events/s"
  [ "$c" -gt "$best_c" ] && best_c=$c
  [ "$p" -gt "$best_p" ] && best_p=$p
done
awk -v c="$best_c" -v p="$best_p" 'BEGIN { printf "best of rounds: disco-train %d events/s, pytorch-python %d events/s, ratio %.2fx (target >= 1.0x)\n", c, p, c / p }'
