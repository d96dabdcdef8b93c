#!/usr/bin/env bash
# Issue 2 figure: synchronous truck pickup validation throughput and p99 on loopback, rate limit
# off, against a trivial actix-web handler measured in the same run (wrk, same connections and
# duration). Prints requests/s of both, their ratio, and latency percentiles.
# Usage: [THREADS=1] bench/pickup_validation.sh [duration, default 10s] [connections, default 32]
# One wrk thread by default: on 2 cores a second wrk thread takes CPU from the server under test.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10s}
CONNS=${2:-32}
SIM_PORT=18181
BASE_PORT=18182
command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }; }
cargo build --release --quiet --bin cpu-gateway --example trivial_server
./target/release/cpu-gateway simulate --listen 127.0.0.1:$SIM_PORT --rate-limit 0 --token-ttl 86400 >/tmp/bench-sim.log 2>&1 &
SIM=$!
./target/release/examples/trivial_server 127.0.0.1:$BASE_PORT >/tmp/bench-base.log 2>&1 &
BASE=$!
trap 'kill $SIM $BASE 2>/dev/null || true' EXIT
for port in $SIM_PORT $BASE_PORT; do
  for _ in $(seq 1 50); do curl -fs -o /dev/null "http://127.0.0.1:$port/" -X POST 2>/dev/null && break; curl -s -o /dev/null "http://127.0.0.1:$port/health" && break; sleep 0.1; done
done
B=http://127.0.0.1:$SIM_PORT
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
LUA=$(mktemp)
cat >"$LUA" <<LUA
wrk.method = "POST"
wrk.body = '{"alfapassNumber":"AP1000001","releaseIdentification":[{"equipmentNumber":"$EQ"}]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $PSA_TOKEN"
wrk.headers["Ocp-Apim-Subscription-Key"] = "psa-subscription-key"
LUA
check=$(curl -fs -X POST $B/certified-pickup/v1/BEANR/sync-validation/pickup/containers -H "Authorization: Bearer $PSA_TOKEN" -H 'Ocp-Apim-Subscription-Key: psa-subscription-key' -H 'Content-Type: application/json' -d "{\"alfapassNumber\":\"AP1000001\",\"releaseIdentification\":[{\"equipmentNumber\":\"$EQ\"}]}")
echo "$check" | grep -q '"isValid":true' || { echo "setup failed: $check"; exit 1; }
run() { wrk -t"${THREADS:-1}" -c"$CONNS" -d"$DURATION" --latency -s "$LUA" "$1"; }
echo "== trivial actix-web handler"; base_out=$(run http://127.0.0.1:$BASE_PORT/); echo "$base_out" | grep -E "Requests/sec|50%|99%|Non-2xx"
echo "== simulator sync pickup validation (truck)"; sim_out=$(run $B/certified-pickup/v1/BEANR/sync-validation/pickup/containers); echo "$sim_out" | grep -E "Requests/sec|50%|99%|Non-2xx"
base_rps=$(echo "$base_out" | awk '/Requests\/sec/ {print $2}')
sim_rps=$(echo "$sim_out" | awk '/Requests\/sec/ {print $2}')
python3 -c "print(f'ratio simulator/baseline = {float($sim_rps)/float($base_rps):.2f} (target >= 0.50)')"
