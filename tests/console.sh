#!/usr/bin/env bash
# The console's checks: `npm ci`, types generated from docs/openapi.yaml and
# `tsc --noEmit`, the production build, then the browser tests (Playwright
# driving Debian's Chromium) against a real dev server on a fresh data folder.
# Installs Chromium with apt-get when it is missing; fails, saying how, when it
# cannot. tests/run.sh calls it.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "The console needs Node.js 20.19+ and npm (https://nodejs.org); neither is on PATH." >&2
  exit 1
fi

CHROMIUM=${CHROMIUM_PATH:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
  step "installing Debian's chromium (the console's browser tests drive it)"
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  elif command -v sudo >/dev/null; then
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "No Chromium at $CHROMIUM and no way to install it: run \`apt-get install -y chromium\` as root (or set CHROMIUM_PATH)." >&2
    exit 1
  fi
fi

step "npm ci (console/)"
npm --prefix console ci --no-audit --no-fund --loglevel=error

step "console: types from docs/openapi.yaml, tsc --noEmit, vite build"
npm --prefix console run build

step "console: browser tests (Playwright, $CHROMIUM) against the dev server"
cargo build --locked -p dev-server
# The console tests run on the embedded store, whatever the caller points at.
(cd console && env -u DYNAMODB_ENDPOINT CHROMIUM_PATH="$CHROMIUM" npx playwright test)
