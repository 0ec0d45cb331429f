#!/usr/bin/env bash
# `idp-agents serve` as a user runs it: the local identity provider with a users' pool, an MCP
# server named in a secret file, the service on 127.0.0.1. Its flags refuse what is unsafe or
# unknown; it prints its URL; the UI is served with its policy; a user signs in through it, sees
# the agent and keeps a session across a restart; a member of the group Reviewer is refused;
# SIGTERM stops it cleanly; its trace log holds no password or token; its store is private.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/cognito.sh"

"$BIN/idp-agents" local-cognito --port 0 --data "$TMP/cognito" >"$TMP/cognito.out" 2>&1 &
PIDS+=($!)
COG=$(wait_line "$TMP/cognito.out" 'http://127\.0\.0\.1:[0-9]+')
PASSWORD='Serve-Passw0rd!1'
cognito_pool "$COG" web alice "$PASSWORD" || fail "pool setup"
POOL=$COG_POOL CLIENT=$COG_CLIENT

"$BIN/mcp-conformance-server" --port 0 >"$TMP/mcp.out" 2>&1 &
PIDS+=($!)
MCP=$(wait_line "$TMP/mcp.out" 'http://127\.0\.0\.1:[0-9]+/mcp')
cat >"$TMP/agents.json" <<EOF
[{"mcp_url": "$MCP", "agent_id": "conformance", "agent_name": "Conformance",
  "agent_description": "The conformance server's tools.", "auth": {"type": "none"}}]
EOF
chmod 600 "$TMP/agents.json"
mkdir -p "$TMP/ui"
echo '<!doctype html><title>UI</title>' >"$TMP/ui/index.html"
ARGS=(serve --secret "file://$TMP/agents.json" --user-pool-id "$POOL" --user-client-id "$CLIENT"
  --cognito-endpoint "$COG" --data "$TMP/serve" --ui-dir "$TMP/ui")

rc=0
err=$("$BIN/idp-agents" "${ARGS[@]}" --listen 0.0.0.0:0 2>&1) || rc=$?
((rc == 2)) && [[ $err == *"plain http is served on loopback only"*"--tls-cert"* ]] || fail "--listen 0.0.0.0 (exit $rc): $err"
rc=0
err=$("$BIN/idp-agents" "${ARGS[@]}" --listen 127.0.0.1:0 --store mysql://u:pw@x/db 2>&1) || rc=$?
((rc == 2)) && [[ $err == *"--store mysql:...: unsupported; use sqlite:PATH or postgresql://"* && $err != *pw* ]] ||
  fail "--store mysql (exit $rc): $err"
rc=0
err=$("$BIN/idp-agents" "${ARGS[@]}" --listen 127.0.0.1:0 --store postgres://idp:s3cret@127.0.0.1:1/idp 2>&1) || rc=$?
((rc == 1)) && [[ $err == *"cannot connect to PostgreSQL at postgres://idp@127.0.0.1:1/idp"* && $err != *s3cret* ]] ||
  fail "--store postgres:// with no server (exit $rc): $err"
# libpq is loaded only for a PostgreSQL store: the binary does not link it, and a missing or
# wrong libpq is an error that names the library (IDP_LIBPQ points at another one).
if ldd "$BIN/idp-agents" | grep -q libpq; then fail "idp-agents links libpq: $(ldd "$BIN/idp-agents" | grep libpq)"; fi
rc=0
err=$(IDP_LIBPQ=$TMP/no-libpq.so.5 "$BIN/idp-agents" "${ARGS[@]}" --listen 127.0.0.1:0 --store postgres://idp:s3cret@127.0.0.1:1/idp 2>&1) || rc=$?
((rc == 1)) && [[ $err == *"cannot load $TMP/no-libpq.so.5"*"libpq5"* && $err != *s3cret* ]] ||
  fail "--store postgres:// without libpq (exit $rc): $err"
rc=0
err=$("$BIN/idp-agents" serve --secret "file://$TMP/agents.json" 2>&1) || rc=$?
((rc != 0)) && [[ $err == *"--user-pool-id is required"* ]] || fail "no --user-pool-id (exit $rc): $err"
rc=0
err=$("$BIN/idp-agents" "${ARGS[@]}" --listen 127.0.0.1:99999 2>&1) || rc=$?
((rc == 2)) && [[ $err == *"expected HOST:PORT"* ]] || fail "--listen 127.0.0.1:99999 (exit $rc): $err"
pass "serve refuses plain http off loopback, unknown stores, a missing pool and a bad address"

start_serve() {
  "$BIN/idp-agents" --log-level trace "${ARGS[@]}" --listen 127.0.0.1:0 >"$TMP/serve.out" 2>"$TMP/serve.log" &
  SERVE=$!
  PIDS+=($SERVE)
  URL=$(wait_line "$TMP/serve.out" 'listening on http://127\.0\.0\.1:[0-9]+' | cut -d' ' -f3)
  for _ in $(seq 200); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "$URL/readyz") == 200 ]] && return 0
    sleep 0.05
  done
  fail "serve at $URL never got ready: $(curl -s "$URL/readyz")"
}
start_serve
[[ $(cat "$TMP/serve.out") == "listening on $URL" ]] || fail "serve printed: $(cat "$TMP/serve.out")"
pass "serve prints 'listening on $URL' and gets ready"

headers=$(curl -s -D - -o "$TMP/index.html" "$URL/")
grep -q "<title>UI</title>" "$TMP/index.html" || fail "GET / did not serve index.html"
[[ $headers == *"Content-Security-Policy: default-src 'self'; script-src 'self'"* ]] || fail "no CSP: $headers"
pass "the UI folder is served at / with the Content-Security-Policy"

api() {  # api METHOD PATH [BODY]: the body of an authenticated call
  curl -sS -X "$1" "$URL$2" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' ${3:+-d "$3"}
}
LOGIN=$(curl -sS -X POST "$URL/api/auth/login" -H 'Content-Type: application/json' \
  -d "{\"username\":\"alice\",\"password\":\"$PASSWORD\"}")
TOKEN=$(jq -r .access_token <<<"$LOGIN")
REFRESH=$(jq -r .refresh_token <<<"$LOGIN")
[[ $TOKEN == ey* && $REFRESH != null ]] || fail "sign-in through the service: $LOGIN"
[[ $(api GET /api/me | jq -r .username) == alice ]] || fail "/api/me: $(api GET /api/me)"
for _ in $(seq 200); do
  [[ $(api GET /api/agents | jq -r '.agents[0].status') == ready ]] && break
  sleep 0.05
done
AGENTS=$(api GET /api/agents)
[[ $(jq -r '.agents[0].agent_id' <<<"$AGENTS") == conformance && $(jq -r '.agents[0].status' <<<"$AGENTS") == ready ]] ||
  fail "/api/agents: $AGENTS"
[[ $(jq -r '.agents[0].tools | length' <<<"$AGENTS") -gt 0 ]] || fail "no tools: $AGENTS"
pass "a user signs in through the service and sees the secret's agent ready with its tools"

# A Reviewer of the local provider (CreateGroup, AdminAddUserToGroup: cognito:groups) is refused.
cog "$COG" AdminCreateUser "{\"UserPoolId\":\"$POOL\",\"Username\":\"rita\",\"MessageAction\":\"SUPPRESS\"}" >/dev/null
cog "$COG" AdminSetUserPassword "{\"UserPoolId\":\"$POOL\",\"Username\":\"rita\",\"Password\":\"$PASSWORD\",\"Permanent\":true}" >/dev/null
cog "$COG" CreateGroup "{\"UserPoolId\":\"$POOL\",\"GroupName\":\"Reviewer\"}" >/dev/null
cog "$COG" AdminAddUserToGroup "{\"UserPoolId\":\"$POOL\",\"Username\":\"rita\",\"GroupName\":\"Reviewer\"}" >/dev/null
RITA=$(curl -sS -X POST "$URL/api/auth/login" -H 'Content-Type: application/json' \
  -d "{\"username\":\"rita\",\"password\":\"$PASSWORD\"}" | jq -r .access_token)
[[ $RITA == ey* ]] || fail "the Reviewer could not sign in"
status=$(curl -s -o "$TMP/rita.json" -w '%{http_code}' "$URL/api/agents" -H "Authorization: Bearer $RITA")
[[ $status == 403 && $(jq -r .error.code "$TMP/rita.json") == permission_denied ]] ||
  fail "a Reviewer's /api/agents: $status $(cat "$TMP/rita.json")"
[[ $(curl -sS "$URL/api/me" -H "Authorization: Bearer $RITA" | jq -c .groups) == '["Reviewer"]' ]] ||
  fail "a Reviewer's /api/me: $(curl -sS "$URL/api/me" -H "Authorization: Bearer $RITA")"
pass "a user the local provider put in the group Reviewer is refused (403), /api/me names the group"

SID=$(api POST /api/chat/sessions '{"agent_ids":["conformance"]}' | jq -r .session_id)
[[ $SID == ses_* ]] || fail "no session id"
STREAM=$(curl -sS -N -X POST "$URL/api/chat/sessions/$SID/messages" -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' -d '{"text":"Which tools do you have?"}')
FIRST=$(grep -m 1 '^data: ' <<<"$STREAM" | sed 's/^data: //')
LAST=$(grep '^data: ' <<<"$STREAM" | tail -n 1 | sed 's/^data: //')
[[ $(jq -r '.type + " " + .model' <<<"$FIRST") == "turn_start offline" && $(jq -r .type <<<"$LAST") == final &&
   $(jq -r .text <<<"$LAST") == *"I can use these tools"* ]] || fail "a chat question: $STREAM"
pass "a chat question is answered by the agent loop (the offline planner) as a stream of events"
[[ $(stat -c %a "$TMP/serve/idp-agents.db") == 600 && $(stat -c %a "$TMP/serve") == 700 ]] ||
  fail "store modes: $(stat -c '%a %n' "$TMP/serve" "$TMP/serve/idp-agents.db")"
kill -TERM "$SERVE"
rc=0
wait "$SERVE" || rc=$?
((rc == 0)) || fail "serve exited $rc after SIGTERM: $(tail -5 "$TMP/serve.log")"
pass "SIGTERM stops serve with exit 0; its store is private (0600 in a 0700 folder)"

for secret in "$PASSWORD" "$TOKEN" "$REFRESH"; do
  grep -qF -- "$secret" "$TMP/serve.log" && fail "the trace log holds a password or token"
done
[[ -s $TMP/serve.log ]] || fail "the trace log is empty"
pass "serve's trace log holds no password or token"

start_serve
[[ $(api GET /api/chat/sessions | jq -r '.sessions[0].session_id') == "$SID" ]] || fail "the session is gone after a restart"
pass "a restarted serve has the session"
echo "$PASSED passed, 0 failed"
