#!/usr/bin/env bash
# The one test command (the README gives it, .ci/run calls it).
#
# On a fresh machine it installs what the tests need (moto into ./.venv; SAM CLI
# and cfn-lint into ./.venv-infra), starts a local DynamoDB-compatible server
# (tests/dynamodb.sh) on a free loopback port, lints the SAM template, runs
# `cargo fmt --check` and clippy with warnings denied, builds the console and
# every function's binary (the boot test runs them), runs every test with
# DYNAMODB_ENDPOINT set, drives the dev server with schemathesis
# (tests/hostile.sh), tests the console in Chromium (tests/console.sh), then
# stops the server it started. A server that will not start fails the
# run, saying so: the DynamoDB tests are never skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

LOG=target/moto-server.log

step() { printf '\n==> %s\n' "$*"; }

source tests/dynamodb.sh
start_dynamodb 0 "$LOG"
trap 'kill "$DYNAMODB_PID" 2>/dev/null || true; wait "$DYNAMODB_PID" 2>/dev/null || true' EXIT

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

# The console function embeds the console's build, and the boot test runs
# every function's binary: both are built before the tests.
bash tests/console.sh build
step "cargo build --workspace --bins (the Lambda boot test runs each function)"
cargo build --workspace --bins --locked

step "cargo test (DYNAMODB_ENDPOINT=$DYNAMODB_ENDPOINT)"
# The Rust client's tests need the dev server tests/clients.sh starts.
cargo test --workspace --locked --exclude api-keys-client

step "client libraries: Rust, TypeScript, Python, against a dev server"
bash tests/clients.sh

step "operations: a real Prometheus scrapes the dev server's /metrics under verifies"
bash tests/prometheus.sh

step "hostile input: schemathesis from docs/openapi.yaml, with each role's token"
bash tests/hostile.sh

step "the console: browser tests"
bash tests/console.sh browser
