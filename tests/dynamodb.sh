# Sourced by tests/run.sh and infra/local-functions.sh: the local
# DynamoDB-compatible server (moto, in ./.venv; tests/dynamodb_server.py).
#
#   start_dynamodb PORT LOG   installs moto if needed, starts the server on
#                             127.0.0.1:PORT (0: a free port), waits until it
#                             answers, and exports DYNAMODB_ENDPOINT and
#                             DYNAMODB_PID. Fails, showing the log, if it cannot.
VENV=.venv
MOTO_VERSION=5.2.5

start_dynamodb() {
  local port=$1 log=$2
  if ! "$VENV/bin/python" -c "import moto, flask, flask_cors; assert moto.__version__ == '$MOTO_VERSION'" 2>/dev/null; then
    printf '\n==> installing moto %s (the local DynamoDB server) into %s\n' "$MOTO_VERSION" "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "moto[dynamodb]==$MOTO_VERSION" flask flask-cors
  fi
  if [ "$port" = 0 ]; then
    port=$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  fi
  mkdir -p "$(dirname "$log")"
  printf '\n==> starting the DynamoDB server on 127.0.0.1:%s (log: %s)\n' "$port" "$log"
  "$VENV/bin/python" tests/dynamodb_server.py 127.0.0.1 "$port" >"$log" 2>&1 &
  DYNAMODB_PID=$!
  local answers="import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/')"
  for _ in $(seq 1 100); do
    if "$VENV/bin/python" -c "$answers" 2>/dev/null; then break; fi
    if ! kill -0 "$DYNAMODB_PID" 2>/dev/null; then break; fi
    sleep 0.3
  done
  if ! "$VENV/bin/python" -c "$answers" 2>/dev/null; then
    echo "The local DynamoDB server did not start on port $port. Its log ($log):" >&2
    cat "$log" >&2
    return 1
  fi
  export DYNAMODB_ENDPOINT="http://127.0.0.1:$port" DYNAMODB_PID
}
