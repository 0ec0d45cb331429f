#!/usr/bin/env bash
# Interop: `idp-agents tools|call` print what the MCP Inspector v1 CLI (inspector-cli 1.0.3,
# through inspector1.sh) prints for the same calls, against two servers:
#
#   ours   mcp-conformance-server (default options)
#   ts     tests/interop/ts-server.mjs --json (TypeScript SDK 1.32.2, stateful, JSON responses)
#
# For each server:
#   tools      idp-agents tools URL --json  vs  inspector --method tools/list
#              -> the same tool names in the same order (full definitions: NOTE when they differ)
#   call add   idp-agents call URL add --arg a=2 --arg b=3 --json
#              vs inspector --method tools/call --tool-name add --tool-arg a=2 --tool-arg b=3
#              -> the same content, structuredContent and isError (jq -S; numbers compared by value)
#   ours only: idp-agents call URL test_error_handling exits 3 (isError)
# And without a server:
#   idp-agents tools http://127.0.0.1:<closed port>/mcp fails (exit 1) naming the URL and "connect"
#   idp-agents tools http://example.com/mcp (and http://192.0.2.1:9/mcp) is refused before
#   connecting: exit 1 within 3 s, the message mentions https
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_peers
command -v jq >/dev/null || { echo "run-cli-vs-inspector.sh: jq is required" >&2; exit 2; }

CLI=${IDP_AGENTS_CLI:-$IDP_BIN/idp-agents}
[[ -x $CLI ]] || { log "$CLI not found: build it (ninja -C build idp-agents) or set IDP_BIN_DIR"; exit 2; }

CALL_LIMIT=${IDP_INSPECTOR_CALL_LIMIT:-40} # 4 inspector runs x 40 s stays under the ctest TIMEOUT of 300 s
CLI_LIMIT=20

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS $*"; }
failc() { failed=$((failed + 1)); echo "FAIL $*"; }

# Numbers by value (5, 5.0 and 5E0 are one number), keys sorted.
NORMALIZE='walk(if type == "number" then . + 0 else . end)'

# run_cmd LIMIT OUT CMD... -> sets RC; stdout to OUT, stderr to OUT.err
run_cmd() {
  local limit=$1 out=$2
  shift 2
  RC=0
  run_bounded "$limit" "$@" >"$out" 2>"$out.err" || RC=$?
}

show() { # show FILE: first lines of a failing command's output
  sed 's/^/    stdout: /' "$1" | head -n 10
  sed 's/^/    stderr: /' "$1.err" | head -n 10
}

# compare_server LABEL URL WITH_ERROR_TOOL
compare_server() {
  local label=$1 url=$2 error_tool=$3
  local d=$IDP_TMP/$label
  mkdir -p "$d"

  # 1. tools/list
  run_cmd "$CLI_LIMIT" "$d/ours-tools.json" "$CLI" tools "$url" --json
  local ours_rc=$RC
  run_cmd "$CALL_LIMIT" "$d/insp-tools.json" bash "$IDP_INTEROP_DIR/inspector1.sh" "$url" --transport http --method tools/list
  local insp_rc=$RC
  if ((ours_rc != 0)) || ! jq -e '.tools | type == "array"' "$d/ours-tools.json" >/dev/null 2>&1; then
    failc "$label tools: idp-agents tools --json exited $ours_rc or printed no tools array"
    show "$d/ours-tools.json"
  elif ((insp_rc != 0)) || ! jq -e '.tools | type == "array"' "$d/insp-tools.json" >/dev/null 2>&1; then
    failc "$label tools: the inspector exited $insp_rc or printed no tools array"
    show "$d/insp-tools.json"
  else
    local a b
    a=$(jq -c '[.tools[].name]' "$d/ours-tools.json")
    b=$(jq -c '[.tools[].name]' "$d/insp-tools.json")
    if [[ $a == "$b" ]]; then
      pass "$label tools: the same $(jq length <<<"$a") tool names in the same order"
    else
      failc "$label tools: names differ"
      echo "    idp-agents: $a"
      echo "    inspector:  $b"
    fi
    # Full definitions: informational.
    if diff <(jq -S "$NORMALIZE | .tools" "$d/ours-tools.json") <(jq -S "$NORMALIZE | .tools" "$d/insp-tools.json") \
      >"$d/tools.diff"; then
      echo "NOTE $label tools: the full tool definitions are identical"
    else
      echo "NOTE $label tools: the full definitions differ (< idp-agents, > inspector), first lines:"
      head -n 8 "$d/tools.diff" | sed 's/^/    /'
    fi
  fi

  # 2. tools/call add a=2 b=3
  run_cmd "$CLI_LIMIT" "$d/ours-add.json" "$CLI" call "$url" add --arg a=2 --arg b=3 --json
  ours_rc=$RC
  run_cmd "$CALL_LIMIT" "$d/insp-add.json" bash "$IDP_INTEROP_DIR/inspector1.sh" "$url" --transport http \
    --method tools/call --tool-name add --tool-arg a=2 --tool-arg b=3
  insp_rc=$RC
  local pick="$NORMALIZE | {content, structuredContent, isError: (.isError // false)}"
  if ((ours_rc != 0)) || ! jq -e . "$d/ours-add.json" >/dev/null 2>&1; then
    failc "$label call add: idp-agents call exited $ours_rc or printed no JSON"
    show "$d/ours-add.json"
  elif ((insp_rc != 0)) || ! jq -e . "$d/insp-add.json" >/dev/null 2>&1; then
    failc "$label call add: the inspector exited $insp_rc or printed no JSON"
    show "$d/insp-add.json"
  else
    local a b
    a=$(jq -S -c "$pick" "$d/ours-add.json")
    b=$(jq -S -c "$pick" "$d/insp-add.json")
    if [[ $a != "$b" ]]; then
      failc "$label call add: results differ"
      echo "    idp-agents: $a"
      echo "    inspector:  $b"
    elif ! jq -e '.structuredContent.sum == 5' <<<"$a" >/dev/null; then
      failc "$label call add: both agree but structuredContent.sum is not 5: $a"
    else
      pass "$label call add: identical results $a"
    fi
  fi

  # 3. a tool error -> exit 3
  if [[ $error_tool == yes ]]; then
    run_cmd "$CLI_LIMIT" "$d/ours-error.json" "$CLI" call "$url" test_error_handling --json
    if ((RC == 3)) && jq -e '.isError == true' "$d/ours-error.json" >/dev/null 2>&1; then
      pass "$label call test_error_handling: exit 3 with isError true"
    else
      failc "$label call test_error_handling: exit $RC (expected 3 and isError true)"
      show "$d/ours-error.json"
    fi
  fi
}

t0=$SECONDS
printf '\n=== our fixture server ===\n'
start_server PORT PID
compare_server ours "http://127.0.0.1:$PORT/mcp" yes
if ! server_alive "$PID"; then
  failc "ours: the server (pid $PID) died"
  server_log "$PID" 20 | sed 's/^/    /'
fi
stop_server "$PID"

printf '\n=== TypeScript SDK server (--json) ===\n'
TS_OUT=$IDP_TMP/ts-server.out
IDP_PEERS_DIR=$IDP_PEERS "$IDP_NODE" "$IDP_INTEROP_DIR/ts-server.mjs" 0 --json >"$TS_OUT" 2>"$TS_OUT.err" &
TS_PID=$!
_idp_pids+=("$TS_PID") # lib.sh stops it on EXIT too
TS_PORT=""
for _ in $(seq 150); do
  if [[ $(head -n 1 "$TS_OUT" 2>/dev/null) =~ ^listening\ on\ http://127\.0\.0\.1:([0-9]+)/mcp$ ]]; then
    TS_PORT=${BASH_REMATCH[1]}
    break
  fi
  kill -0 "$TS_PID" 2>/dev/null || break
  sleep 0.1
done
if [[ -z $TS_PORT ]]; then
  failc "ts: ts-server.mjs did not report its port within 15 s"
  tail -n 20 "$TS_OUT.err" | sed 's/^/    /'
else
  log "ts-server pid $TS_PID listening on 127.0.0.1:$TS_PORT"
  compare_server ts "http://127.0.0.1:$TS_PORT/mcp" no
  kill -0 "$TS_PID" 2>/dev/null || failc "ts: the server (pid $TS_PID) died"
fi
stop_server "$TS_PID"

printf '\n=== errors without a server ===\n'
# A port nobody listens on: bind one, note it, release it.
reserve_port CLOSED CLOSED_HOLDER  # held, not listening: connections are refused
url=http://127.0.0.1:$CLOSED/mcp
run_cmd "$CLI_LIMIT" "$IDP_TMP/closed.out" "$CLI" tools "$url"
msg=$(cat "$IDP_TMP/closed.out.err")
if ((RC == 1)) && [[ $msg == *"$url"* && $msg == *connect* ]]; then
  pass "closed port: exit 1, \"$msg\""
else
  failc "closed port: exit $RC (expected 1) with a message naming $url and \"connect\"; got \"$msg\""
fi

# Refused before any connection: 192.0.2.1 (TEST-NET) never answers, so a client that tried to
# connect would still be waiting when run_cmd's limit ends it (exit 124).
for url in http://example.com/mcp http://192.0.2.1:9/mcp; do
  host=${url#http://}
  host=${host%%[:/]*}
  run_cmd 10 "$IDP_TMP/policy.out" "$CLI" tools "$url"
  msg=$(cat "$IDP_TMP/policy.out.err")
  if ((RC == 1)) && [[ $msg == *https* && $msg == *"$host"* ]]; then
    pass "$url refused before connecting: \"$msg\""
  else
    failc "$url: exit $RC (expected 1, a message with https and $host); got \"$msg\""
  fi
done

printf '\n'
echo "$passed passed, $failed failed ($((SECONDS - t0))s)"
((failed == 0)) || fail "idp-agents vs Inspector CLI"
log "PASS"
