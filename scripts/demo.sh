#!/usr/bin/env bash
# The demo (`make demo`): runs `idp-agents demo`, the whole product on this machine with embedded
# defaults and no AWS: a local Cognito-compatible identity provider (a pool for the MCP servers,
# one for the web users), the example MCP server idp-mcp-server over HTTPS with a local CA, the
# secret naming it, and the service with its web UI and the offline model (IDP_MODEL to change).
# It prints the URL and the sign-in and stays up until Ctrl-C (--once: asks one question through
# the API, prints the answer and exits, as its test does). Other options: idp-agents demo --help.
#
#   scripts/demo.sh [--once] [--listen 127.0.0.1:8080] [--model SPEC] [--dir DIR]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${IDP_BIN_DIR:-$ROOT/build/bin}
[[ -x $BIN/idp-agents ]] || { echo "demo: $BIN/idp-agents is missing; run 'make demo'" >&2; exit 1; }
case ${1:-} in -h|--help) sed -n '2,9p' "$0"; exit 0 ;; esac
DIR=${IDP_DEMO_DIR:-$ROOT/build/demo}  # the demo's data: identity provider, CA, secret, store
exec "$BIN/idp-agents" demo --dir "$DIR" "$@"
