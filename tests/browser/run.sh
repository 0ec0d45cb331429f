#!/usr/bin/env bash
# Runs one browser test file (node --test) against the real stack that harness.mjs starts:
#   tests/browser/run.sh tests/browser/chat.test.mjs
# Exits 77 (ctest: skipped) only when this build's idp-agents has no `serve` command, or one
# without the agent loop (no --model) yet;
# anything else that is missing is an error that says what to install.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
file=${1:?usage: run.sh TEST_FILE}
BIN=${IDP_BIN_DIR:-$ROOT/build/bin}
PEERS=${IDP_PEERS_DIR:-$ROOT/build/peers}
UI=${IDP_UI_DIR:-$ROOT/build/share/idp-agents/ui}
CHROMIUM=${IDP_CHROMIUM:-/usr/bin/chromium}

# (`idp-agents serve --help` exits 0 even without the command: CLI11 then prints the main help,
# so look for flags only serve has.)
serve_help=$("$BIN/idp-agents" serve --help 2>/dev/null || true)
if [[ $serve_help != *--user-pool-id* ]]; then
  echo "SKIPPED: $BIN/idp-agents has no 'serve' command yet (the service is not built), so there is nothing to test the UI against"
  exit 77
fi
if [[ $serve_help != *--model* ]]; then
  echo "SKIPPED: this build's 'serve' has no agent loop yet (no --model), so no answer can be tested"
  exit 77
fi
[[ -x $CHROMIUM ]] || { echo "error: $CHROMIUM is missing: run scripts/install-deps.sh (Debian package chromium)" >&2; exit 1; }
[[ -f $PEERS/browser/node_modules/playwright-core/package.json ]] ||
  { echo "error: playwright-core is missing in $PEERS/browser: run scripts/install-deps.sh --no-apt" >&2; exit 1; }
[[ -f $UI/index.html && -f $UI/app.js ]] ||
  { echo "error: the web UI is not built in $UI: run scripts/install-deps.sh --no-apt, then cmake and cmake --build (target idp_ui)" >&2; exit 1; }
export IDP_BIN_DIR=$BIN IDP_PEERS_DIR=$PEERS IDP_CHROMIUM=$CHROMIUM
exec node --test --test-reporter=spec "$file"
