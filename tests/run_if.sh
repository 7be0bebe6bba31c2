#!/bin/sh
# Runs a test's command when what it needs is there; otherwise reports the test skipped.
#   run_if.sh [--tool PROGRAM]... [--file PATH]... -- COMMAND [ARG]...
#   run_if.sh --missing REASON
# A missing program (not on PATH) or file prints "SKIPPED: <reason>" and exits 77, the tests'
# SKIP_RETURN_CODE (tests/CMakeLists.txt), so CTest lists the test as skipped instead of leaving it
# out; scripts/test.sh fails on a skip that tests/ci_may_skip.txt does not allow.
set -eu
reason=""
while [ $# -gt 0 ]; do
  case "$1" in
    --tool)
      command -v "$2" >/dev/null 2>&1 || reason="${reason:+$reason; }$2 is not on PATH (scripts/setup.sh installs it)"
      shift 2 ;;
    --file)
      [ -e "$2" ] || reason="${reason:+$reason; }$2 does not exist"
      shift 2 ;;
    --missing)
      reason="${reason:+$reason; }$2"
      shift 2 ;;
    --)
      shift
      break ;;
    *)
      echo "run_if.sh: unknown option $1" >&2
      exit 2 ;;
  esac
done
if [ -n "$reason" ]; then
  echo "SKIPPED: $reason"
  exit 77
fi
[ $# -gt 0 ] || { echo "run_if.sh: no command after --" >&2; exit 2; }
exec "$@"
