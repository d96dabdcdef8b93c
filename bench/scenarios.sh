#!/usr/bin/env bash
# Scenario runner benchmark: the whole library (scenarios/, fail/ included, pending/ not),
# repeated to at least 1,000 scenarios, in one process against the embedded simulator.
# Target (issue 4): under 15 s on 2 cores.
#
#   bench/scenarios.sh            # release build, --jobs 8
#   JOBS=2 TOTAL=1000 bench/scenarios.sh
set -euo pipefail
cd "$(dirname "$0")/.."

TOTAL="${TOTAL:-1000}"
JOBS="${JOBS:-8}"

cargo build --release --quiet --bin cpu-gateway
BIN=target/release/cpu-gateway

# How many scenarios one pass of the library holds (one line per scenario with --no-progress).
PER_PASS=$("$BIN" scenario run scenarios --no-progress --jobs "$JOBS" | grep -cE '^(ok|FAIL) ')
REPEAT=$(( (TOTAL + PER_PASS - 1) / PER_PASS ))
RUNS=$(( REPEAT * PER_PASS ))

echo "library: $PER_PASS scenarios; running it $REPEAT times = $RUNS scenarios, --jobs $JOBS, $(nproc) cores"
START=$(date +%s.%N)
"$BIN" scenario run scenarios --no-progress --jobs "$JOBS" --repeat "$REPEAT" | tail -n 1
END=$(date +%s.%N)
WALL=$(echo "$END - $START" | bc -l)
printf 'wall time: %.2f s for %d scenarios (%.1f scenarios/s; %.2f s per 1,000)\n' \
  "$WALL" "$RUNS" "$(echo "$RUNS / $WALL" | bc -l)" "$(echo "$WALL * 1000 / $RUNS" | bc -l)"
