#!/usr/bin/env bash
# One command to try disco: the edge worker (demo/edge, under Node) in front of the shop, deciding
# and signing offers with the site secret and passing every other request to the collector behind
# it, which serves the storefront, the signed bundle, disco.wasm and the checkout and receives the
# edge's decisions / outcomes. The page is given no secret.
#
#   demo/serve.sh [--check] [--build DIR] [--data DIR] [--state DIR] [--host H] [--port N]
#                 [--bundle FILE --public-key FILE] [--epochs N] [--policy FILE]
#                 [--shipping-fee X] [--free-shipping-over Y]
#
#   --build DIR     native build with disco-collector (default: $DISCO_BUILD or build/release)
#   --data DIR      simulator output (default out/default; simulated with seed 42 when items.csv is missing)
#   --state DIR     the demo's files: site/, collector/ (SQLite + order log), keys (default out/demo)
#   --bundle FILE   a signed bundle + --public-key FILE (its SPKI .der or .pem), e.g. from
#                   `disco-train train ... --key keys/private.pem`. Without it: DATA/model/bundle.disco
#                   when it and keys/public.der exist; else trains one when disco-train is built; else
#                   a FIXTURE bundle (random weights over the simulator's catalog, clearly labelled).
#   --bundle-label T  how the page labels the bundle (default: "trained on the simulator", or the
#                   file name for --bundle)
#   --epochs N      epochs when this script trains (default 3)
#   --policy FILE   the offer policy of the bundle this script makes (trained or fixture; default
#                   demo/offer-policy.json: item percent / fixed / free-shipping arms and two cart
#                   coupons, 10 % off over 50 and free shipping over 30); not used with --bundle
#   --shipping-fee X, --free-shipping-over Y   the checkout's shipping line (defaults 4.90 and 75)
#   --check         non-interactive (CI): start on a free port, probe every endpoint with the SDK in
#                   Node (bundle, wasm, events, offer token, checkout, stored outcome), stop; exit 0/1
# Interactive: prints the URL and serves until Ctrl-C, then stops the collector cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

BUILD=${DISCO_BUILD:-build/release}
DATA=out/default
STATE=out/demo
HOST=127.0.0.1
PORT=
BUNDLE=
PUBKEY=
EPOCHS=3
CHECK=0
LABEL_ARG=
POLICY=demo/offer-policy.json
SHIP_FEE=4.90
SHIP_OVER=75
while [ $# -gt 0 ]; do
  case "$1" in
    --check) CHECK=1; shift ;;
    --build) BUILD=$2; shift 2 ;;
    --data) DATA=$2; shift 2 ;;
    --state) STATE=$2; shift 2 ;;
    --host) HOST=$2; shift 2 ;;
    --port) PORT=$2; shift 2 ;;
    --bundle) BUNDLE=$2; shift 2 ;;
    --public-key) PUBKEY=$2; shift 2 ;;
    --bundle-label) LABEL_ARG=$2; shift 2 ;;
    --epochs) EPOCHS=$2; shift 2 ;;
    --policy) POLICY=$2; shift 2 ;;
    --shipping-fee) SHIP_FEE=$2; shift 2 ;;
    --free-shipping-over) SHIP_OVER=$2; shift 2 ;;
    -h|--help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "serve.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ -n "$PORT" ] || { [ $CHECK = 1 ] && PORT=0 || PORT=8080; }
if [ -n "$BUNDLE" ] && [ -z "$PUBKEY" ]; then echo "serve.sh: --bundle needs --public-key" >&2; exit 2; fi
log() { printf '[demo] %s\n' "$*"; }
die() { printf '[demo] error: %s\n' "$*" >&2; exit 1; }

COLLECTOR=$BUILD/collector/disco-collector
[ -x "$COLLECTOR" ] || die "$COLLECTOR not found: build it (scripts/setup.sh, or cmake --build $BUILD --target disco-collector)"
command -v node >/dev/null || die "node not found (Node >= 18 is needed to assemble the storefront)"
[ -f sdk-js/dist/disco.wasm ] && [ -f sdk-js/dist/disco-simd.wasm ] || die "sdk-js/dist/disco*.wasm missing: run bash wasm/build.sh"
mkdir -p "$STATE"
[ -f "$POLICY" ] || die "offer policy $POLICY not found"
POLICY_SUM=$(sha256sum "$POLICY" | cut -c1-64)

# 1. the store's data
if [ ! -f "$DATA/items.csv" ]; then
  SIM=$BUILD/trainer/sim/disco-sim
  [ -x "$SIM" ] || die "$DATA/items.csv is missing and $SIM is not built"
  log "simulating a store (seed 42) -> $DATA"
  "$SIM" --seed 42 --out "$DATA" --quiet
fi

# 2. a signed bundle and its public key
LABEL="trained on the simulator"
[ -n "$BUNDLE" ] && LABEL="$(basename "$BUNDLE")"
TRAIN=$BUILD/trainer/model/disco-train
# a bundle trained here before is reused when it was made with this offer policy
if [ -z "$BUNDLE" ] && [ -f "$DATA/model/bundle.disco" ] && [ -f keys/public.der ] &&
   [ "$(cat "$DATA/model/offer-policy.sha256" 2>/dev/null)" = "$POLICY_SUM" ]; then
  BUNDLE=$DATA/model/bundle.disco; PUBKEY=keys/public.der
  log "bundle: $BUNDLE (signed with keys/private.pem)"
elif [ -z "$BUNDLE" ] && [ -x "$TRAIN" ]; then
  [ -f keys/private.pem ] || "$TRAIN" keygen --out keys
  log "training on $DATA ($EPOCHS epochs; log: $STATE/train.log)"
  "$TRAIN" train --data "$DATA" --out "$DATA/model" --key keys/private.pem --epochs "$EPOCHS" --progress lines \
    --policy "$POLICY" >"$STATE/train.log" 2>&1 || { tail -n 30 "$STATE/train.log"; die "training failed (log: $STATE/train.log)"; }
  echo "$POLICY_SUM" > "$DATA/model/offer-policy.sha256"
  BUNDLE=$DATA/model/bundle.disco; PUBKEY=keys/public.der
elif [ -z "$BUNDLE" ]; then
  MAKE=""
  for c in "$BUILD/tests/sdk/disco_sdk_make_bundle" "$BUILD/disco_sdk_make_bundle"; do [ -x "$c" ] && MAKE=$c && break; done
  [ -n "$MAKE" ] || die "no bundle: disco-train is not built ($TRAIN) and neither is the fixture tool disco_sdk_make_bundle"
  FX=$STATE/fixture
  mkdir -p "$FX"
  if [ ! -f "$FX/private.pem" ]; then
    openssl ecparam -name prime256v1 -genkey -noout -out "$FX/private.pem" 2>/dev/null
    openssl ec -in "$FX/private.pem" -pubout -outform DER -out "$FX/public.der" 2>/dev/null
  fi
  node demo/catalog.mjs --clean-items "$DATA" "$FX/items.csv" >/dev/null
  "$MAKE" --out "$FX/bundle.disco" --catalog "$FX/items.csv" --key "$FX/private.pem" --model-version fixture-random-weights \
    --policy "$POLICY" >/dev/null
  BUNDLE=$FX/bundle.disco; PUBKEY=$FX/public.der
  LABEL="FIXTURE: random weights, not trained (build the trainer for a real model)"
  log "bundle: FIXTURE $BUNDLE (random weights over the simulator's catalog: disco-train is not built)"
fi
[ -f "$BUNDLE" ] || die "bundle $BUNDLE not found"
[ -n "$LABEL_ARG" ] && LABEL=$LABEL_ARG
[ -f "$PUBKEY" ] || die "public key $PUBKEY not found"

# 3. the site's key and secret (per state folder), the storefront folder
[ -f "$STATE/site-secret" ] || { umask 077; openssl rand -hex 24 > "$STATE/site-secret"; }
SECRET=$(cat "$STATE/site-secret")
API_KEY=demo-site
node demo/build-site.mjs --data "$DATA" --site "$STATE/site" --bundle "$BUNDLE" --public-key "$PUBKEY" \
  --api-key "$API_KEY" --bundle-label "$LABEL" --shipping-fee "$SHIP_FEE" --free-shipping-over "$SHIP_OVER" | sed 's/^/[demo] /'

# 4. the collector (the shop's origin, on a loopback port of its own) and the edge worker in front
mkdir -p "$STATE/collector"
LOGF=$STATE/collector.log
ELOG=$STATE/edge.log
EPID=
"$COLLECTOR" serve --host 127.0.0.1 --port 0 --data-dir "$STATE/collector" \
  --site "demo:$API_KEY:$SECRET" --static-dir "$STATE/site" --bundle-path "$BUNDLE" \
  --reward-window-ms 900000 --shipping-fee "$SHIP_FEE" --free-shipping-over "$SHIP_OVER" >"$LOGF" 2>&1 &
PID=$!
stop() {
  if [ -n "$EPID" ] && kill -0 "$EPID" 2>/dev/null; then
    kill -TERM "$EPID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$EPID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$EPID" 2>/dev/null || true
  fi
  [ -n "$EPID" ] && { wait "$EPID" 2>/dev/null || true; }
  if kill -0 "$PID" 2>/dev/null; then
    kill -TERM "$PID" 2>/dev/null || true  # not INT: a background job of a script ignores SIGINT
    for _ in $(seq 1 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$PID" 2>/dev/null && { log "collector did not stop in 5 s; killing it"; kill -KILL "$PID" 2>/dev/null || true; }
  fi
  wait "$PID" 2>/dev/null || true
}
trap 'stop' EXIT
trap 'echo; log "stopping"; stop; log "stopped"; trap - EXIT; exit 0' INT TERM
for _ in $(seq 1 100); do
  grep -q "listening on" "$LOGF" 2>/dev/null && break
  kill -0 "$PID" 2>/dev/null || { cat "$LOGF" >&2; die "the collector exited"; }
  sleep 0.1
done
ADDR=$(sed -n 's/^disco-collector listening on \([^ ]*\) .*/\1/p' "$LOGF" | head -n1)
[ -n "$ADDR" ] || { cat "$LOGF" >&2; die "the collector did not start in 10 s"; }
# the edge worker: offers signed with the site secret (the checkout verifies them), its batches
# signed with it too; the page reaches the collector only through it
node demo/edge/run.mjs --bundle "$BUNDLE" --public-key "$PUBKEY" --host "$HOST" --port "$PORT" \
  --token-secret "$SECRET" --collector "http://$ADDR/v1/events" --site-key "$API_KEY" --site-secret "$SECRET" \
  --origin "http://$ADDR" >"$ELOG" 2>&1 &
EPID=$!
for _ in $(seq 1 150); do
  grep -q "^edge worker on" "$ELOG" 2>/dev/null && break
  kill -0 "$EPID" 2>/dev/null || { cat "$ELOG" >&2; die "the edge worker exited"; }
  sleep 0.1
done
URL=$(sed -n 's/^edge worker on \(http:[^ ]*\).*/\1/p' "$ELOG" | head -n1)
[ -n "$URL" ] || { cat "$ELOG" >&2; die "the edge worker did not start in 15 s"; }
URL="$URL/"

if [ $CHECK = 1 ]; then
  log "checking $URL"
  node demo/probe.mjs --url "$URL" --api-key "$API_KEY" --secret "$SECRET" --public-key "$PUBKEY" \
    --collector "$COLLECTOR" --store "$STATE/collector" || { tail -n 20 "$LOGF" "$ELOG" >&2; die "check failed"; }
  stop
  trap - EXIT
  log "check passed; collector stopped"
  exit 0
fi

cat <<MSG

  disco demo store: $URL
    edge worker $URL (offers; log: $ELOG), in front of the collector http://$ADDR/
    bundle      $BUNDLE ($LABEL)
    store data  $STATE/collector/collector.sqlite   orders: $STATE/collector/checkouts.jsonl
    export      $COLLECTOR export --data $STATE/collector --out joined.csv --include-pending
  Ctrl-C stops it.

MSG
wait "$PID" || true
trap - EXIT
log "collector exited (log: $LOGF)"
