#!/usr/bin/env bash
# Fault injection against the agents' side of the demo stack, with our binaries only: the local
# identity provider, `idp-agents serve` (offline model) with three agents -- two agent-test-server
# processes (one gets killed with -9 in the middle of a tool call, one gets stopped with SIGSTOP:
# it still accepts connections, the kernel queues them, and it never answers) and idp-mcp-server
# behind the identity provider -- and `idp-agents call` against servers killed mid-call and
# mid-stream. Then the secret file goes malformed and unreadable while the service runs, and the
# identity provider goes slow (SIGSTOP) and down (kill -9). Each step checks what the user sees
# (an answer, an error that says what failed) and that what was acknowledged is still there.
# Every process is started here and stopped by its pid; waits are for lines and exits, never
# fixed sleeps (a stopped server is given up on by the caller's own timeout).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/cognito.sh"

"$BIN/idp-agents" local-cognito --port 0 --data "$TMP/cognito" >"$TMP/cognito.out" 2>&1 &
COG_PID=$!
PIDS+=("$COG_PID")
COG=$(wait_line "$TMP/cognito.out" 'http://127\.0\.0\.1:[0-9]+')
PASSWORD='Fault-Passw0rd!1'
cognito_pool "$COG" web alice "$PASSWORD" || fail "pool setup"
POOL=$COG_POOL CLIENT=$COG_CLIENT

start_tools() {  # NAME [ARGS...]: an agent-test-server (--port 0 unless ARGS say); sets TOOLS_PID, TOOLS_URL, TOOLS_OUT
  TOOLS_OUT=$TMP/$1.out
  shift
  [[ " $* " == *" --port "* ]] || set -- --port 0 "$@"
  "$BIN/agent-test-server" "$@" >"$TOOLS_OUT" 2>&1 &
  TOOLS_PID=$!
  PIDS+=("$TOOLS_PID")
  TOOLS_URL=$(wait_line "$TOOLS_OUT" 'http://127\.0\.0\.1:[0-9]+/mcp')
}
start_tools doomed
DOOMED_PID=$TOOLS_PID DOOMED_URL=$TOOLS_URL
start_tools stuck
STUCK_PID=$TOOLS_PID STUCK_URL=$TOOLS_URL
"$BIN/idp-mcp-server" --listen 127.0.0.1:0 --jwt-issuer "$COG/$POOL" --cognito-client-id "$CLIENT" \
  --db "$TMP/example.db" >"$TMP/example.out" 2>&1 &
PIDS+=("$!")
EXAMPLE_URL=$(wait_line "$TMP/example.out" 'http://127\.0\.0\.1:[0-9]+/mcp')

SECRET=$TMP/agents.json
write_secret() {
  cat >"$SECRET" <<JSON
[{"mcp_url": "$DOOMED_URL", "agent_id": "doomed_tools", "agent_name": "Doomed Tools",
  "agent_description": "Test tools on a server that gets killed.", "auth": {"type": "none"}},
 {"mcp_url": "$STUCK_URL", "agent_id": "stuck_tools", "agent_name": "Stuck Tools",
  "agent_description": "Test tools on a server that stops answering.", "auth": {"type": "none"},
  "timeout_seconds": 2},
 {"mcp_url": "$EXAMPLE_URL", "agent_id": "calculator_tools", "agent_name": "Calculator Tools",
  "agent_description": "Arithmetic and client records.", "cognito_user_pool_id": "$POOL",
  "cognito_client_id": "$CLIENT", "cognito_username": "alice", "cognito_password": "$PASSWORD"}]
JSON
  chmod 600 "$SECRET"
}
write_secret
"$BIN/idp-agents" serve --listen 127.0.0.1:0 --model offline --secret "file://$SECRET" \
  --user-pool-id "$POOL" --user-client-id "$CLIENT" --cognito-endpoint "$COG" \
  --data "$TMP/serve" >"$TMP/serve.out" 2>"$TMP/serve.log" &
SERVE_PID=$!
PIDS+=("$SERVE_PID")
URL=$(wait_line "$TMP/serve.out" 'listening on http://127\.0\.0\.1:[0-9]+' | cut -d' ' -f3)
login() {  # prints the HTTP status; the body lands in $TMP/login.json
  curl -sS -o "$TMP/login.json" -w '%{http_code}' -X POST "$URL/api/auth/login" \
    -H 'Content-Type: application/json' -d "{\"username\":\"alice\",\"password\":\"$PASSWORD\"}"
}
[[ $(login) == 200 ]] || fail "sign-in: $(cat "$TMP/login.json")"
TOKEN=$(jq -r .access_token "$TMP/login.json")
api() {  # api METHOD PATH [BODY]
  curl -sS -X "$1" "$URL$2" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' ${3:+-d "$3"}
}
status_of() { api GET /api/agents | jq -r --arg id "$1" '.agents[] | select(.agent_id == $id) | .status'; }
for _ in $(seq 600); do
  [[ $(api GET /api/agents | jq -r '[.agents[].status] | unique | join(",")') == ready ]] && break
  sleep 0.05
done
[[ $(api GET /api/agents | jq -r '[.agents[].status] | unique | join(",")') == ready ]] ||
  fail "the agents never got ready: $(api GET /api/agents)"
session() { api POST /api/chat/sessions "{\"agent_ids\":[\"$1\"]}" | jq -r .session_id; }
events() { grep '^data: ' "$1" | sed 's/^data: //' | jq -sc .; }
ask() {  # ask SESSION TEXT OUT: one turn, its SSE stream in OUT
  curl -sS -N -X POST "$URL/api/chat/sessions/$1/messages" -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' -d "{\"text\":\"$2\"}" >"$3"
}
calculator_answers() {  # WHY: a turn of the calculator agent still gets its answer
  local sid
  sid=$(session calculator_tools)
  ask "$sid" "What is 6 times 7?" "$TMP/calc.txt"
  [[ $(events "$TMP/calc.txt" | jq -r '.[-1].type + " " + .[-1].text') == *final*42* ]] ||
    fail "the calculator agent no longer answers $1: $(cat "$TMP/calc.txt")"
}
calculator_answers "at the start"
# slow_turn AGENT OUT SERVER-OUT: starts a turn that calls the slow tool, in the background (sets
# SID and CURL), and returns once the server (its output in SERVER-OUT) says the call arrived.
slow_turn() {
  SID=$(session "$1")
  ask "$SID" "Run the slow tool" "$2" &
  CURL=$!
  PIDS+=("$CURL")
  wait_line "$3" '^call slow$' >/dev/null
}

# 1. An MCP server killed with -9 in the middle of a tool call.
slow_turn doomed_tools "$TMP/doomed.txt" "$TMP/doomed.out"
kill -9 "$DOOMED_PID"
wait "$CURL" || fail "the turn's stream broke off: $(cat "$TMP/doomed.txt")"
SEEN=$(events "$TMP/doomed.txt")
jq -e '[.[] | select(.type == "tool_end" and .tool == "slow" and .is_error == true and
  (.output.content[0].text | startswith("the tool call failed")))] | length == 1' <<<"$SEEN" >/dev/null ||
  fail "no failed tool_end for the killed server: $SEEN"
[[ $(jq -r '.[-1].type' <<<"$SEEN") == final || $(jq -r '.[-1].type' <<<"$SEEN") == error ]] || fail "the turn did not end: $SEEN"
STORED=$(api GET "/api/chat/sessions/$SID" | jq -c '.messages[1].events')
[[ $(jq -c 'map(del(.ts))' <<<"$STORED") == "$(jq -c 'map(del(.ts))' <<<"$SEEN")" ]] ||
  fail "the stored turn differs from the streamed one: $SEEN vs $STORED"
calculator_answers "after another agent's server was killed"
pass "a server killed mid-call: the turn ends with the tool's error ($(jq -r '.[] | select(.type == "tool_end") | .output.content[0].text' <<<"$SEEN" | cut -c1-80)), stored as streamed; other agents answer"

# 2. A server that accepts and never answers (SIGSTOP): the call's timeout (2 s here) ends it.
kill -STOP "$STUCK_PID"
SID=$(session stuck_tools)
ask "$SID" "Add 2 and 40" "$TMP/stuck.txt"
SEEN=$(events "$TMP/stuck.txt")
jq -e '[.[] | select(.type == "tool_end" and .is_error == true and
  (.output.content[0].text | test("no answer|timed out|within 2")))] | length == 1' <<<"$SEEN" >/dev/null ||
  fail "no timeout for the stopped server: $SEEN"
calculator_answers "while another agent's server hangs"
pass "a server that never answers: the tool call times out ($(jq -r '.[] | select(.type == "tool_end") | .output.content[0].text' <<<"$SEEN" | cut -c1-80)); other agents answer"

# The same with the CLI: `idp-agents call` against a stopped server, then a killed one.
rc=0
err=$("$BIN/idp-agents" call "$STUCK_URL" add --arg a=1 --arg b=2 --timeout 2 2>&1) || rc=$?
((rc == 1)) && [[ $err == *error:* && $err == *"$STUCK_URL"* ]] || fail "call to a stopped server (exit $rc): $err"
kill -CONT "$STUCK_PID"
pass "idp-agents call to a server that never answers: exit 1, '$(head -1 <<<"$err" | cut -c1-100)'"
for mode in call stream; do
  if [[ $mode == call ]]; then start_tools cli; else start_tools cli-stream --legacy-only; fi
  tool=slow said="closed before a response"
  [[ $mode == stream ]] && tool=stream said="closed in the middle of the response"  # the SSE stream was open
  "$BIN/idp-agents" call "$TOOLS_URL" "$tool" --timeout 30 >"$TMP/cli-$mode.out" 2>"$TMP/cli-$mode.err" &
  CLI=$!
  PIDS+=("$CLI")
  wait_line "$TOOLS_OUT" "^call $tool\$" >/dev/null
  kill -9 "$TOOLS_PID"
  rc=0
  wait "$CLI" || rc=$?
  err=$(cat "$TMP/cli-$mode.err")
  ((rc == 1)) && [[ $err == *error:* && $err == *"$TOOLS_URL"* && $err == *"$said"* ]] ||
    fail "call to a server killed mid-$mode (exit $rc): $err"
  pass "idp-agents call to a server killed mid-$mode: exit 1, '$(head -1 <<<"$err" | cut -c1-100)'"
done

# 3. The secret goes malformed, then unreadable, while the service runs: the agents stay.
before=$(api GET /api/agents | jq -c '[.agents[] | {agent_id, status}]')
echo '[{"mcp_url": "http://127.0.0.1:9/mcp", "agent_name": "Half"' >"$SECRET"  # an edit caught halfway
out=$(api POST /api/agents/refresh)
jq -e '(.findings | map(.message) | join(" ")) | test("not valid JSON") and test("keeping the 3 agent")' <<<"$out" >/dev/null ||
  fail "a malformed secret: $out"
[[ $(jq -c '[.agents[] | {agent_id, status}]' <<<"$out") == "$before" ]] || fail "the agents changed with a malformed secret: $out"
calculator_answers "with a malformed secret"
rm -f "$SECRET"
mkdir "$SECRET"  # a directory where the file was: it cannot be read
out=$(api POST /api/agents/refresh)
jq -e '(.findings | map(.message) | join(" ")) | test("cannot read the secret")' <<<"$out" >/dev/null ||
  fail "an unreadable secret: $out"
[[ $(jq -c '[.agents[] | {agent_id, status}]' <<<"$out") == "$before" ]] || fail "the agents changed with an unreadable secret: $out"
calculator_answers "with an unreadable secret"
rmdir "$SECRET"
write_secret
out=$(api POST /api/agents/refresh)
[[ $(jq '.findings | length' <<<"$out") == 0 ]] || fail "the fixed secret still has findings: $out"
pass "a malformed and an unreadable secret at run time: findings say so, the last good agents stay and answer"

# 4. The identity provider slow (stopped), then down: sign-in fails with 503 and says why; users
# already signed in go on (the JWKS and the agents' tokens are cached).
kill -STOP "$COG_PID"
login >"$TMP/slow-login.status" &
LOGIN=$!
PIDS+=("$LOGIN")
calculator_answers "while the identity provider hangs"
[[ $(api GET /api/me | jq -r .username) == alice ]] || fail "a signed-in user was refused while the identity provider hangs"
wait "$LOGIN"
[[ $(cat "$TMP/slow-login.status") == 503 && $(jq -r .error.code "$TMP/login.json") == unavailable ]] ||
  fail "sign-in against a hanging identity provider: $(cat "$TMP/slow-login.status") $(cat "$TMP/login.json")"
pass "identity provider hanging: sign-in ends with 503 ($(jq -r .error.message "$TMP/login.json" | cut -c1-80)); signed-in users go on"
kill -9 "$COG_PID"
wait "$COG_PID" 2>/dev/null || true
status=$(login)
[[ $status == 503 && $(jq -r .error.code "$TMP/login.json") == unavailable ]] ||
  fail "sign-in against a dead identity provider: $status $(cat "$TMP/login.json")"
calculator_answers "after the identity provider died"
grep -q "$PASSWORD" "$TMP/serve.log" "$TMP/login.json" && fail "a password reached the log or an error"
pass "identity provider down: sign-in is 503 '$(jq -r .error.message "$TMP/login.json" | cut -c1-80)'; signed-in users go on"

# 5. The killed server comes back on its port: a refresh makes its agent ready again, no restart.
DOOMED_PORT=${DOOMED_URL#http://127.0.0.1:}
start_tools reborn --port "${DOOMED_PORT%/mcp}"
[[ $TOOLS_URL == "$DOOMED_URL" ]] || fail "the server did not come back on $DOOMED_URL: $TOOLS_URL"
api POST /api/agents/refresh >/dev/null
for _ in $(seq 600); do
  [[ $(status_of doomed_tools) == ready ]] && break
  sleep 0.05
done
[[ $(status_of doomed_tools) == ready ]] || fail "the agent of the restarted server is not ready: $(api GET /api/agents)"
pass "the killed server back on its port: its agent is ready again after a refresh, without a restart of serve"

# 6. SIGTERM of serve while a turn waits on a real tool call: the turn ends "interrupted" on the
# stream and serve exits 0 (that it is stored: LifecycleTest, e2e.serve_crash).
slow_turn doomed_tools "$TMP/term.txt" "$TOOLS_OUT"
kill -TERM "$SERVE_PID"
rc=0
wait "$SERVE_PID" || rc=$?
((rc == 0)) || fail "serve exited $rc on SIGTERM: $(tail -5 "$TMP/serve.log")"
wait "$CURL" || true
[[ $(events "$TMP/term.txt" | jq -r '.[-1].type + " " + .[-1].code') == "error interrupted" ]] ||
  fail "the running turn did not end interrupted: $(cat "$TMP/term.txt")"
pass "SIGTERM of serve during a tool call: the turn ends 'interrupted' on the stream and serve exits 0"
echo "$PASSED passed, 0 failed"
