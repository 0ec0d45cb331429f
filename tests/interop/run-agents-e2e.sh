#!/usr/bin/env bash
# Issue 5's five-entry secret, end to end with our binaries and server-everything:
#   entry 1  the fixture server with JWT auth and the local identity provider     -> ready
#   entry 2  the same server named by agent_name ("Calculator Tools")              -> ready, id calculator_tools
#   entry 3  missing cognito_password                                              -> skipped, field named
#   entry 4  a server that is down                                                 -> unavailable, reason
#   entry 5  a legacy "sse" entry against @modelcontextprotocol/server-everything  -> ready
# `idp-agents agents list` shows that; under `idp-agents agents watch` the down server's agent
# becomes ready once it starts, without a restart, and an entry added to the secret shows. `secret check` and `doctor` report the same entries. No password
# appears in any output or log.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_peers
AGENTS=$IDP_BIN/idp-agents
REFRESH=2

source "$IDP_INTEROP_DIR/agents-five-entries.sh"

# --- agents list ---------------------------------------------------------------------------------
"$AGENTS" agents list --secret "file://$SECRET" --json >"$IDP_TMP/list.json" 2>"$IDP_TMP/list.err" ||
  fail "agents list: $(cat "$IDP_TMP/list.err")"
L=$IDP_TMP/list.json
agent() { jq -c --arg id "$1" '.agents[] | select(.agent_id == $id)' "$L"; }
[[ $(jq '.agents | length' "$L") == 4 ]] || fail "expected 4 agents: $(cat "$L")"
[[ $(agent external-mcp-agent-0 | jq -r '.status + " " + (.tools | join(","))') == "ready add,whoami" ]] ||
  fail "entry 1: $(agent external-mcp-agent-0)"
[[ $(agent external-mcp-agent-0 | jq -r .agent_name) == "External MCP Agent 1" ]] || fail "default name: $(agent external-mcp-agent-0)"
[[ $(agent calculator_tools | jq -r '.status + " " + (.tools | join(",")) + " " + .agent_description') == \
   "ready calc_add Adds numbers. The tools available are: calc_add." ]] || fail "entry 2: $(agent calculator_tools)"
[[ $(agent calculator_tools | jq -r '.sample_queries[0]') == "What is 2 + 40?" ]] || fail "sample queries: $(agent calculator_tools)"
[[ $(agent external-mcp-agent-3 | jq -r .status) == unavailable &&
   $(agent external-mcp-agent-3 | jq -r .reason) == *"connect to 127.0.0.1:$DOWN_PORT failed"* ]] || fail "entry 4: $(agent external-mcp-agent-3)"
[[ $(agent everything | jq -r '.status + " " + .transport + " " + (.tools | sort | join(","))') == "ready sse echo,get-sum" ]] ||
  fail "entry 5: $(agent everything)"
[[ $(jq -r '.findings[] | select(.entry == 3) | .field' "$L") == cognito_password ]] || fail "entry 3 finding: $(jq -c .findings "$L")"
log "PASS agents list: 2 ready Cognito agents, 1 unavailable with its reason, 1 sse agent, entry 3 skipped for cognito_password"

# --- secret check and doctor ---------------------------------------------------------------------
out=$("$AGENTS" secret check "file://$SECRET" 2>&1) || fail "secret check: $out"
[[ $out == *"5 entries, 4 usable"*"entry 3: skipped"*"cognito_password is missing"* ]] || fail "secret check: $out"
rc=0
out=$("$AGENTS" doctor --secret "file://$SECRET" --timeout 5 2>&1) || rc=$?
((rc == 1)) || fail "doctor exited $rc with an entry down: $out"
[[ $(grep -c '=> ready' <<<"$out") == 3 && $out == *"tcp         FAIL"*"fix: Verify the MCP server is running"* ]] ||
  fail "doctor: $out"
log "PASS secret check and doctor name the same entries (doctor: 3 ready, the down one with its fix, exit 1)"

# --- agents watch: a server coming up, an entry added --------------------------------------------
W=$IDP_TMP/watch.out
"$AGENTS" agents watch --secret "file://$SECRET" --json --refresh-seconds $REFRESH >"$W" 2>"$IDP_TMP/watch.err" &
WATCH_PID=$!
_idp_pids+=($WATCH_PID)
wait_for "$W" '"agent_id":"external-mcp-agent-3"' >/dev/null
release_port "$DOWN_HOLDER"
"$IDP_SERVER" --host 127.0.0.1 --port "$DOWN_PORT" --jwt-issuer "$COG/$POOL" --jwt-client-id "$CLIENT" >"$IDP_TMP/late.out" 2>&1 &
_idp_pids+=($!)
wait_for "$IDP_TMP/late.out" 'listening on' >/dev/null
ready_line() { jq -c --arg id "$1" 'select(.event == "agent" and .agent.agent_id == $id and .agent.status == "ready")' "$W" 2>/dev/null | sed -n 1p; }
wait_ready() {  # wait_ready AGENT_ID: its "ready" event in the watch output (a 30 s guard)
  for _ in $(seq 300); do [[ -n $(ready_line "$1") ]] && return 0; sleep 0.1; done
  return 1
}
wait_ready external-mcp-agent-3 || fail "the started server's agent did not become ready: $(tail -n 5 "$W")"
log "PASS the down server's agent became ready after the server started, without a restart"

jq --arg url "http://127.0.0.1:$MCP_PORT/mcp" --arg pool "$POOL" --arg client "$CLIENT" \
  '. + [{"mcp_url":$url,"agent_id":"added","cognito_user_pool_id":$pool,"cognito_client_id":$client,
         "cognito_username":"svc","cognito_password":"Passw0rd!Agents","tools_allow":["whoami"]}]' "$SECRET" >"$SECRET.new"
mv "$SECRET.new" "$SECRET"
wait_ready added || fail "the added entry did not show: $(tail -n 5 "$W")"
log "PASS an entry added to the secret became ready under watch"
stop_server "$WATCH_PID"

for f in "$L" "$IDP_TMP/list.err" "$W" "$IDP_TMP/watch.err" "$IDP_TMP/cognito.out"; do
  ! grep -qF 'Passw0rd!Agents' "$f" || fail "the password appears in $f"
done
[[ $out != *'Passw0rd!Agents'* ]] || fail "the password appears in doctor's output"
log "PASS no password in any output or log"
