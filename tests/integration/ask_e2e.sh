#!/usr/bin/env bash
# `idp-agents ask` end to end, with our binaries only: the local identity provider, the example
# MCP server (idp-mcp-server) protected by it, and a secret with a Cognito entry. Then: the
# offline planner's four example questions (text mode: the answer on stdout, the steps on
# stderr), the same as --events JSON lines, a table answer as structured data, two agents through the orchestrator, a scripted
# OpenAI-compatible model (fake-openai.mjs: a tool call, then the answer), an unknown agent, and
# no password or API key in anything ask printed.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/cognito.sh"
FIXTURES=$(cd "$(dirname "${BASH_SOURCE[0]}")/../fixtures" && pwd)

PASSWORD='S3rvice!Pass-ask-e2e'
API_KEY='sk-test-ask-e2e-5f3a9c'
"$BIN/idp-agents" local-cognito --port 0 --data "$TMP/cognito" >"$TMP/cognito.out" 2>&1 &
PIDS+=($!)
COG=$(wait_line "$TMP/cognito.out" 'http://127\.0\.0\.1:[0-9]+')
cognito_pool "$COG" example mcp-service-user "$PASSWORD" || fail "pool setup"

"$BIN/idp-mcp-server" --listen 127.0.0.1:0 --db "$TMP/example.db" --jwt-issuer "$COG/$COG_POOL" \
  --cognito-client-id "$COG_CLIENT" >"$TMP/server.out" 2>&1 &
PIDS+=($!)
URL=$(wait_line "$TMP/server.out" 'http://127\.0\.0\.1:[0-9]+/mcp')

entry() {  # NAME DESCRIPTION EXTRA-JSON
  printf '{"mcp_url":"%s","cognito_user_pool_id":"%s","cognito_client_id":"%s","cognito_username":"mcp-service-user","cognito_password":"%s","agent_name":"%s","agent_description":"%s"%s}' \
    "$URL" "$COG_POOL" "$COG_CLIENT" "$PASSWORD" "$1" "$2" "$3"
}
echo "[$(entry 'Example Tools' 'Clients, e-mail and arithmetic.' '')]" >"$TMP/one.json"
echo "[$(entry 'Example Tools' 'Clients, e-mail and arithmetic.' ''),
      $(entry 'Outbox' 'The e-mail outbox.' ',"tools_allow":["list_outbox"]')]" >"$TMP/two.json"
chmod 600 "$TMP/one.json" "$TMP/two.json"

N=0
ask() {  # SECRET ARGS...: stdout to $TMP/ask-N.out, stderr to $TMP/ask-N.err; sets OUT, ERR, RC
  N=$((N + 1))
  local secret=$1
  shift
  RC=0
  "$BIN/idp-agents" ask --secret "file://$TMP/$secret.json" --cognito-endpoint "$COG/" "$@" \
    >"$TMP/ask-$N.out" 2>"$TMP/ask-$N.err" || RC=$?
  OUT=$(cat "$TMP/ask-$N.out")
  ERR=$(cat "$TMP/ask-$N.err")
}
expect() {  # WHAT TEXT...: every TEXT is in OUT, and ask exited 0
  local what=$1
  shift
  ((RC == 0)) || fail "$what: exit $RC: $OUT $ERR"
  for t in "$@"; do [[ $OUT == *"$t"* ]] || fail "$what: no '$t' in the answer: $OUT (stderr: $ERR)"; done
}

ask one "What is the address of client C-1001?"
expect "address" "Ada Lovelace" "SW1Y 4JH"
[[ $ERR == *"-> example_tools get_client_address {\"client_id\":\"C-1001\"}"* ]] || fail "no tool step on stderr: $ERR"
[[ $ERR == *"offline planner"* ]] || fail "the offline model is not said: $ERR"
ask one "Send a verification email to a.b@example.com"
expect "e-mail" "queued" "a.b@example.com"
ask one "What is (12.5 + 7) * 3?"
expect "arithmetic" "58.5"
ask one "Which tools do you have?"
expect "tool list" calculator get_client_address send_verification_email list_outbox
pass "offline planner: the four example questions answered with the example server's tools"

ask one --events "What is the address of client C-1001?"
((RC == 0)) || fail "--events: exit $RC: $ERR"
jq -e . "$TMP/ask-$N.out" >/dev/null || fail "--events: not JSON lines: $OUT"
jq -se '.[0].type == "turn_start" and .[0].offline == true and .[0].agent_ids == ["example_tools"]
  and (.[-1].type == "final") and (.[-1].text | contains("Ada Lovelace"))
  and ([.[] | select(.type == "tool_start" and .tool == "get_client_address" and .input.client_id == "C-1001")] | length == 1)
  and ([.[] | select(.type == "tool_end" and .is_error == false and .output.structuredContent.name == "Ada Lovelace")] | length == 1)
  and ([.[] | select(.type == "usage")] | length == 1)' "$TMP/ask-$N.out" >/dev/null ||
  fail "--events: unexpected events: $OUT"
pass "--events: turn_start, the tool call with its whole result, usage, and final last"

ask one --events "List the messages in the outbox"
((RC == 0)) || fail "outbox table: exit $RC: $ERR"
jq -se '([.[] | select(.type == "structured_data" and .responseType == "table"
           and (.data.rows | length) >= 1 and (.data.headers | map(.id) | index("status") != null))] | length == 1)
  and (.[-1].type == "final") and (.[-1].text | contains("```") | not)' "$TMP/ask-$N.out" >/dev/null ||
  fail "outbox table: unexpected events: $OUT"
pass "a table answer (the outbox) comes out as a structured_data event, not as text"
ask one "List the messages in the outbox"
expect "outbox table as text" "Status" "queued" "a.b@example.com"
[[ $OUT != *'```'* && $OUT != *'"responseType"'* ]] || fail "outbox table as text: the JSON block was printed: $OUT"
grep -qE '^-+ +-+' "$TMP/ask-$N.out" || fail "outbox table as text: no table rule under the headers: $OUT"
pass "without --events the table is drawn as aligned columns, not printed as JSON"

ask two --events "What is the address of client C-1001?"
((RC == 0)) || fail "orchestrator: exit $RC: $ERR"
jq -se '.[0].agent_ids == ["example_tools","outbox"]
  and ([.[] | select(.type == "subagent_start" and .agent_id == "example_tools")] | length == 1)
  and ([.[] | select(.type == "tool_start" and .agent_id == "example_tools" and .tool == "get_client_address")] | length == 1)
  and ([.[] | select(.type == "subagent_end" and .is_error == false)] | length == 1)
  and (.[-1].type == "final") and (.[-1].text | contains("Ada Lovelace"))' "$TMP/ask-$N.out" >/dev/null ||
  fail "orchestrator: unexpected events: $OUT"
ask two --agent outbox --events "What is the address of client C-1001?"
jq -se '[.[] | select(.type == "subagent_start" or (.type == "tool_start" and .tool == "get_client_address"))] | length == 0' \
  "$TMP/ask-$N.out" >/dev/null || fail "--agent outbox: another agent was used: $OUT"
pass "two agents: the orchestrator passes the question to the agent with the tool; --agent keeps to one"

cat >"$TMP/script.json" <<'JSON'
{"conversations":[{"match":"forty","turns":[
  {"content":"Let me compute that.","tool_calls":[{"name":"calculator","arguments":{"expression":"2 + 40"}}]},
  {"content":"The answer is {{last_tool_result}}"}]}]}
JSON
node "$FIXTURES/fake-openai.mjs" --script "$TMP/script.json" --record "$TMP/requests.jsonl" \
  --api-key "$API_KEY" >"$TMP/openai.out" 2>&1 &
PIDS+=($!)
BASE=$(wait_line "$TMP/openai.out" 'http://127\.0\.0\.1:[0-9]+')/v1
OPENAI_BASE_URL=$BASE OPENAI_API_KEY=$API_KEY ask one --model openai:fake-model --events "What is two plus forty?"
((RC == 0)) || fail "openai: exit $RC: $OUT $ERR"
jq -se '.[0].model == "openai:fake-model" and .[0].offline == false
  and ([.[] | select(.type == "tool_start" and .tool == "calculator" and .input.expression == "2 + 40")] | length == 1)
  and ([.[] | select(.type == "text_delta")] | length > 1)
  and (.[-1].type == "final") and (.[-1].text | contains("42"))' "$TMP/ask-$N.out" >/dev/null ||
  fail "openai: unexpected events: $OUT"
jq -se 'length == 2 and (.[0].body.tools | map(.function.name) | index("calculator") != null)
  and (.[1].body.messages | map(select(.role == "tool")) | length == 1)
  and (.[1].body.messages[-1].content | contains("<tool_result tool=\"calculator\">"))' "$TMP/requests.jsonl" >/dev/null ||
  fail "openai: unexpected requests: $(cat "$TMP/requests.jsonl")"
pass "a scripted OpenAI-compatible model: its tool call runs on the example server, its answer uses the framed result"

ask one --agent nosuch "hello"
((RC == 1)) && [[ $ERR == *"unknown agent 'nosuch'; the agents are: example_tools"* ]] ||
  fail "unknown agent: exit $RC: $ERR"
pass "an unknown agent is named with the known ones (exit 1)"

for f in "$TMP"/ask-*.out "$TMP"/ask-*.err; do
  if grep -qF -e "$PASSWORD" -e "$API_KEY" "$f"; then fail "a secret in $f: $(cat "$f")"; fi
done
pass "no password or API key in anything ask printed"

echo "$PASSED passed, 0 failed"
