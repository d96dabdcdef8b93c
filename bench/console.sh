#!/usr/bin/env bash
# Console benchmark (release): the Data Sources page with 1,000 entities x 6 connections in the
# database, p50/p99 over 2,000 signed-in page loads (goal p99 < 20 ms). Prints lines starting "BENCH".
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --release --test browser console_bench -- --ignored --nocapture --test-threads 1 2>&1 | grep -E 'BENCH|test result|panicked|FAILED'
