#!/bin/sh
# Native vs WASM (plain and SIMD128) decisions on the same inputs must be bit-identical.
# Three bundles: the kept schema 1.0 fixture, a synthetic one with a long-term value model
# (written by MAKE_VALUE_BUNDLE) so the value model's score offsets are covered too, and the same
# with a binding budget priced by the dual price (MAKE_VALUE_BUNDLE --budget), and one with offer-policy
# rules (windows, lifetimes, eligibility, a cart arm, a per-shopper cap; MAKE_VALUE_BUNDLE --policy),
# and one choosing discounts by a lower confidence bound (MAKE_VALUE_BUNDLE --pessimism).
# usage: decisions_digest_check.sh NATIVE_EXE EMXX NODE SOURCE_DIR GENERATED_INCLUDE_DIR WORK_DIR MAKE_VALUE_BUNDLE
set -e
NATIVE="$1"; EMXX="$2"; NODE="$3"; SRC="$4"; GEN="$5"; WORK="$6"; MAKE_VALUE="$7"
mkdir -p "$WORK"
"$MAKE_VALUE" "$WORK/value_model.disco"
"$MAKE_VALUE" "$WORK/budget_dual.disco" --budget
"$MAKE_VALUE" "$WORK/offer_policy.disco" --policy
"$MAKE_VALUE" "$WORK/pessimism.disco" --pessimism
BUNDLES="$SRC/tests/runtime/fixtures/bundle_schema1.0.disco $WORK/value_model.disco $WORK/budget_dual.disco $WORK/offer_policy.disco $WORK/pessimism.disco"
mkdir -p "$WORK/inc"
for lib in flatbuffers cereal; do [ -e "$WORK/inc/$lib" ] || ln -s "/usr/include/$lib" "$WORK/inc/$lib"; done
[ -e "$WORK/inc/Eigen" ] || ln -s /usr/include/eigen3/Eigen "$WORK/inc/Eigen"
export NODE_PATH="${NODE_PATH:-/usr/share/nodejs}"
SOURCES=$(ls "$SRC"/runtime/src/*.cpp "$SRC"/runtime/src/bandit/*.cpp | grep -v bundle_writer.cpp)
for variant in plain simd; do
  flags=""
  [ "$variant" = simd ] && flags="-msimd128"
  "$EMXX" -std=c++20 -O2 $flags -ffp-contract=off -DEIGEN_DONT_VECTORIZE -DEIGEN_MPL2_ONLY -DEIGEN_NO_IO \
    -I"$SRC/runtime/include" -I"$GEN" -I"$WORK/inc" $SOURCES "$SRC/tests/runtime/decisions_digest_main.cpp" \
    -sENVIRONMENT=node -sNODERAWFS=1 -sALLOW_MEMORY_GROWTH=1 -sEXIT_RUNTIME=1 -sSINGLE_FILE=1 \
    -o "$WORK/digest_$variant.js"
done
for BUNDLE in $BUNDLES; do
  echo "bundle $(basename "$BUNDLE")"
  native=$("$NATIVE" "$BUNDLE")
  echo "native:       $native"
  for variant in plain simd; do
    wasm=$("$NODE" "$WORK/digest_$variant.js" "$BUNDLE")
    echo "wasm-$variant: $wasm"
    if [ "$wasm" != "$native" ]; then
      echo "MISMATCH between native and wasm-$variant"
      exit 1
    fi
  done
done
echo "IDENTICAL native, wasm plain and wasm simd128"
