#!/bin/bash
# The test suite as `make test` runs it: XCTest's output line by line (not in 4 KB blocks, so the
# log always shows the test under way), a whole-suite time limit well inside CI's 90 minutes, and,
# when the limit is reached, the name of the test that did not finish and every thread's stack (gdb)
# before the run is stopped — a hang is a failure that says where it is, never a silent CI time-out.
#
#   scripts/run-tests.sh LOG SECONDS swift-test-arguments…
set -uo pipefail
log=$1; limit=$2; shift 2

: >"$log"
stdbuf -oL -eL swift test "$@" >"$log" 2>&1 &
runner=$!
tail -f --pid="$runner" "$log" &
follower=$!

deadline=$(( $(date +%s) + limit ))
while kill -0 "$runner" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do sleep 2; done

if kill -0 "$runner" 2>/dev/null; then
  echo
  echo "TEST SUITE TIMED OUT after ${limit} s"
  # The test that started and has not ended (XCTest prints "started" then "passed"/"failed"/"skipped").
  started=$(grep -oE "Test Case '[^']+' started" "$log" | tail -1 | sed -E "s/Test Case '([^']+)' started/\1/")
  if [ -n "$started" ] && ! grep -qE "Test Case '$started' (passed|failed|skipped)" "$log"; then
    echo "still running: $started"
  fi
  for pid in $(pgrep -f "\.xctest" || true); do
    echo "--- stacks of $pid ($(tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null | cut -c1-120))"
    timeout 60 gdb -p "$pid" -batch -ex "thread apply all bt 25" 2>/dev/null | grep -E "^(Thread|#)" | head -400
  done
  echo "--- processes"
  ps -eo pid,ppid,etimes,args --sort=start_time | tail -40
  pkill -TERM -P "$runner" 2>/dev/null; kill -TERM "$runner" 2>/dev/null
  sleep 5; pkill -KILL -f "\.xctest" 2>/dev/null
  wait "$follower" 2>/dev/null
  exit 124
fi
wait "$runner"; status=$?
wait "$follower" 2>/dev/null
exit $status
