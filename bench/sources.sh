#!/usr/bin/env bash
# Data Sources benchmarks (release): a 100,000-event sync from one emulated terminal, the
# listing latency (p50/p99) with 1,000 entities x six connections, a burst of 10,000 T-Mining
# webhooks (drain time, each state stored once) and an EDIFACT interchange of 10,000 COARRI/CODECO
# messages (parse + store time). Prints lines starting "BENCH".
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --release --test api sources_bench -- --ignored --nocapture --test-threads 1 2>&1 | grep -E 'BENCH|test result|panicked|FAILED'
