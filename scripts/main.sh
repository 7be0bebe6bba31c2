#!/usr/bin/env bash
# The main job on the built-in default data (a simulated store):
#   install + build -> simulate -> ingest (data-quality report) -> train the LSTM, evaluate it beside
#   the baselines, quantize and export a signed bundle (with the demo's offer policy, demo/offer-policy.json:
#   item and cart-coupon arms) -> inspect it -> serve the storefront with the
#   collector (prints the URL; Ctrl-C stops it).
# Non-interactive (--check, CI=true, or no terminal): the last step starts the storefront, probes
# every endpoint with the SDK, stops, and the script exits.
#   scripts/main.sh [--check] [--serve] [--out DIR] [--seed N] [--epochs N] [--port N]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=out/default
SEED=42
EPOCHS=${DISCO_EPOCHS:-3}
MODE=auto
PORT=8080
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    --epochs) EPOCHS=$2; shift 2 ;;
    --port) PORT=$2; shift 2 ;;
    --check) MODE=check; shift ;;
    --serve) MODE=serve; shift ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "main.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ "$MODE" = auto ]; then
  if [ "${CI:-}" = true ] || [ ! -t 0 ] || [ ! -t 1 ]; then MODE=check; else MODE=serve; fi
fi
now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }
t0=$(now)
bash scripts/setup.sh
t1=$(now)
BIN=build/release
mkdir -p "$OUT"

echo "== 1. simulate a store (seed $SEED) -> $OUT"
"$BIN/trainer/sim/disco-sim" --seed "$SEED" --out "$OUT"
t2=$(now)

echo
echo "== 2. ingest the store's logs (data-quality report: $OUT/quality.json)"
"$BIN/trainer/data/disco-ingest" canonical "$OUT" --json "$OUT/quality.json"
t3=$(now)

echo
echo "== 3. train, evaluate beside the baselines, quantize, export a signed bundle -> $OUT/model"
if [ ! -f keys/private.pem ]; then
  "$BIN/trainer/model/disco-train" keygen --out keys
fi
"$BIN/trainer/model/disco-train" train --data "$OUT" --config trainer/model/configs/default.conf \
  --out "$OUT/model" --key keys/private.pem --epochs "$EPOCHS" --fresh --policy demo/offer-policy.json
t4=$(now)

echo
echo "== 4. the bundle"
"$BIN/runtime/cli/disco" inspect "$OUT/model/bundle.disco"

echo
echo "== timings: setup+build $(secs "$t0" "$t1") s, simulate $(secs "$t1" "$t2") s, ingest $(secs "$t2" "$t3") s, train+eval+export $(secs "$t3" "$t4") s"
echo "   report: $OUT/model/report.html"
echo
if [ "$MODE" = check ]; then
  echo "== 5. storefront + collector: non-interactive check"
  exec bash demo/serve.sh --check --build "$BIN" --data "$OUT" \
    --bundle "$OUT/model/bundle.disco" --public-key keys/public.der
else
  echo "== 5. storefront + collector (Ctrl-C stops)"
  exec bash demo/serve.sh --build "$BIN" --data "$OUT" --port "$PORT" \
    --bundle "$OUT/model/bundle.disco" --public-key keys/public.der
fi
