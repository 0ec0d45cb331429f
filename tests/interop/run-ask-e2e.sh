#!/usr/bin/env bash
# Issue 11's end-to-end acceptance for the agent loop, through `idp-agents ask --events` with a
# scripted OpenAI-compatible model (tests/fixtures/fake-openai.mjs): the five-entry secret of the
# registry tests (agents-five-entries.sh) plus a sixth server, agent-test-server (odd tool names,
# a failing and a slow tool; legacy era, so cancellation is notifications/cancelled).
#   - a question that needs tools of two agents, answered through the orchestrator
#   - a tool error the model recovers from
#   - the iteration cap
#   - cancellation (SIGTERM to ask): the MCP server hears notifications/cancelled
#   - a silent sub-agent's deadline (its model never answers): the orchestrator answers anyway
#   - tool names with dots, spaces, non-ASCII and over 64 characters: sanitized for the model,
#     called by their real names
#   - no password in anything ask printed
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_peers
AGENTS=$IDP_BIN/idp-agents
FIXTURES=$IDP_INTEROP_DIR/../fixtures

source "$IDP_INTEROP_DIR/agents-five-entries.sh"

"$IDP_BIN/agent-test-server" --legacy-only >"$IDP_TMP/odd.out" 2>&1 &
_idp_pids+=($!)
ODD_URL=$(wait_for "$IDP_TMP/odd.out" 'http://127\.0\.0\.1:[0-9]+/mcp')
jq --arg url "$ODD_URL" '. + [{"mcp_url":$url,"auth":{"type":"none"},"agent_name":"Odd Tools",
    "agent_description":"Odd tool names, a flaky tool and a slow tool."}]' "$SECRET" >"$SECRET.new"
mv "$SECRET.new" "$SECRET"
chmod 600 "$SECRET"

# The model names of the odd tools, computed here on their own (tool_names.h): runs of other bytes
# become "_", and a changed or cut name ends in "_" and the FNV-1a hash of the original.
ODD_NAMES=("get.client address" "größe" "a b" "a_tool_name_that_is_much_longer_than_sixty_four_characters_allowed_by_model_apis")
# shellcheck disable=SC2016
MODEL_NAMES=$("$IDP_NODE" -e '
  const out = process.argv.slice(1).map((name) => {
    const bytes = Buffer.from(name, "utf8");
    let h = 0x811c9dc5;
    for (const b of bytes) { h ^= b; h = Math.imul(h, 16777619) >>> 0; }
    let base = name.replace(/[^A-Za-z0-9_-]+/g, "_").replace(/_+$/, "") || "tool";
    if (/^[A-Za-z0-9_-]{1,64}$/.test(name)) return name;
    const suffix = "_" + h.toString(16).padStart(8, "0");
    return base.slice(0, 64 - suffix.length) + suffix;
  });
  console.log(JSON.stringify(out));' "${ODD_NAMES[@]}")

jq -n --argjson names "$MODEL_NAMES" '{conversations: [
  {match: "^Add 2 and 40", turns: [
    {content: "Asking two agents.", tool_calls: [
      {name: "calculator_tools", arguments: {query: "What is 2 plus 40?"}},
      {name: "everything", arguments: {query: "Echo hello back"}}]},
    {content: "Both agents answered. {{last_tool_result}}"}]},
  {match: "^What is 2 plus 40", turns: [
    {tool_calls: [{name: "calc_add", arguments: {a: 2, b: 40}}]},
    {content: "calc: {{last_tool_result}}"}]},
  {match: "^Echo hello back", turns: [
    {tool_calls: [{name: "echo", arguments: {message: "hello"}}]},
    {content: "everything: {{last_tool_result}}"}]},
  {match: "^Try the flaky tool", turns: [
    {tool_calls: [{name: "flaky", arguments: {}}]},
    {tool_calls: [{name: "add", arguments: {a: 1, b: 2}}]},
    {content: "Recovered: {{last_tool_result}}"}]},
  {match: "^Loop forever", turns: [
    {tool_calls: [{name: "echo", arguments: {}}]},
    {tool_calls: [{name: "echo", arguments: {}}]},
    {tool_calls: [{name: "echo", arguments: {}}]}]},
  {match: "^Wait for the slow tool", turns: [{tool_calls: [{name: "slow", arguments: {}}]}]},
  {match: "^Ask the silent agent", turns: [
    {tool_calls: [
      {name: "external-mcp-agent-0", arguments: {query: "Silent question"}},
      {name: "calculator_tools", arguments: {query: "What is 2 plus 40?"}}]},
    {content: "Partial answer. {{last_tool_result}}"}]},
  {match: "^Silent question", turns: [{delay_ms: 120000, content: "too late"}]},
  {match: "^Call the odd tools", turns: [
    {tool_calls: [$names[] | {name: ., arguments: {}}]},
    {content: "done"}]}]}' >"$IDP_TMP/script.json"
RECORD=$IDP_TMP/requests.jsonl
"$IDP_NODE" "$FIXTURES/fake-openai.mjs" --script "$IDP_TMP/script.json" --record "$RECORD" >"$IDP_TMP/openai.out" 2>&1 &
_idp_pids+=($!)
export OPENAI_BASE_URL
OPENAI_BASE_URL=$(wait_for "$IDP_TMP/openai.out" 'http://127\.0\.0\.1:[0-9]+')/v1

N=0
ask() {  # ARGS...: ask --events; EV is the events file, RC the exit code
  N=$((N + 1))
  EV=$IDP_TMP/ask-$N.jsonl
  RC=0
  "$AGENTS" ask --secret "file://$SECRET" --model openai:fake-model --events "$@" >"$EV" 2>"$IDP_TMP/ask-$N.err" || RC=$?
}
check() {  # WHAT JQ-CONDITION: on the events of the last ask (slurped)
  jq -se "$2" "$EV" >/dev/null || fail "$1: $(cat "$EV") $(cat "$IDP_TMP/ask-$N.err")"
}
requests_for() { jq -c --arg q "$1" 'select(.question | startswith($q))' "$RECORD"; }

# --- two agents through the orchestrator ---------------------------------------------------------
ask "Add 2 and 40, and echo hello"
((RC == 0)) || fail "orchestrator: exit $RC: $(cat "$EV")"
check "orchestrator" '(.[0].agent_ids | sort) == ["calculator_tools","everything","external-mcp-agent-0","odd_tools"]
  and ([.[] | select(.type == "subagent_start") | .agent_id] | sort) == ["calculator_tools","everything"]
  and ([.[] | select(.type == "tool_start" and .agent_id == "calculator_tools" and .tool == "calc_add")] | length == 1)
  and ([.[] | select(.type == "tool_end" and .agent_id == "calculator_tools" and (.output.content[0].text == "42"))] | length == 1)
  and ([.[] | select(.type == "tool_start" and .agent_id == "everything" and .tool == "echo")] | length == 1)
  and ([.[] | select(.type == "subagent_end" and .is_error == false)] | length == 2)
  and .[-1].type == "final" and (.[-1].text | contains("Both agents answered"))'
first=$(requests_for "Add 2 and 40" | sed -n 1p)
jq -e '(.body.tools | map(.function.name) | sort) == ["calculator_tools","everything","external-mcp-agent-0","odd_tools"]
  and (.body.tools[0].function.parameters.required == ["query"])
  and (.body.messages[0].content | contains("What is 2 + 40?"))' <<<"$first" >/dev/null ||
  fail "the orchestrator's request: $first"
[[ $(requests_for "What is 2 plus 40" | tail -n 1 | jq -r '.body.messages[-1].content') == *42* ]] ||
  fail "the calculator agent did not see its tool result: $(requests_for "What is 2 plus 40")"
log "PASS a question needing two agents' tools: the orchestrator asked both (in parallel) and answered"

# --- a tool error the model recovers from --------------------------------------------------------
ask --agent odd_tools "Try the flaky tool"
((RC == 0)) || fail "recovery: exit $RC: $(cat "$EV")"
check "recovery" '([.[] | select(.type == "tool_end" and .tool == "flaky" and .is_error == true)] | length == 1)
  and ([.[] | select(.type == "tool_end" and .tool == "add" and .is_error == false)] | length == 1)
  and .[-1].type == "final" and (.[-1].text | contains("Recovered:")) and (.[-1].text | contains("3"))'
[[ $(requests_for "Try the flaky tool" | sed -n 2p | jq -r '.body.messages[-1].content') == *"flaky failed on purpose"* ]] ||
  fail "the model did not get the error result: $(requests_for "Try the flaky tool")"
log "PASS a tool error went back to the model, which called another tool and answered"

# --- the iteration cap ---------------------------------------------------------------------------
ask --agent odd_tools --max-iterations 2 "Loop forever"
((RC == 1)) || fail "iteration cap: exit $RC"
check "iteration cap" '.[-1].type == "error" and .[-1].code == "resource_exhausted"
  and (.[-1].message | contains("stopped after 2 model calls"))
  and ([.[] | select(.type == "tool_start")] | length == 1)'
[[ $(requests_for "Loop forever" | wc -l) == 2 ]] || fail "iteration cap: $(requests_for "Loop forever" | wc -l) model calls"
log "PASS the iteration cap ended the turn after 2 model calls with a clear error (exit 1)"

# --- cancellation --------------------------------------------------------------------------------
N=$((N + 1))
EV=$IDP_TMP/ask-$N.jsonl
"$AGENTS" ask --secret "file://$SECRET" --model openai:fake-model --events --agent odd_tools \
  "Wait for the slow tool" >"$EV" 2>"$IDP_TMP/ask-$N.err" &
ASK_PID=$!
_idp_pids+=($ASK_PID)
wait_for "$IDP_TMP/odd.out" '^call slow$' >/dev/null
kill -TERM "$ASK_PID"
RC=0
wait "$ASK_PID" || RC=$?
((RC == 1)) || fail "cancelled ask: exit $RC: $(cat "$EV") $(cat "$IDP_TMP/ask-$N.err")"
wait_for "$IDP_TMP/odd.out" '^notifications/cancelled$' >/dev/null
check "cancellation" '.[-1].type == "error" and .[-1].code == "cancelled"
  and ([.[] | select(.type == "tool_end" and .tool == "slow" and .is_error == true)] | length == 1)'
log "PASS SIGTERM cancelled the turn; the MCP server received notifications/cancelled"

# --- a silent sub-agent --------------------------------------------------------------------------
ask --subagent-timeout 1 "Ask the silent agent and the calculator"
((RC == 0)) || fail "silent sub-agent: exit $RC: $(cat "$EV")"
check "silent sub-agent" '([.[] | select(.type == "subagent_end" and .agent_id == "external-mcp-agent-0" and .is_error == true)] | length == 1)
  and ([.[] | select(.type == "subagent_end" and .agent_id == "calculator_tools" and .is_error == false)] | length == 1)
  and .[-1].type == "final" and (.[-1].text | contains("Partial answer"))'
[[ $(requests_for "Ask the silent agent" | sed -n 2p | jq -r '[.body.messages[] | select(.role == "tool") | .content] | join(" ")') == \
   *"the agent external-mcp-agent-0 did not answer within 1 s"* ]] ||
  fail "the orchestrator was not told of the deadline: $(requests_for "Ask the silent agent")"
log "PASS a sub-agent whose model stayed silent was given up on at its deadline; the orchestrator answered"

# --- odd tool names ------------------------------------------------------------------------------
ask --agent odd_tools "Call the odd tools"
((RC == 0)) || fail "odd names: exit $RC: $(cat "$EV")"
names=$(requests_for "Call the odd tools" | sed -n 1p | jq -c '[.body.tools[].function.name]')
jq -e --argjson want "$MODEL_NAMES" 'all(.[]; test("^[a-zA-Z0-9_-]{1,64}$")) and (. as $have | all($want[]; . as $n | $have | index($n) != null))' \
  <<<"$names" >/dev/null || fail "model tool names $names, expected to contain $MODEL_NAMES"
for n in "${ODD_NAMES[@]}"; do
  grep -qxF "call $n" "$IDP_TMP/odd.out" || fail "the server was not called as '$n': $(cat "$IDP_TMP/odd.out")"
  jq -se --arg n "$n" '[.[] | select(.type == "tool_end" and .tool == $n and .is_error == false)] | length == 1' "$EV" >/dev/null ||
    fail "no tool_end for '$n': $(cat "$EV")"
done
log "PASS tool names with dots, spaces, non-ASCII and over 64 characters: sanitized for the model, called as they are"

for f in "$IDP_TMP"/ask-*; do
  ! grep -qF 'Passw0rd!Agents' "$f" || fail "the password appears in $f"
done
log "PASS no password in anything ask printed"
