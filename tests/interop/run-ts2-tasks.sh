#!/usr/bin/env bash
# Tasks between the TypeScript SDK v2 client (2.4.0, with @modelcontextprotocol/ext-tasks 0.2.2)
# and our server (mcp-conformance-server's task tools), in both generations: the experimental
# tasks of a 2025-11-25 session and the 2026-07-28 io.modelcontextprotocol/tasks extension
# (tests/interop/ts2-tasks.mjs lists the checks). ext-tasks comes into peers-v2 as a dependency of
# Inspector v2 2.12.0 (^0.2.2; 0.2.2 is what scripts/install-deps.sh resolved).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_peers
V2=$IDP_PEERS/peers-v2/node_modules
[[ -f $V2/@modelcontextprotocol/client/package.json && -f $V2/@modelcontextprotocol/ext-tasks/package.json ]] ||
  { log "the v2 peers are not installed: run scripts/install-deps.sh"; exit 2; }
start_server PORT PID
URL=http://127.0.0.1:$PORT/mcp

for era in legacy modern; do
  out=$(run_bounded 120 "$IDP_NODE" "$IDP_INTEROP_DIR/ts2-tasks.mjs" "$URL" "$era" 2>&1) || {
    echo "$out" >&2
    fail "TS SDK v2 + ext-tasks, $era era"
  }
  sed 's/^/  /' <<<"$out"
  log "PASS TS SDK v2 + ext-tasks, $era era: $(grep -c '^ok' <<<"$out") checks"
done
server_alive "$PID" || fail "the server (pid $PID) died"
