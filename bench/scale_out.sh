#!/usr/bin/env bash
# Issue 10 figures: several gateway replicas on PostgreSQL + Redis against an external simulator.
# 3 replicas (`cpu-gateway serve`, uat code path) share one PostgreSQL schema and one private
# redis-server; 2 entities each with its own subscription key and a scaled budget (default 100
# calls per 10 s, 5% reserved for the gate); discharges offered at 4x the budget through the
# replicas in turn for OFFER_SECS; a truck pickup validation every 2.5 s during saturation;
# kill -9 of one replica halfway, restarted 2 s later. Reads the simulator's call journal:
# per key the most calls in any sliding window and the share of the budget used; accepted vs
# delivered; repeated External-Reference-Ids; truck p50/p99. Ends with one SUMMARY line.
# Needs PostgreSQL at 127.0.0.1:5432 (db `test`, trust auth) and redis-server installed (a
# private instance is started on a free port; the shared Redis is not touched).
# Usage: bench/scale_out.sh            (release build)
#        PROFILE=debug bench/scale_out.sh
#        BUDGET=100 PERIOD=10 OFFER_SECS=15 REPLICAS=3 RESERVE_PERCENT=5 bench/scale_out.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILE=${PROFILE:-release}
command -v redis-server >/dev/null || { echo "redis-server missing (apt-get install redis-server)"; exit 1; }
pg_isready -h 127.0.0.1 -p 5432 -q || { echo "PostgreSQL not reachable at 127.0.0.1:5432"; exit 1; }
if [ "$PROFILE" = release ]; then
  cargo build --release --quiet --bin cpu-gateway --example scale_out
else
  cargo build --quiet --bin cpu-gateway --example scale_out
fi
exec timeout 600 "./target/$PROFILE/examples/scale_out" "./target/$PROFILE/cpu-gateway"
