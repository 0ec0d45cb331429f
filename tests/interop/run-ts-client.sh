#!/usr/bin/env bash
# Interop: the official TypeScript SDK client (@modelcontextprotocol/sdk 1.32.2) against our
# mcp-conformance-server, through tests/interop/ts-client.mjs, in four server configurations:
#
#   default                  checks a-j (connect, list, add, bad args, progress, logging, cancel,
#                            resumption, sampling, session termination)
#   --page-size 3            checks a-j; tools/list must be followed across several pages
#   --stateless              checks a-d; no session id may be issued
#   --response-mode sse      checks a-f; every request must be answered with an SSE stream
#
# Every variant runs even when an earlier one failed; the script fails if any did.
# IDP_TS_DEBUG=1 makes ts-client.mjs print each HTTP exchange.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_peers

export PEERS_NODE_MODULES=$IDP_NODE_MODULES
export IDP_TS_WATCHDOG_S=${IDP_TS_WATCHDOG_S:-50} # 4 variants x (50 + 15) s stays under the ctest TIMEOUT of 300 s
VARIANT_LIMIT=$((IDP_TS_WATCHDOG_S + 15))

results=()
failed=0

# variant NAME "SERVER ARGS" CLIENT ARGS...
variant() {
  local name=$1 server_args=$2
  shift 2
  local port pid rc=0 t0=$SECONDS
  # shellcheck disable=SC2086 # server_args is a word list
  start_server port pid $server_args
  log "--- $name: node ts-client.mjs http://127.0.0.1:$port/mcp $*"
  run_bounded "$VARIANT_LIMIT" "$IDP_NODE" "$IDP_INTEROP_DIR/ts-client.mjs" "http://127.0.0.1:$port/mcp" "$@" || rc=$?
  if ! server_alive "$pid"; then
    log "$name: the server (pid $pid) died; its stderr:"
    server_log "$pid" 30 | sed 's/^/  /'
    ((rc != 0)) || rc=1
  fi
  stop_server "$pid"
  local secs=$((SECONDS - t0))
  if ((rc == 0)); then
    results+=("PASS  $name (${secs}s)")
  else
    results+=("FAIL  $name (exit $rc, ${secs}s)")
    failed=1
  fi
}

variant "default server" ""
variant "--page-size 3 server" "--page-size 3" --page-size 3
variant "--stateless server" "--stateless" --stateless
variant "--response-mode sse server" "--response-mode sse" --sse

log "summary:"
printf '  %s\n' "${results[@]}"
((failed == 0)) || fail "TS SDK client interop"
log "PASS"
