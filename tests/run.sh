#!/usr/bin/env bash
# The one test command (the README gives it, .ci/run calls it).
#
# On a fresh machine it installs what the tests need (moto into ./.venv; SAM CLI
# and cfn-lint into ./.venv-infra), starts a local DynamoDB-compatible server
# (tests/dynamodb_server.py) on a free loopback port, lints the SAM template,
# runs `cargo fmt --check`, clippy with warnings denied and every test with
# DYNAMODB_ENDPOINT set, drives the dev server with schemathesis
# (tests/hostile.sh), builds and tests the console in Chromium (tests/console.sh),
# then stops the server it started. A server that will not start fails the
# run, saying so: the DynamoDB tests are never skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
MOTO_VERSION=5.2.5
LOG=target/moto-server.log

step() { printf '\n==> %s\n' "$*"; }

if ! "$VENV/bin/python" -c "import moto, flask, flask_cors; assert moto.__version__ == '$MOTO_VERSION'" 2>/dev/null; then
  step "installing moto $MOTO_VERSION (the local DynamoDB server) into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "moto[dynamodb]==$MOTO_VERSION" flask flask-cors
fi

port=$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p target
step "starting the DynamoDB server on 127.0.0.1:$port (log: $LOG)"
"$VENV/bin/python" tests/dynamodb_server.py 127.0.0.1 "$port" >"$LOG" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true' EXIT

for _ in $(seq 1 100); do
  if "$VENV/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/')" 2>/dev/null; then
    break
  fi
  if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
  sleep 0.3
done
if ! "$VENV/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/')" 2>/dev/null; then
  echo "The local DynamoDB server did not start, so the DynamoDB tests cannot run. Its log ($LOG):" >&2
  cat "$LOG" >&2
  exit 1
fi
export DYNAMODB_ENDPOINT="http://127.0.0.1:$port"

source infra/tools.sh
install_infra_tools
step "cfn-lint infra/template.yaml"
cfn-lint infra/template.yaml
step "sam validate --lint"
sam validate --lint --template infra/template.yaml

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test (DYNAMODB_ENDPOINT=$DYNAMODB_ENDPOINT)"
cargo test --workspace --locked

step "hostile input: schemathesis from docs/openapi.yaml, with each role's token"
bash tests/hostile.sh

step "the console: type check, build and browser tests"
bash tests/console.sh
