#!/usr/bin/env bash
# Issue 3 figure "gateway overhead": synchronous truck pickup validation through the gateway
# (POST /v1/pickup-validations/truck) vs the simulator's own POST
# /certified-pickup/v1/BEANR/sync-validation/pickup/containers, measured in the same run with the
# same wrk settings. The gateway runs `serve --mode sim` with its base URLs pointed at a
# separate simulator process (`simulate --rate-limit 0`: the embedded one keeps NxtPort's
# 500/min), budget raised, caller quota off. Prints the throughput ratio gateway/simulator
# (target >= 0.5, at CONNS connections) and the p50 added latency (target < 1 ms, measured
# with one connection so queueing does not hide it; also printed at CONNS connections).
# Both servers log at warn (per-request info logs cost CPU the simulator does not spend);
# one wrk thread by default (THREADS=2 to change): on 2 cores wrk competes with the servers.
# The same run measures `examples/bare_forwarder.rs` (actix-web + reqwest passing the body to the
# simulator, nothing else): the ceiling of any gateway that adds an HTTP hop, on this machine.
# After each run it prints the CPU time each server process spent per request (from /proc), and
# the gateway's CPU per request over the forwarder's.
# CALLGRIND=1: instead of timing, run the gateway and the forwarder under valgrind's callgrind
# and count the instructions each spends per request (4 connections, CG_DURATION each, after a
# warm-up; the simulator runs natively): a figure the machine's load does not move. The dumps
# stay in CG_OUT (default a new /tmp/gateway_overhead.callgrind.XXXX) for `callgrind_annotate`. For line
# numbers build with CARGO_PROFILE_RELEASE_DEBUG=line-tables-only.
# Usage: bench/gateway_overhead.sh [duration, default 10s] [connections, default 32]
#        NO_BUILD=1 bench/gateway_overhead.sh   (use the release binaries as they are)
#        BIN=/path/cpu-gateway FWD_BIN=/path/bare_forwarder   (other binaries, e.g. an old build)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10s}
CONNS=${2:-32}
SIM_PORT=18381
GW_PORT=18382
FWD_PORT=18383
command -v wrk >/dev/null || { echo "wrk missing (apt-get install wrk)"; exit 1; }
[ -n "${NO_BUILD:-}" ] || cargo build --release --quiet --bin cpu-gateway --example bare_forwarder
BIN=${BIN:-./target/release/cpu-gateway}
FWD_BIN=${FWD_BIN:-./target/release/examples/bare_forwarder}
# Under callgrind, instrumentation starts off (startup runs at near native speed) and is turned
# on around the measured requests (callgrind_control).
WRAP=()
if [ -n "${CALLGRIND:-}" ]; then
  command -v valgrind >/dev/null || { echo "valgrind missing (apt-get install valgrind)"; exit 1; }
  CG_OUT=${CG_OUT:-$(mktemp -d /tmp/gateway_overhead.callgrind.XXXX)}
  mkdir -p "$CG_OUT"
  WRAP=(valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$CG_OUT/%q{CG_NAME}.%p")
fi
DIR=$(mktemp -d)
SIM=""; GW=""; FWD=""
trap '[ -n "$SIM" ] && kill $SIM 2>/dev/null; [ -n "$GW" ] && kill $GW 2>/dev/null; [ -n "$FWD" ] && kill $FWD 2>/dev/null; [ -n "${KEEP:-}" ] && echo "kept $DIR" || rm -rf "$DIR"' EXIT
RUST_LOG=${RUST_LOG:-warn} $BIN simulate --listen 127.0.0.1:$SIM_PORT --rate-limit 0 --token-ttl 86400 >"$DIR/sim.log" 2>&1 &
SIM=$!
B=http://127.0.0.1:$SIM_PORT
for _ in $(seq 1 100); do curl -fs -o /dev/null $B/health && break; sleep 0.1; done
EQ=MSCU1234566
token() { curl -fs -X POST $B/connect/token -d "grant_type=password&username=$1@sim.cpu.local&password=$1-demo-password&client_id=$1-client&client_secret=$1-client-secret" | sed -E 's/.*"access_token":"([^"]+)".*/\1/'; }
call() { # who method path body
  curl -fs -o /dev/null -X "$2" "$B$3" -H "Authorization: Bearer $(token "$1")" -H "Ocp-Apim-Subscription-Key: $1-subscription-key" -H 'Content-Type: application/json' -d "$4"; }
# A released container with an assigned Alfapass, so the validation does the full check.
call agent PUT /certified-pickup/v1/BEANR/containers/$EQ/import/release-rights '{"actionType":"Release","terminalCode":"869","releaseTo":{"identificationType":0,"identificationCode":"NXT40000000001"}}'
call trucker PUT /certified-pickup/v1/BEANR/containers/$EQ/import/release-rights '{"actionType":"Accept"}'
call trucker PUT /certified-pickup/v1/BEANR/containers/$EQ/import/pickup-rights '{"actionType":"Assign","pickupParty":{"partyType":"Truck","identificationType":"Alfapass","identificationCode":"AP1000001"}}'
curl -fs -o /dev/null -X PUT $B/simulator/v1/BEANR/containers/$EQ/customs -H 'Content-Type: application/json' -d '{"status":"RELEASED"}'
call psa PUT /certified-pickup/v1/BEANR/containers/$EQ/import/terminal-release "{\"equipmentNumber\":\"$EQ\",\"portLoCode\":\"BEANR\",\"terminalCode\":\"869\",\"actionType\":\"Release\",\"releaseDateTimeUtc\":\"2026-11-22T09:00:00Z\"}"
curl -fs -X POST $B/ingestion/v1/ingestion/5eed0000-0000-0000-0000-000000000000 -H "Authorization: Bearer $(token psa)" -H 'Content-Type: application/json' -d "{\"portLoCode\":\"BEANR\",\"equipmentNumber\":\"$EQ\",\"timestamp\":\"2026-11-22T08:00:00Z\",\"terminalCode\":\"869\",\"operationType\":\"Discharge\"}" >/dev/null
PSA_TOKEN=$(token psa)

# The gateway: token first (CLI, same SQLite file), then serve, then the PSA connection.
DB="sqlite://$DIR/gw.db"
GW_TOKEN=$($BIN token create --entity bench --role editor --database-url "$DB" 2>/dev/null)
CPU_GATEWAY_DATA_DIR="$DIR" CPU_GATEWAY_QUOTA__PER_MINUTE=0 CPU_GATEWAY_BUDGET__PER_MINUTE=1000000000 \
  CPU_GATEWAY_NXTPORT__API_BASE_URL=$B CPU_GATEWAY_NXTPORT__TOKEN_URL=$B/connect/token \
  RUST_LOG=${RUST_LOG:-warn} CG_NAME=gateway "${WRAP[@]}" $BIN serve --mode sim --listen 127.0.0.1:$GW_PORT --database-url "$DB" >"$DIR/gw.out" 2>"$DIR/gw.log" &
GW=$!
G=http://127.0.0.1:$GW_PORT
for _ in $(seq 1 600); do curl -fs -o /dev/null $G/health && break; sleep 0.1; done
conn=$(curl -fs $B/simulator/v1/parties | python3 -c '
import json, sys
p = next(p for p in json.load(sys.stdin) if p["key"] == "psa")
print(json.dumps({"clientId": p["clientId"], "clientSecret": p["clientSecret"], "username": p["username"],
  "password": p["password"], "apiKey": p["subscriptionKey"], "ingestionId": p["ingestionId"],
  "terminalCode": p["terminalCode"], "portLoCode": "BEANR"}))')
curl -fs -o /dev/null -X PUT $G/v1/connections/nxtport -H "Authorization: Bearer $GW_TOKEN" -H 'Content-Type: application/json' -d "$conn"

BODY="{\"alfapassNumber\":\"AP1000001\",\"releaseIdentification\":[{\"equipmentNumber\":\"$EQ\"}]}"
CG_NAME=forwarder "${WRAP[@]}" $FWD_BIN 127.0.0.1:$FWD_PORT \
  "$B/certified-pickup/v1/BEANR/sync-validation/pickup/containers" "Bearer $PSA_TOKEN" psa-subscription-key \
  >"$DIR/fwd.log" 2>&1 &
FWD=$!
for target in sim gw fwd; do
  if [ $target = sim ]; then auth="$PSA_TOKEN"; else auth="$GW_TOKEN"; fi
  cat >"$DIR/$target.lua" <<LUA
wrk.method = "POST"
wrk.body = '$BODY'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $auth"
wrk.headers["Ocp-Apim-Subscription-Key"] = "psa-subscription-key"
LUA
done
SIM_URL=$B/certified-pickup/v1/BEANR/sync-validation/pickup/containers
GW_URL=$G/v1/pickup-validations/truck
FWD_URL=http://127.0.0.1:$FWD_PORT/
check=$(curl -fs -X POST $SIM_URL -H "Authorization: Bearer $PSA_TOKEN" -H 'Ocp-Apim-Subscription-Key: psa-subscription-key' -H 'Content-Type: application/json' -d "$BODY")
echo "$check" | grep -q '"isValid":true' || { echo "simulator setup failed: $check"; exit 1; }
check=$(curl -fs -X POST $GW_URL -H "Authorization: Bearer $GW_TOKEN" -H 'Content-Type: application/json' -d "$BODY") \
  || { echo "gateway call failed"; tail -5 "$DIR/gw.log"; exit 1; }
echo "$check" | grep -q '"isValid":true' || { echo "gateway answer unexpected: $check"; exit 1; }
for _ in $(seq 1 600); do curl -fs -o /dev/null -X POST $FWD_URL -H 'Content-Type: application/json' -d "$BODY" && break; sleep 0.1; done
check=$(curl -fs -X POST $FWD_URL -H 'Content-Type: application/json' -d "$BODY") || { echo "bare forwarder failed"; cat "$DIR/fwd.log"; exit 1; }
echo "$check" | grep -q '"isValid":true' || { echo "bare forwarder answer unexpected: $check"; exit 1; }

sys_ticks() { awk '{print $15}' "/proc/$1/stat"; }       # stime (kernel), in clock ticks
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # utime + stime
# wrk, then the CPU each server process spent during the run, per request (us): where the cost is.
run() {
  local p t0=() s0=() out
  for p in $SIM $GW $FWD; do t0+=("$(cpu_ticks $p)"); s0+=("$(sys_ticks $p)"); done
  out=$(wrk -t"${THREADS:-1}" -c"$1" -d"$2" --latency -s "$DIR/$3.lua" "$4")
  echo "$out"
  local i=0 ticks=()
  for p in $SIM $GW $FWD; do
    ticks+=("$(( $(cpu_ticks $p) - t0[i] )) $(( $(sys_ticks $p) - s0[i] ))"); i=$((i + 1))
  done
  echo "cpu ticks of $3: simulator ${ticks[0]} gateway ${ticks[1]} forwarder ${ticks[2]} hz $(getconf CLK_TCK)"
}
show() { echo "$1" | grep -E "Requests/sec|^ +(50|99)%|Non-2xx|Socket errors" || true; cpu_per_request "$1"; }
cpu_per_request() { python3 - "$1" <<'PY'
import re, sys
out = sys.argv[1]
m = re.search(r"cpu ticks of (\w+): simulator (\d+) (\d+) gateway (\d+) (\d+) forwarder (\d+) (\d+) hz (\d+)", out)
n = re.search(r"(\d+) requests in", out)
if m and n:
    target = m.group(1)
    sim, sim_sys, gw, gw_sys, fwd, fwd_sys, hz = map(int, m.groups()[1:]); reqs = int(n.group(1))
    us = lambda ticks: ticks / hz / reqs * 1e6
    part = lambda name, total, system: f"{name} {us(total):.1f} us ({us(system):.1f} in the kernel)"
    parts = {"gw": [part("gateway", gw, gw_sys)], "fwd": [part("bare forwarder", fwd, fwd_sys)]}.get(target, [])
    print("     CPU per request:", ", ".join(parts + [part("simulator", sim, sim_sys)]))
PY
}
if [ -n "${CALLGRIND:-}" ]; then
  # Instructions per request: warm up, zero the counters, drive CG_DURATION at 4 connections,
  # dump; the count of requests is wrk's.
  instructions() { # target pid url
    local out dump
    # CG_PREFILL=60s: drive it that long first, uninstrumented, so the budget's window holds
    # as many grants as in a long run at full speed.
    [ -z "${CG_PREFILL:-}" ] || wrk -t1 -c4 -d"$CG_PREFILL" -s "$DIR/$1.lua" "$3" >/dev/null
    callgrind_control -i on "$2" >/dev/null
    wrk -t1 -c4 -d3s -s "$DIR/$1.lua" "$3" >/dev/null
    callgrind_control -z "$2" >/dev/null
    out=$(wrk -t1 -c4 -d"${CG_DURATION:-20s}" -s "$DIR/$1.lua" "$3")
    callgrind_control --dump="$1" "$2" >/dev/null
    callgrind_control -i off "$2" >/dev/null
    dump=$(ls -t "$CG_OUT"/*."$2".* | head -1)
    echo "$1 $(echo "$out" | sed -nE 's/^ *([0-9]+) requests in.*/\1/p') $(sed -nE 's/^totals: ([0-9]+).*/\1/p' "$dump") $dump"
  }
  gw_i=$(instructions gw $GW "$GW_URL"); fwd_i=$(instructions fwd $FWD "$FWD_URL")
  python3 - "$gw_i" "$fwd_i" <<'PY2'
import sys
rows = [a.split() for a in sys.argv[1:3]]
per = {}
for name, reqs, total, dump in rows:
    per[name] = int(total) / int(reqs)
    print(f"{name}: {int(reqs)} requests, {int(total):,} instructions = {per[name]:,.0f} per request ({dump})")
print(f"instructions per request: gateway {per['gw']:,.0f} vs bare forwarder {per['fwd']:,.0f} = ratio {per['gw'] / per['fwd']:.2f}")
PY2
  exit 0
fi
echo "== throughput, wrk -t${THREADS:-1} -c$CONNS -d$DURATION"
echo "-- simulator $SIM_URL"; sim_out=$(run "$CONNS" "$DURATION" sim "$SIM_URL"); show "$sim_out"
if [ -n "${PROFILE:-}" ]; then # PROFILE=1: flat perf profile of the gateway process during its run
  perf record -q -F 499 -p $GW -o "$DIR/perf.data" 2>/dev/null & PERF=$!
fi
echo "-- gateway $GW_URL"; gw_out=$(run "$CONNS" "$DURATION" gw "$GW_URL"); show "$gw_out"
echo "-- bare forwarder $FWD_URL (no auth, validation, budget, metrics)"
fwd_out=$(run "$CONNS" "$DURATION" fwd "$FWD_URL"); show "$fwd_out"
kill -0 $GW 2>/dev/null || { echo "the gateway died during its run:"; tail -20 "$DIR/gw.log"; exit 1; }
if [ -n "${PROFILE:-}" ]; then
  kill -INT $PERF 2>/dev/null || true; wait $PERF 2>/dev/null || true
  { perf report -i "$DIR/perf.data" --no-children --sort dso --stdio 2>/dev/null | grep '%' | cut -c1-60
    perf report -i "$DIR/perf.data" --no-children --sort dso,symbol --stdio 2>/dev/null | grep '%' | cut -c1-160 | head -80
  } >"${PROFILE_OUT:-/tmp/gateway_overhead.perf.txt}" || true
  echo "perf profile of the gateway: ${PROFILE_OUT:-/tmp/gateway_overhead.perf.txt}"
fi
if [ -n "${BREAKDOWN:-}" ]; then # BREAKDOWN=1: the gateway's own cost without the upstream call
  cat >"$DIR/auth.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"alfapassNumber":"AP1000001","releaseIdentification":[]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $GW_TOKEN"
LUA
  echo "-- gateway GET /health (server, middleware, logging; no auth, no upstream)"
  show "$(wrk -t2 -c"$CONNS" -d"$DURATION" --latency $G/health)"
  echo "-- gateway 400 after auth + JSON validation (empty releaseIdentification; no upstream)"
  show "$(wrk -t2 -c"$CONNS" -d"$DURATION" --latency -s "$DIR/auth.lua" "$GW_URL")"
fi
echo "== latency, wrk -t1 -c1 -d5s"
sim1=$(THREADS=1 run 1 5s sim "$SIM_URL"); echo "-- simulator"; show "$sim1"
gw1=$(THREADS=1 run 1 5s gw "$GW_URL"); echo "-- gateway"; show "$gw1"
python3 - "$sim_out" "$gw_out" "$sim1" "$gw1" "$fwd_out" <<'PY'
import re, sys
def rps(out): return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
def p50(out):
    v, unit = re.search(r"50%\s+([\d.]+)(us|ms|s)", out).groups()
    return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
def non2xx(out):
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out); return int(m.group(1)) if m else 0
sim, gw, sim1, gw1, fwd = sys.argv[1:6]
ratio = rps(gw) / rps(sim)
added = p50(gw1) - p50(sim1)
added_loaded = p50(gw) - p50(sim)
print(f"throughput: gateway {rps(gw):.0f}/s vs simulator {rps(sim):.0f}/s = ratio {ratio:.2f} (target >= 0.50): {'OK' if ratio >= 0.5 else 'BELOW TARGET'}")
print(f"ceiling of one HTTP hop: bare forwarder {rps(fwd):.0f}/s = ratio {rps(fwd) / rps(sim):.2f}; gateway / bare forwarder = {rps(gw) / rps(fwd):.2f}")
def cpu_us(out, who):
    m = re.search(r"cpu ticks of \w+: simulator (\d+) \d+ gateway (\d+) \d+ forwarder (\d+) \d+ hz (\d+)", out)
    reqs = int(re.search(r"(\d+) requests in", out).group(1))
    ticks = {"sim": 1, "gw": 2, "fwd": 3}[who]
    return int(m.group(ticks)) / int(m.group(4)) / reqs * 1e6
gw_cpu, fwd_cpu = cpu_us(gw, "gw"), cpu_us(fwd, "fwd")
print(f"CPU per request: gateway {gw_cpu:.1f} us vs bare forwarder {fwd_cpu:.1f} us = ratio {gw_cpu / fwd_cpu:.2f} (1 / ratio: {fwd_cpu / gw_cpu:.2f})")
print(f"p50 added latency, 1 connection: {p50(gw1):.3f} - {p50(sim1):.3f} = {added:.3f} ms (target < 1 ms): {'OK' if added < 1.0 else 'ABOVE TARGET'}")
print(f"p50 added latency at load: {p50(gw):.3f} - {p50(sim):.3f} = {added_loaded:.3f} ms")
bad = sum(non2xx(o) for o in (sim, gw, sim1, gw1, fwd))
if bad: print(f"WARNING: {bad} non-2xx answers")
PY
