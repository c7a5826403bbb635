#!/bin/bash
# Runs every unit test under valgrind, following Criterion's worker processes,
# and fails on any memory error or definite leak. Not here: tests that need
# root, netem, the VM or much time, and those that start other programs
# (label "spawns": valgrind would follow python, chromium, mosquitto's clients).
# Valgrind's exit code does not survive Criterion's fork, so its log is read instead.
# usage: tests/valgrind.sh BUILD_DIR   (JOBS=N runs N at a time, default 2)
set -uo pipefail
build=${1:?usage: tests/valgrind.sh BUILD_DIR}
names=$(ctest --test-dir "$build" -N -LE 'root|netem|vm|slow|spawns' | sed -n 's/^ *Test *#[0-9]*: *\(test_[A-Za-z0-9_]*\)$/\1/p')
[ -n "$names" ] || { echo "valgrind.sh: no unit tests found in $build" >&2; exit 2; }

check() {
  local name=$1 bin="$build/tests/$1" log rc
  [ -x "$bin" ] || { echo "valgrind: skip $name (not a test executable)"; return 0; }
  log=$(mktemp)
  local began=$SECONDS
  valgrind -q --trace-children=yes --leak-check=full --errors-for-leak-kinds=definite,indirect \
    --log-file="$log" "$bin" --jobs 1 >/dev/null 2>&1
  rc=$?
  if [ $rc -ne 0 ] || grep -qE 'ERROR SUMMARY: [1-9]|definitely lost|indirectly lost|Invalid (read|write)|uninitialised' "$log"; then
    { echo "valgrind: FAIL $name (exit $rc)"; sed 's/^/    /' "$log" | head -40; } 
    rm -f "$log"
    return 1
  fi
  echo "valgrind: ok   $name ($((SECONDS - began)) s)"
  rm -f "$log"
}
export -f check
export build

out=$(printf '%s\n' $names | xargs -P "${JOBS:-2}" -I{} bash -c 'check "$1"' _ {})
echo "$out"
failed=$(grep -c '^valgrind: FAIL' <<<"$out")
passed=$(grep -c '^valgrind: ok' <<<"$out")
echo "valgrind: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
