#!/usr/bin/env bash
# `kill -9` of `idp-agents serve` in the middle of a real turn (the agent loop with the offline
# model, calling a tool of a real MCP server that runs until cancelled: the browser tests'
# fixture server on the TypeScript SDK), then a restart on the same store: the session, the
# user's message and every event streamed before the kill are there, the turn is marked
# interrupted, and the session takes the next question.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/cognito.sh"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export IDP_PEERS_DIR=${IDP_PEERS_DIR:-$HERE/../../build/peers}
[[ -d $IDP_PEERS_DIR/peers/node_modules/@modelcontextprotocol/sdk ]] ||
  fail "the MCP SDK is missing in $IDP_PEERS_DIR/peers: run scripts/install-deps.sh --no-apt"

"$BIN/idp-agents" local-cognito --port 0 --data "$TMP/cognito" >"$TMP/cognito.out" 2>&1 &
PIDS+=($!)
COG=$(wait_line "$TMP/cognito.out" 'http://127\.0\.0\.1:[0-9]+')
PASSWORD='Crash-Passw0rd!1'
cognito_pool "$COG" web alice "$PASSWORD" || fail "pool setup"
node "$HERE/../browser/fixture-server.mjs" 0 >"$TMP/mcp.out" 2>"$TMP/mcp.err" &
PIDS+=($!)
MCP=$(wait_line "$TMP/mcp.out" 'http://127\.0\.0\.1:[0-9]+/mcp')
cat >"$TMP/agents.json" <<JSON
[{"mcp_url": "$MCP", "agent_id": "fixture_tools", "agent_name": "Fixture Tools",
  "agent_description": "Test tools.", "auth": {"type": "none"}}]
JSON
chmod 600 "$TMP/agents.json"

start_serve() {
  "$BIN/idp-agents" serve --listen 127.0.0.1:0 --model offline --secret "file://$TMP/agents.json" \
    --user-pool-id "$COG_POOL" --user-client-id "$COG_CLIENT" --cognito-endpoint "$COG" \
    --data "$TMP/serve" >"$TMP/serve.out" 2>>"$TMP/serve.log" &
  SERVE=$!
  PIDS+=($SERVE)
  URL=$(wait_line "$TMP/serve.out" 'listening on http://127\.0\.0\.1:[0-9]+' | cut -d' ' -f3)
  TOKEN=$(curl -sS -X POST "$URL/api/auth/login" -H 'Content-Type: application/json' \
    -d "{\"username\":\"alice\",\"password\":\"$PASSWORD\"}" | jq -r .access_token)
  [[ $TOKEN == ey* ]] || fail "sign-in"
  for _ in $(seq 600); do
    [[ $(api GET /api/agents | jq -r '.agents[0].status') == ready ]] && return 0
    sleep 0.05
  done
  fail "the agent never got ready: $(api GET /api/agents)"
}
api() {  # api METHOD PATH [BODY]
  curl -sS -X "$1" "$URL$2" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' ${3:+-d "$3"}
}

start_serve
SID=$(api POST /api/chat/sessions '{"agent_ids":["fixture_tools"]}' | jq -r .session_id)
[[ $SID == ses_* ]] || fail "no session"
curl -sS -N -X POST "$URL/api/chat/sessions/$SID/messages" -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' -d '{"text":"Run the slow report"}' >"$TMP/stream.txt" 2>/dev/null &
CURL=$!
PIDS+=($CURL)
wait_line "$TMP/stream.txt" '"type":"tool_start"' >/dev/null
grep -q '"tool":"slow_report"' "$TMP/stream.txt" || fail "the turn did not call slow_report: $(cat "$TMP/stream.txt")"
kill -9 "$SERVE"
wait "$SERVE" 2>/dev/null || true
wait "$CURL" 2>/dev/null || true
SEEN=$(grep '^data: ' "$TMP/stream.txt" | sed 's/^data: //' | jq -sc .)
pass "a real turn reached its tool call ($(jq length <<<"$SEEN") events streamed), then serve was killed with -9"

start_serve
DETAIL=$(api GET "/api/chat/sessions/$SID")
[[ $(jq -r .last_status <<<"$DETAIL") == interrupted && $(jq -r .running <<<"$DETAIL") == false ]] ||
  fail "after the restart: $DETAIL"
[[ $(jq -r '.messages[0].text' <<<"$DETAIL") == "Run the slow report" ]] || fail "the user's message is gone: $DETAIL"
[[ $(jq -r '.messages[1].status' <<<"$DETAIL") == interrupted ]] || fail "the answer is not interrupted: $DETAIL"
STORED=$(jq -c '.messages[1].events' <<<"$DETAIL")
n=$(jq length <<<"$SEEN")
[[ $(jq -c ".[:$n]" <<<"$STORED") == "$SEEN" ]] || fail "the stored events differ from the streamed ones: $SEEN vs $STORED"
[[ $(jq -r '.[-1].type + " " + .[-1].code' <<<"$STORED") == "error interrupted" ]] || fail "no interrupted error last: $STORED"
pass "after a restart the session, the message and every streamed event are there; the turn is interrupted"

STATUS=$(api POST "/api/chat/sessions/$SID/messages" '{"text":"Echo the text \"still here\""}' | grep '^data: ' | tail -1)
[[ $STATUS == *'"type":"final"'* && $STATUS == *'still here'* ]] || fail "the next question: $STATUS"
pass "the session answers the next question"
echo "$PASSED passed, 0 failed"
