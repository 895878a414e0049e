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

# `build`: only npm ci and the build (tests/run.sh does it before the Rust
# tests: the console function embeds the build); `browser`: only the browser
# tests; nothing: both.
MODE=${1:-all}
case "$MODE" in all|build|browser) ;; *) echo "usage: tests/console.sh [build|browser]" >&2; exit 2 ;; esac

if [ "$MODE" != browser ]; then
  step "npm ci (console/)"
  npm --prefix console ci --no-audit --no-fund --loglevel=error

  step "console: types from docs/openapi.yaml, tsc --noEmit, vite build"
  npm --prefix console run build
fi
[ "$MODE" = build ] && exit 0

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

step "console: browser tests (Playwright, $CHROMIUM) against the dev server"
cargo build --locked -p dev-server
# The console tests run on the embedded store, whatever the caller points at.
(cd console && env -u DYNAMODB_ENDPOINT CHROMIUM_PATH="$CHROMIUM" npx playwright test)
