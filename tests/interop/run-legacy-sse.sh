#!/usr/bin/env bash
# Our client over the legacy HTTP+SSE transport (protocol 2024-11-05), the secret's
# "transport": "sse", against @modelcontextprotocol/server-everything in its `sse` mode.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_peers
SE=$IDP_NODE_MODULES/@modelcontextprotocol/server-everything/dist/index.js
[[ -f $SE ]] || fail "server-everything is not installed ($SE)"
AGENTS=$IDP_BIN/idp-agents
[[ -x $AGENTS ]] || fail "$AGENTS is missing"

# A free port: bind 0 in Python is not available everywhere; ask the kernel through bash.
PORT=$(( 20000 + RANDOM % 20000 ))
PORT=$PORT node -r "$IDP_INTEROP_DIR/force-loopback.cjs" "$SE" sse >"$IDP_TMP/se.out" 2>&1 &
_idp_pids+=($!)
for _ in $(seq 100); do
  grep -q "running on port" "$IDP_TMP/se.out" 2>/dev/null && break
  sleep 0.1
done
grep -q "running on port" "$IDP_TMP/se.out" || fail "server-everything did not start: $(cat "$IDP_TMP/se.out")"
URL=http://127.0.0.1:$PORT/sse
passed=0

out=$(run_bounded 30 "$AGENTS" tools "$URL" --transport sse --json)
names=$(jq -r '.tools[].name' <<<"$out")
grep -qx echo <<<"$names" || fail "tools/list over legacy SSE lacks echo: $names"
grep -qx get-sum <<<"$names" || fail "tools/list over legacy SSE lacks get-sum: $names"
log "PASS tools/list over legacy SSE: $(wc -l <<<"$names") tools"; passed=$((passed + 1))

out=$(run_bounded 30 "$AGENTS" call "$URL" get-sum --arg a=2 --arg b=3 --transport sse)
[[ $out == "The sum of 2 and 3 is 5." ]] || fail "get-sum over legacy SSE: $out"
log "PASS tools/call over legacy SSE: $out"; passed=$((passed + 1))

out=$(run_bounded 60 "$AGENTS" call "$URL" trigger-long-running-operation --arg duration=1 --arg steps=3 --transport sse)
[[ $out == *"Long running operation completed"* ]] || fail "long-running call over legacy SSE: $out"
log "PASS a long call with progress over legacy SSE"; passed=$((passed + 1))

rc=0
out=$(run_bounded 30 "$AGENTS" call "$URL" no-such-tool --transport sse 2>&1) || rc=$?
((rc != 0)) || fail "an unknown tool over legacy SSE exited 0: $out"
log "PASS an unknown tool is an error (exit $rc)"; passed=$((passed + 1))
echo "$passed passed, 0 failed"
