#!/usr/bin/env bash
# Fuzz every target of fuzz/ (cargo-fuzz, libFuzzer, nightly toolchain) for MINUTES in total,
# split evenly between the targets, and print executions and crashes per target.
#
#   bench/fuzz.sh 10          # the 10-minute run
#   bench/fuzz.sh 1           # the short run of .ci/run
#   TARGETS="world_apply" bench/fuzz.sh 2
#
# Installs cargo-fuzz (pinned) when missing. Builds without a sanitizer (`-s none`): the code is
# `unsafe`-free Rust, so what we hunt are panics (overflow checks and debug assertions are on in
# fuzz/Cargo.toml's release profile). Crash inputs land in fuzz/artifacts/TARGET/; every crash
# found becomes a regression test. Exits 1 when a target crashed.
set -euo pipefail
cd "$(dirname "$0")/.."

MINUTES="${1:-10}"
TARGETS="${TARGETS:-world_apply sim_http gateway_json}"
CARGO_FUZZ_VERSION=0.13.1
TOOLCHAIN="${FUZZ_TOOLCHAIN:-nightly}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target/fuzz}"

if ! rustup run "$TOOLCHAIN" rustc --version >/dev/null 2>&1; then
  rustup toolchain install "$TOOLCHAIN" --profile minimal
fi
if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
  cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION"
fi

set -- $TARGETS
N=$#
SECS=$(awk -v m="$MINUTES" -v n="$N" 'BEGIN { s = int(m * 60 / n); if (s < 5) s = 5; print s }')

cargo +"$TOOLCHAIN" fuzz build -s none --release --fuzz-dir fuzz

LOGS="$CARGO_TARGET_DIR/logs"
mkdir -p "$LOGS"
failed=0
total_execs=0
for t in "$@"; do
  corpus="$CARGO_TARGET_DIR/corpus/$t"
  mkdir -p "$corpus" "fuzz/artifacts/$t"
  status=0
  cargo +"$TOOLCHAIN" fuzz run -s none --release --fuzz-dir fuzz "$t" "$corpus" -- \
    -max_total_time="$SECS" -print_final_stats=1 -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    >"$LOGS/$t.log" 2>&1 || status=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$LOGS/$t.log" | grep -o '[0-9]*$' | tail -n1)
  execs="${execs:-0}"
  crashes=0
  if [ "$status" -ne 0 ]; then
    crashes=1
    failed=1
  fi
  total_execs=$((total_execs + execs))
  printf '%-14s %6ss  %10s executions  %s crashes\n' "$t" "$SECS" "$execs" "$crashes"
  if [ "$crashes" -ne 0 ]; then
    grep -E 'panicked at|SUMMARY|Test unit written|deadly signal|ERROR' "$LOGS/$t.log" | head -n 20 || true
  fi
done
echo "fuzz: $total_execs executions in total, $( [ "$failed" -eq 0 ] && echo 0 || echo 'at least 1' ) crashing target(s)"
exit "$failed"
