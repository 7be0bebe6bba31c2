#!/usr/bin/env bash
# Data-parallel training throughput: disco-train with 1 process vs 2 processes (c10d
# ProcessGroupGloo on loopback), same global batch (1 x 2B vs 2 x B), same cores in total (T
# threads vs 2 x T/2), same data and steps, measured back to back in one run (rounds alternate).
# Prints the events/s of each (the group's events over the training steps' wall time, all-reduce
# included) and the ratio. Builds nothing: pass the build folder.
#   bench/train_cpu/dist.sh [--build DIR] [--data DIR] [--steps N] [--threads T] [--batch-size B] [--rounds N]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=build/release
DATA=""
STEPS=150
THREADS=$(nproc)
BATCH=64
ROUNDS=2
while [ $# -gt 0 ]; do
  case "$1" in
    --build) BUILD=$2; shift 2 ;;
    --data) DATA=$2; shift 2 ;;
    --steps) STEPS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --batch-size) BATCH=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "dist.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
TRAIN=$BUILD/trainer/model/disco-train
SIM=$BUILD/trainer/sim/disco-sim
for b in "$TRAIN" "$SIM"; do [ -x "$b" ] || { echo "dist.sh: $b not built (cmake --build $BUILD --target disco-train disco-sim)" >&2; exit 1; }; done
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
if [ -z "$DATA" ]; then
  DATA=$WORK/sim
  "$SIM" --seed 7 --out "$DATA" --shoppers 4000 --days 10 --quiet
fi
HALF=$(( THREADS / 2 > 0 ? THREADS / 2 : 1 ))
COMMON=(train --data "$DATA" --epochs 1 --max-steps "$STEPS" --baselines none --no-runtime-int8 --no-int4
        --cold-holdout 0 --reference-sessions 5 --max-test-sessions 50 --progress off --fresh)
eps() { sed -n 's/^trained on [a-z]*: [0-9]* steps, \([0-9]*\) events\/s.*/\1/p' "$1"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo $(( 20000 + RANDOM % 20000 )); }
echo "== data $DATA, global batch $(( 2 * BATCH )), $STEPS steps, 1 x $THREADS threads vs 2 x $HALF threads, $ROUNDS rounds (alternating)"
best1=0; best2=0
for r in $(seq "$ROUNDS"); do
  "$TRAIN" "${COMMON[@]}" --out "$WORK/one" --batch-size $(( 2 * BATCH )) --threads "$THREADS" > "$WORK/one.log" 2>&1 \
    || { tail -5 "$WORK/one.log"; exit 1; }
  PORT=$(free_port)
  "$TRAIN" "${COMMON[@]}" --out "$WORK/r1" --batch-size "$BATCH" --threads "$HALF" \
    --world-size 2 --rank 1 --master-port "$PORT" > "$WORK/r1.log" 2>&1 &
  R1=$!
  "$TRAIN" "${COMMON[@]}" --out "$WORK/r0" --batch-size "$BATCH" --threads "$HALF" \
    --world-size 2 --rank 0 --master-port "$PORT" > "$WORK/r0.log" 2>&1 || { tail -5 "$WORK/r0.log"; exit 1; }
  wait "$R1" || { tail -5 "$WORK/r1.log"; exit 1; }
  e1=$(eps "$WORK/one.log"); e2=$(eps "$WORK/r0.log")
  echo "round $r: 1 process $e1 events/s, 2 processes $e2 events/s"
  [ "$e1" -gt "$best1" ] && best1=$e1
  [ "$e2" -gt "$best2" ] && best2=$e2
done
awk -v a="$best1" -v b="$best2" 'BEGIN { printf "best of rounds: 1 process %d events/s, 2 processes %d events/s, ratio %.2fx\n", a, b, b / a }'
