#!/usr/bin/env bash
# Runs every test: GoogleTest via CTest, then the SDK's and the browser's `node --test` suites
# when they exist. Installs and builds first (scripts/setup.sh, idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export DISCO_DATA=${DISCO_DATA:-$(cd .. && pwd)/shared/data}
status=0
echo "== ctest"
ctest --test-dir build/release --output-on-failure -j2 || status=1
for dir in sdk-js tests/js tests/browser; do
  if [ -f "$dir/package.json" ] && grep -q '"test"' "$dir/package.json"; then
    echo "== node --test ($dir)"
    (cd "$dir" && npm test --silent) || status=1
  fi
done
exit $status
