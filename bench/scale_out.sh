#!/usr/bin/env bash
# Issue 10 figures: several gateway replicas on PostgreSQL + Redis against an external simulator.
# 3 replicas (`cpu-gateway serve`, uat code path) share one PostgreSQL schema and one private
# redis-server; 2 entities each with its own subscription key and a scaled budget (default 100
# calls per 10 s, the gateway's default reserve for the gate); discharges offered at 4x the budget through the
# replicas in turn for OFFER_SECS; a truck pickup validation every 2.5 s during saturation;
# kill -9 of one replica halfway, restarted 2 s later. Reads the simulator's call journal:
# per key the most calls in any sliding window and the share of the budget used; accepted vs
# delivered; repeated External-Reference-Ids; truck p50/p99. Ends with one SUMMARY line.
# Needs PostgreSQL at 127.0.0.1:5432 (db `test`, trust auth) and redis-server installed (a
# private instance is started on a free port; the shared Redis is not touched).
# MODE=tenants measures many tenants instead: TENANTS=200 entities, each with its own key (one
# simulator world each) at BUDGET=5 calls per PERIOD=10 s, all offered 2x for OFFER_SECS=30, once
# with 1 replica and once with REPLICAS=3: upstream calls per second while saturated as a share
# of the sum of the budgets. It also ends with one SUMMARY line.
# Usage: bench/scale_out.sh            (release build)
#        PROFILE=debug bench/scale_out.sh
#        BUDGET=100 PERIOD=10 OFFER_SECS=15 REPLICAS=3 RESERVE_PERCENT=5 bench/scale_out.sh
#        MODE=tenants bench/scale_out.sh
#        MODE=tenants TENANTS=200 BUDGET=5 PERIOD=10 OFFER_SECS=30 PER_ENTITY=8 bench/scale_out.sh
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
