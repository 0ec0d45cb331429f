#!/usr/bin/env bash
# Runs one browser test file (node --test) against the real stack that harness.mjs starts:
#   tests/browser/run.sh tests/browser/chat.test.mjs
# Nothing is skipped: anything missing (the service with its agent loop, Chromium, playwright-core,
# the built UI) is an error that says what to install or build.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
file=${1:?usage: run.sh TEST_FILE}
BIN=${IDP_BIN_DIR:-$ROOT/build/bin}
PEERS=${IDP_PEERS_DIR:-$ROOT/build/peers}
UI=${IDP_UI_DIR:-$ROOT/build/share/idp-agents/ui}
CHROMIUM=${IDP_CHROMIUM:-/usr/bin/chromium}

[[ -x $BIN/idp-agents ]] || { echo "error: $BIN/idp-agents is missing: build it (cmake --build build)" >&2; exit 1; }
[[ -x $CHROMIUM ]] || { echo "error: $CHROMIUM is missing: run scripts/install-deps.sh (Debian package chromium)" >&2; exit 1; }
[[ -f $PEERS/browser/node_modules/playwright-core/package.json ]] ||
  { echo "error: playwright-core is missing in $PEERS/browser: run scripts/install-deps.sh --no-apt" >&2; exit 1; }
[[ -f $UI/index.html && -f $UI/app.js ]] ||
  { echo "error: the web UI is not built in $UI: run scripts/install-deps.sh --no-apt, then cmake and cmake --build (target idp_ui)" >&2; exit 1; }
export IDP_BIN_DIR=$BIN IDP_PEERS_DIR=$PEERS IDP_CHROMIUM=$CHROMIUM
exec node --test --test-reporter=spec "$file"
