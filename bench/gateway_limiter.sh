#!/usr/bin/env bash
# Issue 3 figure "limiter precision": writes offered at 4x the budget through the gateway (UAT
# code path against the simulator on loopback, both in one process), scaled-down window.
# From the simulator's call journal it prints the most calls in any sliding window (<= budget)
# and the share of the budget used over N full windows (>= 98%). Exit status 1 if either misses.
# Usage: bench/gateway_limiter.sh [budget, default 100] [period seconds, default 5]
#                                 [windows measured, default 5] [offer factor, default 4]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --example gateway_limiter
exec ./target/release/examples/gateway_limiter "${1:-100}" "${2:-5}" "${3:-5}" "${4:-4}"
