#!/usr/bin/env bash
# The main job on the built-in default data: simulate a store, ingest its logs, print the
# data-quality report and a summary. Installs and builds first (scripts/setup.sh, idempotent).
#   scripts/main.sh [--out DIR] [--seed N]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=out/default
SEED=42
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    -h|--help) sed -n '2,4p' "$0"; exit 0 ;;
    *) echo "main.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
t0=$(date +%s%N)
bash scripts/setup.sh
t1=$(date +%s%N)
BIN=build/release
mkdir -p "$OUT"
echo "== 1. simulate a store (seed $SEED) -> $OUT"
"$BIN/trainer/sim/disco-sim" --seed "$SEED" --out "$OUT"
echo
echo "== 2. ingest the store's logs"
"$BIN/trainer/data/disco-ingest" canonical "$OUT" --json "$OUT/quality.json"
t2=$(date +%s%N)
echo
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }
echo "== done: setup+build $(secs "$t0" "$t1") s, main job $(secs "$t1" "$t2") s (outputs in $OUT)"
