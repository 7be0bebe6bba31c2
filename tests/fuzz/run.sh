#!/usr/bin/env bash
# Builds every fuzz target (clang + libFuzzer + ASan/UBSan, CMake preset-like tree) and runs each,
# one at a time, for --runs inputs over its committed corpus tests/fuzz/corpus/<target>; then the
# SDK's JavaScript fuzzer (tests/fuzz/fuzz_sdk.mjs). Prints runs, time and crashes per target and
# exits non-zero when any target crashed, leaked, hung or ran out of memory (reproducer files:
# <build>/fuzz-work/artifacts/). See tests/fuzz/README.md.
#
#   tests/fuzz/run.sh [--runs N] [--only a,b] [--build-dir DIR] [--jobs J] [--update-corpus] [--no-js]
#     --runs N          inputs per target (default 1000000; CTest's FuzzShort uses 10000)
#     --only a,b        just these targets (bundle, session_state, runtime_state, bandit_import,
#                       json_batch, fb_batch, offer_token, auth; js_bundle, js_token, js_state: the JS fuzzer)
#     --build-dir DIR   the clang build tree (default build/fuzz, as `cmake --preset fuzz`)
#     --update-corpus   merge the inputs that add coverage into tests/fuzz/corpus (libFuzzer -merge=1)
#     --no-js           skip the JavaScript fuzzer
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
runs=1000000
only=""
build=build/fuzz
jobs=2
update=0
max_new=2049   # --update-corpus offers new inputs below this many bytes
js=1
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --build-dir) build=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --update-corpus) update=1; shift ;;
    --no-js) js=0; shift ;;
    -h|--help) sed -n 2,15p "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1 (--help)" >&2; exit 2 ;;
  esac
done
case "$build" in /*) ;; *) build=$root/$build ;; esac

# target  binary (in the build tree)  max input bytes
targets=(
  "bundle         runtime/fuzz/fuzz_bundle         65536"
  "session_state  runtime/fuzz/fuzz_session_state  16384"
  "runtime_state  runtime/fuzz/fuzz_runtime_state  65536"
  "bandit_import  runtime/fuzz/fuzz_bandit_import  32768"
  "json_batch     collector/fuzz_json_batch        16384"
  "fb_batch       collector/fuzz_fb_batch          16384"
  "offer_token    collector/fuzz_offer_token       8192"
  "auth           collector/fuzz_auth              8192"
)
wanted() { [ -z "$only" ] || [[ ",$only," == *",$1,"* ]]; }

for tool in clang clang++ cmake; do
  command -v $tool >/dev/null || { echo "run.sh: $tool is not on PATH (scripts/setup.sh installs it)" >&2; exit 2; }
done
names=()
for row in "${targets[@]}"; do
  read -r name bin _ <<<"$row"
  wanted "$name" && names+=("$(basename "$bin")")
done
if [ ${#names[@]} -gt 0 ]; then
  echo "== building ${names[*]} in $build"
  # Configured every time (seconds on an existing tree): a target added since the tree was made is
  # unknown to its Makefiles until cmake runs again ("No rule to make target 'fuzz_auth'").
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DDISCO_BUILD_FUZZERS=ON -DDISCO_BUILD_TESTS=OFF -DDISCO_BUILD_TRAINER=OFF -DDISCO_BUILD_EXAMPLES=OFF >"$build.configure.log" 2>&1 ||
    { cat "$build.configure.log"; exit 2; }
  cmake --build "$build" -j"$jobs" --target "${names[@]}" >"$build.build.log" 2>&1 || { tail -40 "$build.build.log"; exit 2; }
fi

work=$build/fuzz-work
art=$work/artifacts
mkdir -p "$art"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
report=()
failed=0
for row in "${targets[@]}"; do
  read -r name bin maxlen <<<"$row"
  wanted "$name" || continue
  corpus=$root/tests/fuzz/corpus/$name
  fresh=$work/$name
  rm -rf "$fresh"
  mkdir -p "$fresh" "$corpus"
  rm -f "$art/$name-"*
  log=$work/$name.log
  echo "== $name: $runs runs (log: $log)"
  start=$(date +%s%N)
  set +e
  # New inputs go to the scratch folder (first); the committed corpus (second) is only read.
  "$build/$bin" -runs="$runs" -max_len="$maxlen" -timeout=10 -rss_limit_mb=2048 -seed=1 -print_final_stats=1 \
    -artifact_prefix="$art/$name-" "$fresh" "$corpus" >"$log" 2>&1
  rc=$?
  set -e
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  done_runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -1)
  crashes=$(find "$art" -name "$name-*" -type f | wc -l)
  if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then crashes=1; fi
  if [ "$crashes" -ne 0 ]; then
    failed=1
    grep -E "ERROR|runtime error|SUMMARY" "$log" | head -5 || true
    find "$art" -name "$name-*" -type f | sed 's/^/  reproducer: /'
  fi
  new=$(find "$fresh" -type f | wc -l)
  report+=("$(printf '%-14s %10s %6ss %8s %7s %8s' "$name" "${done_runs:-?}" "$((ms / 1000))" \
    "$(( ${done_runs:-0} * 1000 / (ms > 0 ? ms : 1) ))" "$crashes" "$new")")
  if [ "$update" = 1 ]; then
    # Only small new inputs are offered (the corpus stays a few hundred KB); -merge=1 adds those
    # that bring edges the corpus lacks (-use_counters=0: hit counts do not count).
    # Reproducers of crashes are added by hand (README).
    small=$work/$name.small
    rm -rf "$small"
    mkdir -p "$small"
    find "$fresh" -type f -size -"$max_new"c -exec cp {} "$small"/ \;
    "$build/$bin" -merge=1 -use_counters=0 -max_len="$maxlen" -rss_limit_mb=2048 "$corpus" "$small" >>"$log" 2>&1
  fi
done

if [ "$js" = 1 ]; then
  command -v node >/dev/null || { echo "run.sh: node is not on PATH (scripts/setup.sh installs it)" >&2; exit 2; }
fi
for name in js_bundle js_token js_state; do
  { [ "$js" = 1 ] && wanted "$name"; } || continue
  log=$work/$name.log
  rm -f "$art/$name-"*
  echo "== $name: $runs runs (log: $log)"
  start=$(date +%s%N)
  set +e
  node "$root/tests/fuzz/fuzz_sdk.mjs" --target "$name" --runs "$runs" --corpus "$root/tests/fuzz/corpus" --artifacts "$art" >"$log" 2>&1
  rc=$?
  set -e
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  done_runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -1)
  crashes=$(sed -n 's/^Findings: \([0-9]*\).*/\1/p' "$log" | tail -1)
  crashes=${crashes:-1}
  if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then crashes=1; fi
  [ "$crashes" -eq 0 ] || { failed=1; grep -A1 FINDING "$log" | head -10; }
  report+=("$(printf '%-14s %10s %6ss %8s %7s %8s' "$name" "${done_runs:-?}" "$((ms / 1000))" \
    "$(( ${done_runs:-0} * 1000 / (ms > 0 ? ms : 1) ))" "$crashes" -)")
done

echo
printf '%-14s %10s %7s %8s %7s %8s\n' target runs time exec/s crashes new_cov
for r in "${report[@]}"; do echo "$r"; done
[ "$failed" = 0 ] && echo "fuzz: no crashes" || echo "fuzz: CRASHES (reproducers in $art)"
exit $failed
