#!/usr/bin/env bash
# Interop, client direction, MCP tasks: our client (idp-agents call) runs a task on a server built
# on the TypeScript SDK v2 2.4.0 (tests/interop/ts2-task-server.mjs; the SDK has no task runtime
# of its own, see that file), in both eras, and on one built on the TypeScript SDK 1.32.2 with its
# own experimental task runtime (tests/interop/ts1-task-server.mjs, 2025-11-25 only):
#   modern  2026-07-28 tasks extension: the client declares io.modelcontextprotocol/tasks, the
#           server answers tools/call with a task, the client polls tasks/get (Mcp-Name: the task
#           id) and takes the result inline
#   legacy  2025-11-25 experimental tasks: execution.taskSupport "required" makes the client send
#           params.task, poll tasks/get and fetch tasks/result
# and the whole-task timeout cancels the task on the server (tasks/cancel), in both eras. The
# server's stderr (one line per request, one per task event) shows what went over the wire.
# Every check runs even when an earlier one failed; the last line is "N passed, M failed".
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_peers

CLI=$IDP_BIN/idp-agents
[[ -x $CLI ]] || { log "$CLI not found: build it (cmake --build build) or set IDP_BIN_DIR"; exit 2; }
[[ -f $IDP_PEERS/peers-v2/node_modules/@modelcontextprotocol/server/package.json ]] ||
  { log "the TypeScript SDK v2 is not installed in $IDP_PEERS/peers-v2: run scripts/install-deps.sh"; exit 2; }

set +e
passed=0
failed=0
check() { # check NAME STATUS [detail]
  if [[ $2 == 0 ]]; then
    passed=$((passed + 1))
    log "ok    $1"
  else
    failed=$((failed + 1))
    log "FAIL  $1${3:+: $3}"
  fi
}
has() { grep -qF -- "$2" <<<"$1"; }
lines() { wc -l <"$1"; }
since() { tail -n +"$(($2 + 1))" "$1"; }

start_node_server URL LOG "$IDP_INTEROP_DIR/ts2-task-server.mjs"
DOC='The quarterly report is late. It covers three regions and nine products.'

for era in modern legacy; do
  from=$(lines "$LOG")
  rc=0
  out=$(run_bounded 60 "$CLI" call "$URL" summarize --protocol-era "$era" --arg "text=$DOC" --arg seconds=1 2>&1) || rc=$?
  wire=$(since "$LOG" "$from")
  [[ $rc == 0 ]] && has "$out" "summary: The quarterly report is late. (12 words)"
  check "$era: summarize runs as a task and returns its result" $? "rc=$rc $out"
  has "$out" ".. task ts2-task-" && has "$out" " working: summarizing, "
  check "$era: the task's status changes are reported" $? "$out"
  n=$(grep -c "method=tasks/get" <<<"$wire")
  [[ $n -ge 1 && $n -le 12 ]]; check "$era: polled tasks/get at the server's pollInterval ($n polls for 1 s at 200 ms)" $? "$wire"
  if [[ $era == modern ]]; then
    has "$wire" "method=tools/call era=modern mcp-name=summarize ext=yes" &&
      grep -q "method=tasks/get era=modern mcp-name=ts2-task-[0-9]* ext=yes" <<<"$wire" &&
      ! has "$wire" "method=tasks/result"
    check "modern: extension declared, Mcp-Name is the task id, no tasks/result" $? "$wire"
    has "$wire" "created era=v2"; check "modern: the server made a 2026-07-28 task" $? "$wire"
  else
    has "$wire" "method=tools/call era=legacy mcp-name=- ext=no params=arguments,name,task" &&
      has "$wire" "method=tasks/result"
    check "legacy: params.task sent, the result from tasks/result" $? "$wire"
    has "$wire" "created era=v1"; check "legacy: the server made a 2025-11-25 task" $? "$wire"
  fi

  from=$(lines "$LOG")
  rc=0
  out=$(run_bounded 60 "$CLI" call "$URL" summarize --protocol-era "$era" --arg "text=$DOC" --arg seconds=60 --task-timeout 1 2>&1) || rc=$?
  wire=$(since "$LOG" "$from")
  [[ $rc == 1 ]] && has "$out" "not done within 1000 ms (cancelled on the server)"
  check "$era: the whole-task timeout ends the call" $? "rc=$rc $out"
  has "$wire" "method=tasks/cancel" && grep -q "^task ts2-task-[0-9]* cancelled" <<<"$wire"
  check "$era: ... and cancels the task on the server" $? "$wire"
done

rc=0
out=$(run_bounded 60 "$CLI" call "$URL" echo --arg message=plain 2>&1) || rc=$?
[[ $rc == 0 && $out == plain ]]; check "an ordinary tool stays an ordinary call" $? "rc=$rc $out"

# ---- the TypeScript SDK 1.32.2 and its own experimental task runtime (2025-11-25) -------------
start_node_server URL1 LOG1 "$IDP_INTEROP_DIR/ts1-task-server.mjs"
from=$(lines "$LOG1")
rc=0
out=$(run_bounded 60 "$CLI" call "$URL1" digest --arg "text=$DOC" --arg ms=800 2>&1) || rc=$?
wire=$(since "$LOG1" "$from")
[[ $rc == 0 ]] && has "$out" "digest: 12 words" && has "$out" " working: digesting, 2 of 4"
check "ts1: digest runs as a task (the SDK's task store), with its status messages" $? "rc=$rc $out"
has "$wire" "method=tools/call session=yes params=arguments,name,task" && has "$wire" "method=tasks/get" &&
  has "$wire" "method=tasks/result"
check "ts1: params.task, tasks/get, tasks/result in the session" $? "$wire"
from=$(lines "$LOG1")
rc=0
out=$(run_bounded 60 "$CLI" call "$URL1" digest --arg "text=$DOC" --arg ms=60000 --task-timeout 1 2>&1) || rc=$?
wire=$(since "$LOG1" "$from")
[[ $rc == 1 ]] && has "$out" "(cancelled on the server)" && has "$wire" "method=tasks/cancel"
check "ts1: the whole-task timeout sends tasks/cancel" $? "rc=$rc $out $wire"

echo "$passed passed, $failed failed"
((failed == 0)) || fail "ts2 task server"
log "PASS"
