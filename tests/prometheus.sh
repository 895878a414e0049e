#!/usr/bin/env bash
# A real Prometheus (Debian's `prometheus` package, installed with apt-get
# when missing) scrapes a dev server's /metrics every second while verifies
# run against it, and the verify rate, by outcome, and a latency quantile are
# read back through Prometheus' own query API. tests/run.sh calls it.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

PROMETHEUS=${PROMETHEUS_PATH:-/usr/bin/prometheus}
if [ ! -x "$PROMETHEUS" ]; then
  step "installing Debian's prometheus (this test scrapes the dev server with it)"
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  elif command -v sudo >/dev/null; then
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  else
    echo "No Prometheus at $PROMETHEUS and no way to install it: run \`apt-get install -y prometheus\` as root (or set PROMETHEUS_PATH)." >&2
    exit 1
  fi
fi

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

cargo build --quiet --locked -p dev-server
data=$(mktemp -d)
port=$(free_port)
prom_port=$(free_port)
env -u DYNAMODB_ENDPOINT target/debug/dev-server --addr "127.0.0.1:$port" --data-dir "$data/store" \
  >"$data/out" 2>"$data/err" &
server=$!
prometheus=""
trap 'kill $server $prometheus 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do [ -f "$data/store/dev.env" ] && break; sleep 0.1; done
if [ ! -f "$data/store/dev.env" ]; then
  echo "the dev server did not start: see below" >&2
  cat "$data/err" >&2
  exit 1
fi
# shellcheck disable=SC1091
source "$data/store/dev.env"

cat >"$data/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: api-keys-manager
    static_configs:
      - targets: ["127.0.0.1:$port"]
YAML
"$PROMETHEUS" --config.file="$data/prometheus.yml" --storage.tsdb.path="$data/tsdb" \
  --web.listen-address="127.0.0.1:$prom_port" >"$data/prometheus.log" 2>&1 &
prometheus=$!

step "verifies against the dev server while Prometheus scrapes it; the rate read back from Prometheus"
API="$API" PROMETHEUS_URL="http://127.0.0.1:$prom_port" python3 - <<'PY'
import json, os, threading, time, urllib.parse, urllib.request

api, prometheus = os.environ["API"], os.environ["PROMETHEUS_URL"]
owner = {"authorization": f"Bearer {os.environ['OWNER_TOKEN']}", "content-type": "application/json"}

def call(method, url, body=None, headers=owner):
    data = None if body is None else json.dumps(body).encode()
    with urllib.request.urlopen(urllib.request.Request(url, data, headers, method=method), timeout=10) as answer:
        return json.loads(answer.read() or b"null")

key = call("POST", f"{api}/v1/api-keys", {"application_id": os.environ["APP_ID"], "arx_id": os.environ["ARX_ID"], "name": "scraped"})["access_key"]

# /metrics is Prometheus text, from this machine.
with urllib.request.urlopen(f"{api}/metrics", timeout=10) as answer:
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4"), answer.headers["content-type"]
    text = answer.read().decode()
assert "# TYPE akm_verifies_total counter" in text, text[:500]
assert key not in text

# Ten seconds of verifies from four threads: good ones and made-up ones.
stop = time.monotonic() + 10
counts = {}
def verifier(n):
    # One character off: its checksum fails, so it is refused unread (MALFORMED).
    wrong = key[:-7] + "AAAAAAA"
    while time.monotonic() < stop:
        for presented in (key, key, wrong) if n % 2 else (key,):
            code = call("POST", f"{api}/v1/verify", {"key": presented})["code"]
            counts[code] = counts.get(code, 0) + 1
threads = [threading.Thread(target=verifier, args=(n,)) for n in range(4)]
for thread in threads: thread.start()
for thread in threads: thread.join()
print("verifies sent:", counts)

def query(expression):
    url = f"{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": expression})
    answer = call("GET", url, headers={})
    assert answer["status"] == "success", answer
    return answer["data"]["result"]

rate = 'sum by (outcome) (rate(akm_verifies_total[15s]))'
until = time.monotonic() + 30
while True:
    result = {series["metric"].get("outcome"): float(series["value"][1]) for series in query(rate)}
    if result.get("VALID", 0) > 0 and result.get("MALFORMED", 0) > 0:
        break
    if time.monotonic() > until:
        raise SystemExit(f"Prometheus has no verify rate after 30 s: {result}; targets: {call('GET', prometheus + '/api/v1/targets', headers={})}")
    time.sleep(1)
print("verify rate by outcome, per second, from Prometheus:", {k: round(v, 1) for k, v in result.items()})
assert result.get("VALID", 0) > 1 and result.get("MALFORMED", 0) > 0, result
p99 = query('histogram_quantile(0.99, sum by (le) (rate(akm_verify_duration_seconds_bucket[15s])))')
assert p99 and float(p99[0]["value"][1]) > 0, p99
print("p99 verify latency in process, from Prometheus:", round(float(p99[0]["value"][1]) * 1000, 3), "ms")
# Every verify sent is counted, once the next scrapes are in.
until = time.monotonic() + 10
while float(query('sum(akm_requests_total{route="VerifyKey"})')[0]["value"][1]) < sum(counts.values()):
    assert time.monotonic() < until, (query('sum(akm_requests_total{route="VerifyKey"})'), counts)
    time.sleep(1)
PY
