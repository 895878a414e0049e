#!/usr/bin/env bash
# Load test of the dev server on the embedded store with wrk (Debian: wrk):
# healthz (no token, a constant answer: the ceiling), list, get, create,
# verify (warm: one key, its verdict cached),
# verify-garbage, verify-limited (a key with credits: every verify is a
# charge, a write), verify-rated (a key with a rate limit, likewise) and
# verify-identity (a key with credits of an identity with credits and a rate
# limit: three counters charged together, both or neither), ratelimit (one
# identifier checked in a namespace of a million a second: leased) and
# ratelimit-spread (a new identifier each request: a counter made each time) at 1
# and 16 connections, DURATION each (default 10s); then,
# after a restart with VERIFY_CACHE_SECONDS=0, verify-cold (every verify reads
# and hashes). It checks that the tenant's key count equals the number of 201s,
# that every verify answered 200, and that no request got a 5xx, and reports
# the ratios the cold-path issue aims at (warm verify against healthz, cold
# against warm, creates a second), all from this one run. Results go to
# stdout; docs/benchmarks.md keeps them.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v wrk >/dev/null || { echo "needs wrk: apt-get install wrk" >&2; exit 1; }
DURATION=${DURATION:-10s}

cargo build --quiet --profile bench -p dev-server
data=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
start_server() {
  rm -f "$data/dev.env"
  JWT_HS256_SECRET=load-test-secret-load-test-secret-load \
    "${CARGO_TARGET_DIR:-target}/release/dev-server" --addr "127.0.0.1:$port" --data-dir "$data" --sweep-every 3600 \
    >"$data/out" 2>"$data/err" &
  server=$!
  for _ in $(seq 1 100); do [ -f "$data/dev.env" ] && break; sleep 0.1; done
}
start_server
trap 'kill $server 2>/dev/null || true; rm -rf "$data"' EXIT
# shellcheck disable=SC1091
source "$data/dev.env"
export TOKEN=$DEVELOPER_TOKEN VERIFIER_TOKEN APP_ID ARX_ID
created=$(curl -s -X POST "$API/v1/api-keys" -H "Authorization: Bearer $TOKEN" \
  --json "{\"application_id\":\"$APP_ID\",\"arx_id\":\"$ARX_ID\"}")
export KEY_ID ACCESS_KEY
KEY_ID=$(echo "$created" | grep -o '"id":"apikey--[0-9a-f]*"' | cut -d'"' -f4)
ACCESS_KEY=$(echo "$created" | grep -o '"access_key":"[^"]*"' | cut -d'"' -f4)
limited=$(curl -s -X POST "$API/v1/api-keys" -H "Authorization: Bearer $TOKEN" \
  --json "{\"application_id\":\"$APP_ID\",\"arx_id\":\"$ARX_ID\",\"limits\":{\"credits\":{\"remaining\":1000000000}}}")
export LIMITED_KEY
LIMITED_ID=$(echo "$limited" | grep -o '"id":"apikey--[0-9a-f]*"' | cut -d'"' -f4)
LIMITED_KEY=$(echo "$limited" | grep -o '"access_key":"[^"]*"' | cut -d'"' -f4)
rated=$(curl -s -X POST "$API/v1/api-keys" -H "Authorization: Bearer $TOKEN" \
  --json "{\"application_id\":\"$APP_ID\",\"arx_id\":\"$ARX_ID\",\"limits\":{\"rate\":{\"requests\":1000000,\"per_seconds\":1}}}")
export RATED_KEY
RATED_KEY=$(echo "$rated" | grep -o '"access_key":"[^"]*"' | cut -d'"' -f4)
curl -s -X POST "$API/v1/identities" -H "Authorization: Bearer $OWNER_TOKEN" \
  --json '{"external_id":"load-customer","limits":{"credits":{"remaining":1000000000},"rate_limits":[{"name":"requests","requests":1000000,"per_seconds":1}]}}' >/dev/null
of_identity=$(curl -s -X POST "$API/v1/api-keys" -H "Authorization: Bearer $TOKEN" \
  --json "{\"application_id\":\"$APP_ID\",\"arx_id\":\"$ARX_ID\",\"external_id\":\"load-customer\",\"limits\":{\"credits\":{\"remaining\":1000000000}}}")
export IDENTITY_KEY
IDENTITY_KEY=$(echo "$of_identity" | grep -o '"access_key":"[^"]*"' | cut -d'"' -f4)
curl -s -X POST "$API/v1/ratelimit-namespaces" -H "Authorization: Bearer $OWNER_TOKEN" \
  --json '{"name":"load","limit":1000000,"duration":1}' >/dev/null

results=$(mktemp)
run() {
  printf '\n== %s, %s connection(s), %s\n' "$1" "$2" "$DURATION" | tee -a "$results"
  SCENARIO=$1 wrk -t "$(( $2 < 2 ? 1 : 2 ))" -c "$2" -d "$DURATION" \
    -s tests/load/scenario.lua "$API" | tee -a "$results" | grep -E "status|RESULT"
}
for connections in 1 16; do
  for scenario in healthz list get create verify verify-garbage verify-limited verify-rated verify-identity ratelimit ratelimit-spread; do
    run "$scenario" "$connections"
  done
done
# Every counted verify of the warm key is in its usage counts (read through
# the API, which writes what is pending first): the counted 200s plus at
# most the 1 + 16 in flight when wrk stopped.
verified=$(awk '/^== verify, / {v = 1; next} /^== / {v = 0} v && /^status 200:/ {s += $3} END {print s + 0}' "$results")
usage_total=$(curl -s "$API/v1/api-keys/$KEY_ID/usage?granularity=day&from=$(date -u -d '-1 day' +%Y-%m-%dT%H:%M:%SZ)" \
  -H "Authorization: Bearer $TOKEN" | grep -o '"total":[0-9]*' | head -1 | cut -d: -f2)
printf '
verify (warm, counting on): %s answered, %s counted in the key usage
' "$verified" "$usage_total"
[ "$usage_total" -ge "$verified" ] || { echo "FAILED: $verified verifies answered but $usage_total counted" >&2; exit 1; }
[ "$(( usage_total - verified ))" -le 17 ] || { echo "FAILED: $usage_total counted for $verified verifies" >&2; exit 1; }
kill "$server"; wait "$server" 2>/dev/null || true
VERIFY_CACHE_SECONDS=0 start_server
printf '\n(restarted with VERIFY_CACHE_SECONDS=0: every verify below is cold)\n'
for connections in 1 16; do
  printf '\n== verify-cold, %s connection(s), %s\n' "$connections" "$DURATION" | tee -a "$results"
  SCENARIO=verify wrk -t "$(( connections < 2 ? 1 : 2 ))" -c "$connections" -d "$DURATION" \
    -s tests/load/scenario.lua "$API" | sed 's/RESULT verify /RESULT verify-cold /' \
    | tee -a "$results" | grep -E "status|RESULT"
done

kill "$server"; wait "$server" 2>/dev/null || true
USAGE_FLUSH_SECONDS=off start_server
printf '\n(restarted with USAGE_FLUSH_SECONDS=off: the warm verifies below are not counted)\n'
printf '\n== verify-uncounted, 16 connection(s), %s\n' "$DURATION" | tee -a "$results"
SCENARIO=verify wrk -t 2 -c 16 -d "$DURATION" -s tests/load/scenario.lua "$API" \
  | sed 's/RESULT verify /RESULT verify-uncounted /' | tee -a "$results" | grep -E "status|RESULT"

# What the metrics cost warm verify: metrics on, off (TELEMETRY=off), on,
# off, each on a fresh start, so the order of the runs weighs on neither.
for round in 1 2; do
  for telemetry in on off; do
    kill "$server"; wait "$server" 2>/dev/null || true
    TELEMETRY=$telemetry start_server
    printf '\n== verify-metrics-%s-%s, 16 connection(s), %s\n' "$telemetry" "$round" "$DURATION" | tee -a "$results"
    SCENARIO=verify wrk -t 2 -c 16 -d "$DURATION" -s tests/load/scenario.lua "$API" \
      | sed "s/RESULT verify /RESULT verify-metrics-$telemetry-$round /" | tee -a "$results" | grep -E "status|RESULT"
  done
done

sum_of() { awk -v pattern="$1" '$0 ~ pattern {s += $3} END {print s + 0}' "$results"; }
created_ok=$(sum_of '^status 201:')
server_errors=$(sum_of '^status 5[0-9][0-9]:')
counts=$(curl -s "$API/v1/api-keys?limit=1" -H "Authorization: Bearer $TOKEN" | grep -o '"counts":{[^}]*}')
total=$(echo "$counts" | grep -o '"total":[0-9]*' | cut -d: -f2)
printf '\ncreated by the load: %s (+3 before it); tenant counts: %s; 5xx: %s\n' "$created_ok" "$counts" "$server_errors"
[ "$server_errors" -eq 0 ] || { echo "FAILED: 5xx answers" >&2; exit 1; }
not_ok=$(awk '/^== (verify|ratelimit)/ {v = 1; next} /^== / {v = 0} v && /^status / && $2 != "200:" {s += $3} END {print s + 0}' "$results")
[ "$not_ok" -eq 0 ] || { echo "FAILED: $not_ok verify or rate-limit answers were not 200" >&2; exit 1; }
# wrk stops counting at the deadline with up to one request in flight per
# connection; the server may still complete those. So every 201 must be a key
# (nothing lost), and at most 1 + 16 keys may have no counted 201.
extra=$(( total - created_ok - 3 ))
[ "$extra" -ge 0 ] || { echo "FAILED: $total keys for $created_ok 201s: keys were lost" >&2; exit 1; }
[ "$extra" -le 17 ] || { echo "FAILED: $extra keys more than 201s, beyond the requests in flight" >&2; exit 1; }
# Every counted verify of the limited key spent one credit, none twice: the
# balance fell by the counted 200s plus at most the 1 + 16 in flight. (The
# server leases a hot key's credits, counted as spent until they come back;
# it gave them back when it stopped for the restarts above.)
charged=$(awk '/^== verify-limited/ {v = 1; next} /^== / {v = 0} v && /^status 200:/ {s += $3} END {print s + 0}' "$results")
left=$(curl -s "$API/v1/api-keys/$LIMITED_ID" -H "Authorization: Bearer $TOKEN" | grep -o '"credits_remaining":[0-9]*' | cut -d: -f2)
spent=$(( 1000000000 - left ))
printf 'verify-limited: %s answered, %s credits spent\n' "$charged" "$spent"
[ "$spent" -ge "$charged" ] || { echo "FAILED: $charged verifies answered but $spent credits spent" >&2; exit 1; }
[ "$(( spent - charged ))" -le 17 ] || { echo "FAILED: $spent credits spent for $charged verifies" >&2; exit 1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }
aim() { awk -v r="$1" -v at="$2" 'BEGIN {print (r >= at ? "met" : "NOT met")}'; }
# Requests a second of one scenario at 16 connections, from its RESULT line.
at16() { awk -v s="== $1, 16 " 'index($0, s) == 1 {v = 1; next} /^== / {v = 0} v && $1 == "RESULT" {print $3}' "$results"; }
healthz16=$(at16 healthz) verify16=$(at16 verify) cold16=$(at16 verify-cold) create16=$(at16 create)
uncounted16=$(at16 verify-uncounted)
counted_vs_not=$(ratio "$verify16" "$uncounted16")
warm_vs_health=$(ratio "$verify16" "$healthz16")
cold_vs_warm=$(ratio "$cold16" "$verify16")
limited16=$(at16 verify-limited) rated16=$(at16 verify-rated) identity16=$(at16 verify-identity)
limited_vs_warm=$(ratio "$limited16" "$verify16") rated_vs_warm=$(ratio "$rated16" "$verify16")
printf '\nAt 16 connections, this run: a key with credits %s req/s = %s x an unlimited key (aim 0.5: %s); with a rate limit %s = %s x (aim 0.5: %s)\n' \
  "$limited16" "$limited_vs_warm" "$(aim "$limited_vs_warm" 0.5)" "$rated16" "$rated_vs_warm" "$(aim "$rated_vs_warm" 0.5)"
printf 'At 16 connections, this run: a key of an identity (three counters charged together) %s req/s = %s x an unlimited key\n' \
  "$identity16" "$(ratio "$identity16" "$verify16")"
ratelimit16=$(at16 ratelimit) spread16=$(at16 ratelimit-spread)
ratelimit_vs_warm=$(ratio "$ratelimit16" "$verify16")
printf 'At 16 connections, this run: a rate-limit check of one identifier %s req/s = %s x warm verify (aim 0.5: %s); of a new identifier each time %s req/s = %s x\n' \
  "$ratelimit16" "$ratelimit_vs_warm" "$(aim "$ratelimit_vs_warm" 0.5)" "$spread16" "$(ratio "$spread16" "$verify16")"
printf 'At 16 connections, this run: warm verify %s req/s = %s x healthz (%s; aim 0.6: %s); cold verify %s = %s x warm (aim 0.1: %s); create %s req/s (aim 1000: %s)\n' \
  "$verify16" "$warm_vs_health" "$healthz16" "$(aim "$warm_vs_health" 0.6)" \
  "$cold16" "$cold_vs_warm" "$(aim "$cold_vs_warm" 0.1)" "$create16" "$(aim "$create16" 1000)"
printf 'Warm verify with usage counting on: %s req/s = %s x with it off (%s req/s; aim 0.9: %s)\n' \
  "$verify16" "$counted_vs_not" "$uncounted16" "$(aim "$counted_vs_not" 0.9)"
metrics_on=$(awk -v a="$(at16 verify-metrics-on-1)" -v b="$(at16 verify-metrics-on-2)" 'BEGIN {printf "%.0f", (a + b) / 2}')
metrics_off=$(awk -v a="$(at16 verify-metrics-off-1)" -v b="$(at16 verify-metrics-off-2)" 'BEGIN {printf "%.0f", (a + b) / 2}')
printf 'Warm verify with metrics on: %s req/s (two runs) = %s x with them off (%s req/s; runs on/off/on/off: %s %s %s %s)\n' \
  "$metrics_on" "$(ratio "$metrics_on" "$metrics_off")" "$metrics_off" \
  "$(at16 verify-metrics-on-1)" "$(at16 verify-metrics-off-1)" "$(at16 verify-metrics-on-2)" "$(at16 verify-metrics-off-2)"
echo "OK: no 5xx; every 201 is a key ($extra more keys from requests in flight when wrk stopped counting); every limited verify spent one credit"
