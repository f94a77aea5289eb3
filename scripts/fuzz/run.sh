#!/usr/bin/env bash
# make fuzz: builds gantry-fuzz with libFuzzer + AddressSanitizer and runs every target for SECONDS
# (default 60) from its committed corpus (scripts/fuzz/corpus/<target>), merging new coverage back
# into the corpus minimised. A finding stops the target and leaves its reproducer in
# scripts/fuzz/findings/ (commit it: the replay test in make test runs every file there).
# Usage: scripts/fuzz/run.sh [SECONDS] [TARGET…]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}; shift || true
targets=${*:-nifti hdf5 safetensors pipeline itk}
build=.build-fuzz
[ -n "${FUZZ_NO_BUILD:-}" ] || swift build -c release --product gantry-fuzz --scratch-path $build \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -DGANTRY_FUZZ -Xswiftc -parse-as-library >/dev/null
bin=$build/release/gantry-fuzz
mkdir -p scripts/fuzz/findings
log=scripts/fuzz/last-run.txt
{ echo "# make fuzz, $(date -u +%Y-%m-%dT%H:%MZ), $(lscpu | sed -n 's/^Model name: *//p'), ${seconds} s per target"; } > $log
status=0
for t in $targets; do
  work=$(mktemp -d)
  set +e
  GANTRY_FUZZ_TARGET=$t ASAN_OPTIONS=detect_leaks=0 $bin -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="scripts/fuzz/findings/$t-" "$work" "scripts/fuzz/corpus/$t" > "$work.log" 2>&1
  rc=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work.log" | tail -1)
  # Keep what added coverage, minimised, in the committed corpus.
  GANTRY_FUZZ_TARGET=$t ASAN_OPTIONS=detect_leaks=0 $bin -merge=1 -max_len=65536 "scripts/fuzz/corpus/$t" "$work" >/dev/null 2>&1 || true
  echo "$t: ${execs:-0} executions, exit $rc" | tee -a $log
  [ $rc -eq 0 ] || { status=1; tail -40 "$work.log"; }
  rm -rf "$work" "$work.log"
done
exit $status
