#!/usr/bin/env bash
# Our agent loop against a peer agent framework, the OpenAI Agents SDK for JavaScript
# (@openai/agents 0.20.0: its Streamable HTTP MCP client and a chat-completions model at a custom
# base URL; tests/interop/agents-peer.mjs): asked the same scripted question against the same
# fake model (fake-openai.mjs) and the same MCP server (agent-test-server), both make the same
# tool calls (names and arguments, in order, as the server saw them), offer the model the same
# tools, and answer from the same last result.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_peers
PEER_MODULES=$IDP_PEERS/peers-agents/node_modules
[[ -d $PEER_MODULES/@openai/agents ]] ||
  { echo "[run-agents-peer.sh] @openai/agents is not installed in $PEER_MODULES: run scripts/install-deps.sh --no-apt" >&2; exit 2; }
FIXTURES=$IDP_INTEROP_DIR/../fixtures

wait_url() {  # FILE: the first http://127.0.0.1:PORT... URL printed there (a 30 s guard)
  local m
  for _ in $(seq 300); do
    m=$(grep -oE 'http://127\.0\.0\.1:[0-9]+(/mcp)?' "$1" 2>/dev/null | sed -n 1p) && [[ -n $m ]] && { echo "$m"; return 0; }
    sleep 0.1
  done
  fail "no URL in $1: $(cat "$1")"
}

"$IDP_BIN/agent-test-server" >"$IDP_TMP/server.out" 2>&1 &
_idp_pids+=($!)
MCP_URL=$(wait_url "$IDP_TMP/server.out")
cat >"$IDP_TMP/script.json" <<'JSON'
{"conversations":[{"match":"^Add, echo, add","turns":[
  {"tool_calls":[{"name":"add","arguments":{"a":2,"b":40}}]},
  {"tool_calls":[{"name":"echo","arguments":{"message":"hello"}}]},
  {"tool_calls":[{"name":"add","arguments":{"a":1,"b":2}}]},
  {"content":"done: {{last_tool_result}}"}]}]}
JSON
RECORD=$IDP_TMP/requests.jsonl
"$IDP_NODE" "$FIXTURES/fake-openai.mjs" --script "$IDP_TMP/script.json" --record "$RECORD" >"$IDP_TMP/openai.out" 2>&1 &
_idp_pids+=($!)
BASE=$(wait_url "$IDP_TMP/openai.out")/v1
QUESTION="Add, echo, add"

server_calls() { grep '^call ' "$IDP_TMP/server.out" | sed -n "$1,\$p" | jq -Rsc 'split("\n") | map(select(. != ""))'; }

# The peer.
"$IDP_NODE" "$IDP_INTEROP_DIR/agents-peer.mjs" --modules "$PEER_MODULES" --base-url "$BASE" \
  --mcp-url "$MCP_URL" --question "$QUESTION" >"$IDP_TMP/peer.json" 2>"$IDP_TMP/peer.err" ||
  fail "the peer failed: $(cat "$IDP_TMP/peer.err")"
PEER_SERVER=$(server_calls 1)
PEER_SEEN=$(grep -c '^call ' "$IDP_TMP/server.out")
PEER_REQUESTS=$(wc -l <"$RECORD")

# Ours.
export BENCH_SECRET
BENCH_SECRET=$(jq -nc --arg url "$MCP_URL" '[{"mcp_url":$url,"auth":{"type":"none"},"agent_name":"Peer Check"}]')
OPENAI_BASE_URL=$BASE "$IDP_BIN/idp-agents" ask --secret env://BENCH_SECRET --model openai:fake-model \
  --events "$QUESTION" >"$IDP_TMP/ours.jsonl" 2>"$IDP_TMP/ours.err" || fail "ours failed: $(cat "$IDP_TMP/ours.jsonl" "$IDP_TMP/ours.err")"
OURS_SERVER=$(server_calls $((PEER_SEEN + 1)))

peer_calls=$(jq -c '.tool_calls' "$IDP_TMP/peer.json")
ours_calls=$(jq -sc '[.[] | select(.type == "tool_start") | {name: .tool, arguments: .input}]' "$IDP_TMP/ours.jsonl")
[[ $peer_calls == "$ours_calls" ]] || fail "tool calls differ: peer $peer_calls, ours $ours_calls"
[[ $PEER_SERVER == "$OURS_SERVER" && $(jq length <<<"$OURS_SERVER") == 3 ]] ||
  fail "the server saw different calls: peer $PEER_SERVER, ours $OURS_SERVER"
log "PASS the same tool calls, in the same order: $ours_calls"

# The tools whose names already fit the model APIs (the odd ones are named differently: the peer
# keeps a name over 64 characters, which OpenAI refuses; we cut it and add a hash).
tools_of() {
  sed -n "$1p" "$RECORD" | jq -c '[.body.tools[].function | select(.name | test("^(add|echo|flaky|slow)$"))
    | {name, required: (.parameters.required // [])}] | sort_by(.name)'
}
longest() { sed -n "$1p" "$RECORD" | jq '[.body.tools[].function.name | length] | max'; }
[[ $(tools_of 1) == "$(tools_of $((PEER_REQUESTS + 1)))" ]] ||
  fail "the model was offered different tools: peer $(tools_of 1), ours $(tools_of $((PEER_REQUESTS + 1)))"
[[ $(wc -l <"$RECORD") == $((2 * PEER_REQUESTS)) ]] || fail "model calls: peer $PEER_REQUESTS, ours $(($(wc -l <"$RECORD") - PEER_REQUESTS))"
(($(longest $((PEER_REQUESTS + 1))) <= 64)) || fail "we offered a tool name over 64 characters"
log "PASS the same tools offered to the model, and the same number of model calls ($PEER_REQUESTS); longest tool name: peer $(longest 1), ours $(longest $((PEER_REQUESTS + 1)))"

peer_final=$(jq -r .final "$IDP_TMP/peer.json")
ours_final=$(jq -sr '.[-1] | select(.type == "final") | .text' "$IDP_TMP/ours.jsonl")
[[ $peer_final == "done: 3" && $ours_final == "done: "*"3"* ]] ||
  fail "final answers: peer '$peer_final', ours '$ours_final'"
log "PASS both answered from the last result ('$peer_final'; ours frames the result as data: '${ours_final//$'\n'/ }')"
