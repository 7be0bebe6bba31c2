#!/bin/sh
# expect_refused.sh PATTERN PROGRAM [ARG...]: PROGRAM must exit non-zero (not by a signal) and print
# a line matching the extended regular expression PATTERN (stdout or stderr). Prints
# "REFUSED OK" and exits 0 when it does, else what went wrong and exits 1.
pattern=$1
shift
out=$("$@" 2>&1)
rc=$?
printf '%s\n' "$out"
if [ "$rc" -eq 0 ]; then
  echo "FAIL: exit 0 (expected a refusal)"
  exit 1
fi
if [ "$rc" -gt 128 ]; then
  echo "FAIL: killed by a signal (exit $rc)"
  exit 1
fi
if ! printf '%s\n' "$out" | grep -Eq -- "$pattern"; then
  echo "FAIL: no line matches: $pattern"
  exit 1
fi
echo "REFUSED OK (exit $rc)"
