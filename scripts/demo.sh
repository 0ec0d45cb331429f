#!/usr/bin/env bash
# The demo (`make demo`): runs `idp-agents demo`, the External MCP Agent flow on this machine with
# embedded defaults and no AWS: a local Cognito-compatible identity provider, an MCP server that
# accepts only its tokens, the secret naming that server, agent discovery, and a tool call through
# the agent. It stays up until Ctrl-C (or exits after the call with --once, as its test does).
#
#   scripts/demo.sh [--once] [--dir DIR]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${IDP_BIN_DIR:-$ROOT/build/bin}
[[ -x $BIN/idp-agents ]] || { echo "demo: $BIN/idp-agents is missing; run 'make build'" >&2; exit 1; }
case ${1:-} in -h|--help) sed -n '2,8p' "$0"; exit 0 ;; esac
DIR=${IDP_DEMO_DIR:-$ROOT/build/demo}  # data of the demo identity provider and the secret
exec "$BIN/idp-agents" demo --dir "$DIR" "$@"
