#!/usr/bin/env bash
# The whole product on one machine: the API and the web console on
# http://127.0.0.1:3000, on an embedded store in ./.data.
#
# Builds the console first when it is missing or older than its sources (needs
# Node.js 20.19+ and npm), then starts the dev server. Arguments go to the dev
# server: `bash run.sh --addr 127.0.0.1:8080`, `bash run.sh --help`.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v npm >/dev/null; then
  echo "The console needs Node.js 20.19+ and npm (https://nodejs.org). Without them," \
    "\`cargo run -p dev-server\` starts the API alone." >&2
  exit 1
fi
if [ ! -f console/node_modules/.package-lock.json ] ||
  [ console/package-lock.json -nt console/node_modules/.package-lock.json ]; then
  echo "==> installing the console's packages (npm ci)"
  npm --prefix console ci --no-audit --no-fund --loglevel=error
fi
if [ ! -f console/dist/index.html ] ||
  [ -n "$(find console/src console/index.html console/public console/package-lock.json docs/openapi.yaml \
    -newer console/dist/index.html -print -quit)" ]; then
  echo "==> building the console (npm run build)"
  npm --prefix console run build --silent
fi

exec cargo run --locked -p dev-server -- "$@"
