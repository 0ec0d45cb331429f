#!/usr/bin/env bash
# Interop: our MCP client (idp::mcp::Client, through the mcp-interop-client fixture) against
# several Streamable HTTP servers. Each variant starts its server on 127.0.0.1, runs
# mcp-interop-client once (connect, ping, list every tool page, call a tool, progress, logs,
# cancel + ping, per-call timeout + ping, close) and stops the server by pid:
#
#   ours default            mcp-conformance-server
#   ours --page-size 3      the tool listing takes several pages
#   ours --stateless        no session id may be issued
#   ts stateful sse         tests/interop/ts-server.mjs (TypeScript SDK 1.32.2)
#   ts stateful json        --json: progress cannot travel (the SDK drops notifications that belong
#                           to a request when it answers with JSON); logs come on the GET stream
#   ts stateless sse        --stateless
#   ts stateless json       --stateless --json: no progress, no logs (nowhere to send them)
#   server-everything       @modelcontextprotocol/server-everything 2026.8.31, streamableHttp mode
#                           (trigger-long-running-operation for progress/cancel/timeout,
#                           toggle-simulated-logging for logs on the GET stream)
#
# Every variant runs even when an earlier one failed. The last line is "N passed, M failed"
# (checks over all variants); the exit status is 1 when any check failed.
#
# Environment: IDP_BIN_DIR / IDP_PEERS_DIR as in lib.sh; IDP_INTEROP_CLIENT overrides the path of
# mcp-interop-client (default $IDP_BIN_DIR/mcp-interop-client).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_peers

CLIENT=${IDP_INTEROP_CLIENT:-$IDP_BIN/mcp-interop-client}
[[ -x $CLIENT ]] || { log "$CLIENT not found: build it (ninja -C build mcp-interop-client) or set IDP_INTEROP_CLIENT"; exit 2; }
EVERYTHING=$IDP_NODE_MODULES/@modelcontextprotocol/server-everything/dist/index.js
[[ -f $EVERYTHING ]] || { log "$EVERYTHING not found: run scripts/install-deps.sh"; exit 2; }

CLIENT_WATCHDOG_S=${IDP_CLIENT_WATCHDOG_S:-40} # 8 variants take ~2 s each when healthy
CLIENT_LIMIT=$((CLIENT_WATCHDOG_S + 10))

# register_pid PID: the server is stopped on EXIT by lib.sh; its logs follow server_log's naming.
next_log() { echo "$IDP_TMP/server-$(( ${#_idp_pids[@]} + 1 ))"; }

# start_ts_server VAR_PORT VAR_PID [ts-server.mjs args...]
start_ts_server() {
  local -n _ts_port_ref=$1
  local -n _ts_pid_ref=$2
  shift 2
  # Locals carry a _ts_ prefix: a nameref must not resolve to one of them (the caller's "port").
  local _ts_base _ts_pid _ts_port
  _ts_base=$(next_log)
  IDP_PEERS_DIR=$IDP_PEERS "$IDP_NODE" "$IDP_INTEROP_DIR/ts-server.mjs" 0 "$@" >"$_ts_base.out" 2>"$_ts_base.err" &
  _ts_pid=$!
  _idp_pids+=("$_ts_pid")
  if ! _ts_port=$(wait_for_line "$_ts_base.out" '^listening on http://127\.0\.0\.1:([0-9]+)/mcp$' "$_ts_pid" 15); then
    tail -n 20 "$_ts_base.err" >&2 || true
    return 1
  fi
  _ts_port_ref=$_ts_port
  _ts_pid_ref=$_ts_pid
  log "ts-server pid $_ts_pid listening on 127.0.0.1:$_ts_port (args: ${*:-none})"
}

# start_everything VAR_PORT VAR_PID: server-everything takes only a PORT; with PORT=0 the system
# picks a free one, and force-loopback.cjs (which makes it bind 127.0.0.1) reports it.
start_everything() {
  local -n _se_port_ref=$1
  local -n _se_pid_ref=$2
  local _se_base _se_port _se_pid
  _se_base=$(next_log)
  PORT=0 MCP_FORCE_LOOPBACK_DEBUG=1 "$IDP_NODE" --require "$IDP_INTEROP_DIR/force-loopback.cjs" \
    "$EVERYTHING" streamableHttp >"$_se_base.out" 2>"$_se_base.err" &
  _se_pid=$!
  _idp_pids+=("$_se_pid")
  if ! _se_port=$(force_loopback_port "$_se_base.err" "$_se_pid"); then
    log "server-everything did not report a listener on 127.0.0.1:"
    tail -n 20 "$_se_base.err" >&2
    stop_server "$_se_pid"
    return 1
  fi
  _se_port_ref=$_se_port
  _se_pid_ref=$_se_pid
  log "server-everything pid $_se_pid listening on 127.0.0.1:$_se_port"
}

total_pass=0
total_fail=0
summary=()

# variant NAME KIND "SERVER ARGS" CLIENT ARGS...   (KIND: ours | ts | everything)
variant() {
  local name=$1 kind=$2 server_args=$3
  shift 3
  local port="" pid="" rc=0 t0=$SECONDS started=1
  printf '\n=== %s ===\n' "$name"
  # shellcheck disable=SC2086 # server_args is a word list
  case $kind in
    ours) start_server port pid $server_args || started=0 ;;
    ts) start_ts_server port pid $server_args || started=0 ;;
    everything) start_everything port pid || started=0 ;;
  esac
  if ((started == 0)) || [[ -z $port ]]; then
    echo "FAIL server: the $kind server ($server_args) did not start"
    total_fail=$((total_fail + 1))
    summary+=("FAIL  $name: the server did not start")
    return 0
  fi
  local out=$IDP_TMP/client-${name//[^A-Za-z0-9]/_}.out
  run_bounded "$CLIENT_LIMIT" "$CLIENT" "http://127.0.0.1:$port/mcp" --watchdog-s "$CLIENT_WATCHDOG_S" "$@" \
    >"$out" 2>"$out.err" || rc=$?
  cat "$out"
  if [[ -s $out.err ]]; then
    sed 's/^/  client stderr: /' "$out.err" | head -n 20
  fi
  local p f
  p=$(grep -c '^PASS ' "$out" || true)
  f=$(grep -c '^FAIL ' "$out" || true)
  if ((rc != 0 && f == 0)); then
    echo "FAIL client: exited $rc$( ((rc == 124)) && echo " (killed after ${CLIENT_LIMIT}s)") without a FAIL line"
    f=1
  fi
  if ! server_alive "$pid"; then
    echo "FAIL server: the server (pid $pid) died; its stderr:"
    server_log "$pid" 20 | sed 's/^/  /'
    f=$((f + 1))
  fi
  stop_server "$pid"
  total_pass=$((total_pass + p))
  total_fail=$((total_fail + f))
  local secs=$((SECONDS - t0))
  if ((f == 0)); then
    summary+=("PASS  $name: $p checks (${secs}s)")
  else
    summary+=("FAIL  $name: $p passed, $f failed (${secs}s)")
  fi
}

# Checks shared by the fixture-server variants (16 tools: 14 conformance fixtures, add, slow).
OURS=(--expect-tools 16 --expect-tool add --expect-tool slow
      --call add --call-args '{"a":2,"b":3}' --expect-text 5 --expect-structured '{"sum":5}'
      --error-tool test_error_handling
      --progress-tool test_tool_with_progress --min-progress 3
      --log-tool test_tool_with_logging --min-logs 3
      --slow-tool slow --slow-args '{"ms":3000}')
# ts-server.mjs: 5 tools + t00..t29.
TS=(--expect-tools 35 --expect-tool echo --expect-tool t29 --slow-tool slow --slow-args '{"ms":3000}')
TS_ADD=(--call add --call-args '{"a":2,"b":3}' --expect-text 5 --expect-structured '{"sum":5}')
TS_ECHO=(--call echo --call-args '{"message":"hello interop"}' --expect-text 'hello interop')
TS_PROGRESS=(--progress-tool progress --min-progress 3)
TS_LOG=(--log-tool log --min-logs 2)

variant "ours default" ours "" "${OURS[@]}"
variant "ours --page-size 3" ours "--page-size 3" "${OURS[@]}"
variant "ours --stateless" ours "--stateless" --stateless-server "${OURS[@]}"
variant "ts stateful sse" ts "" "${TS[@]}" "${TS_ADD[@]}" "${TS_PROGRESS[@]}" "${TS_LOG[@]}"
variant "ts stateful json" ts "--json" "${TS[@]}" "${TS_ECHO[@]}" "${TS_LOG[@]}"
variant "ts stateless sse" ts "--stateless" --stateless-server "${TS[@]}" "${TS_ECHO[@]}" "${TS_PROGRESS[@]}" "${TS_LOG[@]}"
variant "ts stateless json" ts "--stateless --json" --stateless-server "${TS[@]}" "${TS_ADD[@]}"
variant "server-everything" everything "" \
  --expect-tools 10 --expect-tool echo --expect-tool get-sum \
  --expect-tool trigger-long-running-operation --expect-tool toggle-simulated-logging \
  --call get-sum --call-args '{"a":2,"b":3}' --expect-text 'is 5' \
  --progress-tool trigger-long-running-operation --progress-args '{"duration":0.3,"steps":3}' --min-progress 3 \
  --log-tool toggle-simulated-logging --min-logs 1 \
  --slow-tool trigger-long-running-operation --slow-args '{"duration":5,"steps":5}'

printf '\n'
log "summary:"
printf '  %s\n' "${summary[@]}"
echo "$total_pass passed, $total_fail failed"
((total_fail == 0)) || exit 1
