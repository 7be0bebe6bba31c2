# Sourced by loop/disco-lab-stores and loop/disco-lab-budget: one simulated store made ready for
# disco-loop-lab with the product's CLIs. Defaults (the caller's options may change them after sourcing):
PILOT=100000; SHOPPERS=6000; ITEMS=3000; HISTORY=7; DAYS=21; WORLD=2

# lab_tools NAME BIN: sets SIM, TRAIN, LAB and checks they are built.
lab_tools() {
  SIM="$2/trainer/sim/disco-sim"; TRAIN="$2/trainer/model/disco-train"; LAB="$2/loop/disco-loop-lab"
  local b
  for b in "$SIM" "$TRAIN" "$LAB"; do
    [ -x "$b" ] || { echo "$1: $b is missing: cmake --build $2 --target disco-sim disco-train disco-loop-lab" >&2; exit 2; }
  done
}

# lab_users OUT: the lab's shoppers are u0..u<SHOPPERS-1>; the pilot runs on the same store (same
# seed: catalog) with other shoppers, so the lab's own are left out of every fit (OUT/lab_users.txt).
lab_users() { mkdir -p "$1"; seq 0 $((SHOPPERS - 1)) | sed 's/^/u/' > "$1/lab_users.txt"; }

# prepare_store SEED DIR: the randomized pilot (epsilon 0.2, 49 days, PILOT other shoppers), the
# store's no-discount history and the first model m0 trained on it; each step skipped when done.
prepare_store() {
  local S="$1" D="$2"
  mkdir -p "$D"
  [ -f "$D/pilot/outcomes.csv" ] || "$SIM" --seed "$S" --world "$WORLD" --out "$D/pilot" --shoppers $((PILOT + SHOPPERS)) \
    --items "$ITEMS" --days 49 --logging-policy epsilon:0.2:0% --dirty-rate 0 --quiet
  [ -f "$D/history/events.csv" ] || "$SIM" --seed "$S" --world "$WORLD" --out "$D/history" --shoppers "$SHOPPERS" \
    --items "$ITEMS" --days "$HISTORY" --logging-policy fixed:0% --dirty-rate 0 --quiet
  [ -f "$D/m0/bundle.disco" ] || "$TRAIN" train --data "$D/history" --out "$D/m0" --epochs 1 --max-steps 300 \
    --baselines none --no-int4 --no-runtime-int8 --threads 2 --progress off --max-test-sessions 100 --cold-holdout 0 \
    --model-version "lab-m0-s$S" --fresh > "$D/m0.log" 2>&1
}

# lab SEED [disco-loop-lab options]: the store's loop days in disco-loop-lab.
lab() {
  local S="$1"; shift
  "$LAB" --seed "$S" --world "$WORLD" --days "$DAYS" --shoppers "$SHOPPERS" --items "$ITEMS" --history-days "$HISTORY" "$@"
}
