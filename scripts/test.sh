#!/usr/bin/env bash
# Runs every test: GoogleTest and the tool-driven checks via CTest, then the SDK's (sdk-js, which
# runs tests/sdk) and the browser's (tests/browser) `node --test` suites. Installs and builds first
# (scripts/setup.sh, idempotent). Then fails when a test that must run was skipped: every test but
# those tests/ci_may_skip.txt allows (scripts/check-skips.mjs; DISCO_ALLOW_SKIP=1 only lists them).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export DISCO_DATA=${DISCO_DATA:-$(cd .. && pwd)/shared/data}
status=0
out=build/release/test-results
rm -rf "$out"
mkdir -p "$out"
echo "== ctest"
ctest --test-dir build/release --output-on-failure -j2 --output-junit "$PWD/$out/ctest.xml" || status=1
skip_args=(--junit "$out/ctest.xml")
for dir in sdk-js tests/browser; do
  echo "== node --test ($dir)"
  log="$out/$(echo "$dir" | tr / -).tap"
  (cd "$dir" && npm test --silent) 2>&1 | tee "$log" || status=1
  skip_args+=(--tap "$dir=$log")
done
echo "== skipped tests"
node scripts/check-skips.mjs --allow tests/ci_may_skip.txt "${skip_args[@]}" || status=1
exit $status
