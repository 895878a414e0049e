#!/usr/bin/env bash
# The client libraries' tests (clients/), against a real dev server this
# script starts on a free loopback port with a fresh data folder: each
# library's own tests, the README's examples, and a fresh project that
# installs the library from the repository. tests/run.sh calls it; it
# installs what it needs (a venv for Python, npm ci for TypeScript).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

VENV=.venv-clients
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi

cargo build --quiet --locked -p dev-server
data=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
env -u DYNAMODB_ENDPOINT RUST_LOG=info target/debug/dev-server --addr "127.0.0.1:$port" --data-dir "$data" \
  >"$data/out" 2>"$data/err" &
server=$!
trap 'kill $server 2>/dev/null || true; cp "$data/err" target/clients-dev-server.log 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do [ -f "$data/dev.env" ] && break; sleep 0.1; done
if [ ! -f "$data/dev.env" ]; then
  echo "the dev server did not start: see $data/err" >&2
  cat "$data/err" >&2
  exit 1
fi
# shellcheck disable=SC1091
source "$data/dev.env"
export API_URL=$API

step "the README's client examples are the files the tests below run, byte for byte"
python3 - <<'PY'
import sys
readme = open("README.md", encoding="utf-8").read()
examples = {
    "rust": "clients/rust/examples/protected_service.rs",
    "ts": "clients/typescript/examples/hono-service.ts",
    "python": "clients/python/examples/fastapi_service.py",
}
stale = [path for lang, path in examples.items()
         if f"```{lang}\n" + open(path, encoding="utf-8").read() + "```" not in readme]
if stale:
    sys.exit("README.md's example is not the file the tests run: " + ", ".join(stale)
             + " (paste the whole file into its fenced block)")
print("the README holds", ", ".join(examples.values()))
PY

step "Python client (clients/python): pip install of the folder into $VENV, mypy --strict, pytest"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "./clients/python[test]" "mypy==2.4.1"
(cd clients/python && "../../$VENV/bin/mypy" --strict src/api_keys_manager)
"$VENV/bin/python" -m pytest -q clients/python/tests

step "keys made by djangorestframework-api-key itself are imported from its database and verify (tests/import/drf_import.py)"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "djangorestframework-api-key==3.1.0" \
  "Django>=5.2,<5.3" "djangorestframework>=3.15,<4" "argon2-cffi>=23" "bcrypt>=4"
"$VENV/bin/python" tests/import/drf_import.py


step "Rust client (clients/rust): its tests and the example service"
cargo test --quiet --locked -p api-keys-client

step "TypeScript client (clients/typescript): npm ci, types from docs/openapi.yaml, tsc, node --test"
npm --prefix clients/typescript ci --no-audit --no-fund --loglevel=error
npm --prefix clients/typescript run build --silent
npm --prefix clients/typescript test --silent

# A service key and an access key for the fresh projects below.
read -r SERVICE_KEY ACCESS_KEY < <("$VENV/bin/python" - <<'PY'
import os, httpx
api, headers = os.environ["API_URL"], lambda role: {"authorization": f"Bearer {os.environ[role]}"}
service = httpx.post(f"{api}/v1/service-keys", headers=headers("OWNER_TOKEN"), json={"name": "fresh projects", "role": "verifier"}).json()
key = httpx.post(f"{api}/v1/api-keys", headers=headers("DEVELOPER_TOKEN"), json={"application_id": os.environ["APP_ID"], "arx_id": os.environ["ARX_ID"], "name": "fresh projects"}).json()
print(service["secret"], key["access_key"])
PY
)
export SERVICE_KEY ACCESS_KEY

step "a fresh project installs each library from the repository and verifies a key with a service key"
fresh=$(mktemp -d)
# The npm package is packed as the README says, from the folder as a fresh
# clone has it (no node_modules, no dist, no generated types): packing must
# build what it ships.
mkdir "$fresh/clone"
tar -c --exclude=node_modules --exclude=dist --exclude=src/schema.d.ts --exclude='*.tgz' \
  clients/typescript docs/openapi.yaml | tar -x -C "$fresh/clone"
tarball=$(cd "$fresh/clone/clients/typescript" && npm ci --no-audit --no-fund --loglevel=error >/dev/null \
  && npm pack --silent --pack-destination "$fresh" | tail -n 1)
# Listed whole first: `grep -q` stops at its match, and under pipefail the
# SIGPIPE tar then gets would read as "not in the package".
tar -tzf "$fresh/$tarball" >"$fresh/contents"
if ! grep -q '^package/dist/src/index.js$' "$fresh/contents"; then
  echo "npm pack made a package without dist/src/index.js: the README's install line would not work" >&2
  exit 1
fi
(
  cd "$fresh" && mkdir node && cd node && npm init -y >/dev/null
  npm install --no-audit --no-fund --loglevel=error "$fresh/$tarball"
  cat >check.mjs <<'JS'
import { Client } from '@api-keys-manager/client';
const verdict = await new Client(process.env.API_URL, { serviceKey: process.env.SERVICE_KEY }).verify(process.env.ACCESS_KEY);
if (verdict.code !== 'VALID') throw new Error(`expected VALID, got ${verdict.code}`);
console.log(`npm pack, then npm install: ${verdict.code}`);
JS
  node check.mjs
)
python3 -m venv "$fresh/python"
"$fresh/python/bin/pip" install --quiet --disable-pip-version-check ./clients/python
"$fresh/python/bin/python" -c '
import os
from api_keys_manager import Client
verdict = Client(os.environ["API_URL"], os.environ["SERVICE_KEY"]).verify(os.environ["ACCESS_KEY"])
assert verdict.code == "VALID", verdict.code
print("pip install of the folder:", verdict.code)'
# A cargo path dependency, plain http (the TLS feature is off: the dev
# server is on loopback). The workspace's lock file pins the same versions
# and its target folder holds them built, so this compiles the client only.
mkdir -p "$fresh/rust/src"
cat >"$fresh/rust/Cargo.toml" <<TOML
[package]
name = "fresh-rust-project"
version = "0.1.0"
edition = "2024"

[dependencies]
api-keys-client = { path = "$PWD/clients/rust", default-features = false }
tokio = { version = "1", features = ["macros", "rt-multi-thread"] }
TOML
cat >"$fresh/rust/src/main.rs" <<'RS'
#[tokio::main]
async fn main() {
    let env = |name: &str| std::env::var(name).expect(name);
    let client = api_keys_client::Client::builder(env("API_URL"), env("SERVICE_KEY")).build().expect("a client");
    let verdict = client.verify(&env("ACCESS_KEY")).await.expect("a verdict");
    assert_eq!(verdict.code, "VALID");
    println!("a cargo path dependency: {}", verdict.code);
}
RS
cp Cargo.lock "$fresh/rust/Cargo.lock"
CARGO_TARGET_DIR="$PWD/target" cargo run --quiet --manifest-path "$fresh/rust/Cargo.toml"
rm -rf "$fresh"

# The dev server's log must hold no service key or access key the tests made.
if grep -Eq 'akm(sk)?_[0-9a-f]{32}_[0-9A-Za-z]{36}' "$data/err"; then
  echo "a key reached the dev server's log" >&2
  exit 1
fi
