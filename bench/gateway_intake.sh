#!/usr/bin/env bash
# Issue 3 figure "outbox intake": accepted durable writes per second into SQLite.
# Starts the release `cpu-gateway serve` in sim mode (embedded simulator, SQLite in a fresh
# temporary folder, WAL + synchronous=FULL, group commit), caller quota off, then wrk POSTs
# /v1/discharges with a distinct, valid ISO 6346 container per request (Lua computes the check
# digit). Prints accepted (202) writes/s and latency; then kill -9s the gateway and counts the
# rows in the SQLite file: every 202 must be there (durable).
# Usage: bench/gateway_intake.sh [duration, default 10s] [connections, default 64]
#        NO_BUILD=1 bench/gateway_intake.sh   (use the release binary as it is)
#        RUST_LOG=warn bench/gateway_intake.sh   (the default log level is info, to a file)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10s}
CONNS=${2:-64}
PORT=18281
command -v wrk >/dev/null || { echo "wrk missing (apt-get install wrk)"; exit 1; }
command -v sqlite3 >/dev/null || { echo "sqlite3 missing (apt-get install sqlite3)"; exit 1; }
[ -n "${NO_BUILD:-}" ] || cargo build --release --quiet --bin cpu-gateway
DIR=$(mktemp -d)
LUA="$DIR/discharge.lua"
GW=""
trap '[ -n "$GW" ] && kill -9 $GW 2>/dev/null; rm -rf "$DIR"' EXIT
CPU_GATEWAY_DATA_DIR="$DIR/data" CPU_GATEWAY_QUOTA__PER_MINUTE=0 \
  ./target/release/cpu-gateway serve --listen 127.0.0.1:$PORT >"$DIR/stdout" 2>"$DIR/gateway.log" &
GW=$!
TOKEN=""
for _ in $(seq 1 100); do
  TOKEN=$(sed -nE 's/^Demo editor token .*: (.+)$/\1/p' "$DIR/stdout")
  [ -n "$TOKEN" ] && break
  sleep 0.1
done
[ -n "$TOKEN" ] || { echo "gateway did not print a demo token"; cat "$DIR/gateway.log"; exit 1; }
cat >"$LUA" <<LUA
-- A distinct container per request: BNCU + 6 digits (thread offset + counter) + check digit.
local letters = {A=10,B=12,C=13,D=14,E=15,F=16,G=17,H=18,I=19,J=20,K=21,L=23,M=24,N=25,O=26,
  P=27,Q=28,R=29,S=30,T=31,U=32,V=34,W=35,X=36,Y=37,Z=38}
local threads = 0
function setup(thread) thread:set("tid", threads); threads = threads + 1 end
local counter = 0
local function check_digit(prefix)
  local sum = 0
  for i = 1, 10 do
    local c = prefix:sub(i, i)
    sum = sum + (letters[c] or tonumber(c)) * 2 ^ (i - 1)
  end
  return math.floor(sum) % 11 % 10
end
local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer $TOKEN"}
function request()
  counter = counter + 1
  local prefix = string.format("BNCU%06d", (tid * 500000 + counter) % 1000000)
  local body = '{"equipmentNumber":"' .. prefix .. check_digit(prefix) ..
    '","timestamp":"2026-11-22T08:00:00Z","fullEmptyIndicator":"full","equipmentStatus":"import"}'
  return wrk.format("POST", "/v1/discharges", headers, body)
end
LUA
echo "== POST /v1/discharges, wrk -t2 -c$CONNS -d$DURATION (release, sim mode, SQLite WAL synchronous=FULL, RUST_LOG=${RUST_LOG:-info})"
out=$(wrk -t2 -c"$CONNS" -d"$DURATION" --latency -s "$LUA" http://127.0.0.1:$PORT/)
echo "$out" | grep -E "requests in|Requests/sec|50%|99%|Non-2xx|Socket errors" || true
kill -9 $GW; wait $GW 2>/dev/null || true; GW=""
total=$(echo "$out" | awk '/requests in/ {print $1}')
secs=$(echo "$out" | awk '/requests in/ {gsub("s,","",$4); print $4}')
non2xx=$(echo "$out" | awk '/Non-2xx/ {print $5}'); non2xx=${non2xx:-0}
rows=$(sqlite3 "$DIR/data/gateway.db" "SELECT count(*) FROM operations")
python3 - "$total" "$non2xx" "$secs" "$rows" <<'PY'
import sys
total, non2xx, secs, rows = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
accepted = total - non2xx
rate = accepted / secs
print(f"accepted writes = {accepted} in {secs:.2f}s = {rate:.0f}/s (target >= 2000/s): {'OK' if rate >= 2000 else 'BELOW TARGET'}")
print(f"after kill -9: {rows} operations in SQLite for {accepted} answered 202: {'durable' if rows >= accepted else 'LOST WRITES'}")
sys.exit(0 if rows >= accepted and non2xx == 0 else 1)
PY
