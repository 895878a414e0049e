#!/usr/bin/env bash
# Single Lambda functions on this machine, under cargo-lambda's emulator, on a
# local DynamoDB server: the one command that provides both.
#
#   bash infra/local-functions.sh            # then, in another terminal:
#   bash infra/local-functions.sh invoke list-api-keys infra/events/list-api-keys.json
#
# The first form installs cargo-lambda (into ./.venv-infra) and moto (into
# ./.venv) if needed, starts the DynamoDB server on 127.0.0.1:8000, creates
# and seeds the `api-keys-dev` table through the dev server (which keeps
# serving the whole API on 127.0.0.1:3000), then runs `cargo lambda watch`
# (the functions on 127.0.0.1:9000, rebuilt on change). Ctrl-C stops it all.
set -euo pipefail
cd "$(dirname "$0")/.."
source infra/tools.sh

if [ "${1:-}" = invoke ]; then
  [ $# -eq 3 ] || { echo "usage: infra/local-functions.sh invoke FUNCTION EVENT_FILE" >&2; exit 2; }
  install_infra_tools
  exec cargo lambda invoke "$2" --data-file "$3"
fi

source tests/dynamodb.sh
install_infra_tools
start_dynamodb 8000 target/local-dynamodb.log
children=("$DYNAMODB_PID")
trap 'kill "${children[@]}" 2>/dev/null || true' EXIT

printf '\n==> the dev server on %s: creates and seeds the table, prints tokens\n' "$DYNAMODB_ENDPOINT"
cargo build --locked -q -p dev-server
target/debug/dev-server --dynamodb-endpoint "$DYNAMODB_ENDPOINT" --data-dir .data/local-functions &
children+=("$!")
for _ in $(seq 1 100); do
  curl -fs http://127.0.0.1:3000/config.json >/dev/null 2>&1 && break
  sleep 0.2
done

printf '\n==> cargo lambda watch: the functions on 127.0.0.1:9000\n'
printf 'In another terminal: bash infra/local-functions.sh invoke list-api-keys infra/events/list-api-keys.json\n'
cargo lambda watch \
  --env-var TABLE_NAME=api-keys-dev --env-var "DYNAMODB_ENDPOINT=$DYNAMODB_ENDPOINT" \
  --env-var AWS_REGION=us-east-1 --env-var AWS_ACCESS_KEY_ID=local --env-var AWS_SECRET_ACCESS_KEY=local
