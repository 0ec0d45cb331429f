#!/usr/bin/env bash
# idp-mcp-server end to end, with our binaries only: the local identity provider issues access
# tokens (alice and bob of one app client, an ID token, a token of another app client); the
# example server checks them on every request. Then: the three tools with good and bad inputs
# (SQL-looking ids, malformed e-mails, huge expressions, deep parentheses), the outbox across a
# restart, an idempotent retry, the audit log (one line per call, no token, no argument value),
# a 5/min rate limit (the sixth call gets 429 with Retry-After, bob is unaffected, one
# rate_limited audit line, /metrics counts it), and HTTPS with a local CA.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/cognito.sh"

"$BIN/idp-agents" local-cognito --port 0 --data "$TMP/cognito" >"$TMP/cognito.out" 2>&1 &
PIDS+=($!)
COG=$(wait_line "$TMP/cognito.out" 'http://127\.0\.0\.1:[0-9]+')
cognito_pool "$COG" example alice 'Passw0rd!Lab' || fail "pool setup"
POOL=$COG_POOL CLIENT=$COG_CLIENT
cog "$COG" AdminCreateUser "{\"UserPoolId\":\"$POOL\",\"Username\":\"bob\",\"TemporaryPassword\":\"Temp0rary!1a\",\"MessageAction\":\"SUPPRESS\"}" >/dev/null
cog "$COG" AdminSetUserPassword "{\"UserPoolId\":\"$POOL\",\"Username\":\"bob\",\"Password\":\"Passw0rd!Bob\",\"Permanent\":true}" >/dev/null
OTHER=$(cog "$COG" CreateUserPoolClient "{\"UserPoolId\":\"$POOL\",\"ClientName\":\"other\",\"ExplicitAuthFlows\":[\"ALLOW_USER_PASSWORD_AUTH\"]}" | jq -r .UserPoolClient.ClientId)
token() {  # USER PASSWORD CLIENT FIELD
  cog "$COG" InitiateAuth "{\"AuthFlow\":\"USER_PASSWORD_AUTH\",\"ClientId\":\"$3\",\"AuthParameters\":{\"USERNAME\":\"$1\",\"PASSWORD\":\"$2\"}}" |
    jq -r ".AuthenticationResult.$4"
}
ALICE=$(token alice 'Passw0rd!Lab' "$CLIENT" AccessToken)
BOB=$(token bob 'Passw0rd!Bob' "$CLIENT" AccessToken)
ALICE_ID=$(token alice 'Passw0rd!Lab' "$CLIENT" IdToken)
ALICE_OTHER=$(token alice 'Passw0rd!Lab' "$OTHER" AccessToken)
for t in "$ALICE" "$BOB" "$ALICE_ID" "$ALICE_OTHER"; do [[ $t == ey* ]] || fail "no token from the local identity provider"; done

SERVER_PID=
start_server() {  # NAME ARGS...: idp-mcp-server on a free loopback port; sets URL
  local name=$1
  shift
  "$BIN/idp-mcp-server" --listen 127.0.0.1:0 --jwt-issuer "$COG/$POOL" --cognito-client-id "$CLIENT" \
    --log-level debug "$@" >"$TMP/$name.out" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  URL=$(wait_line "$TMP/$name.out" 'https?://127\.0\.0\.1:[0-9]+/mcp')
}
stop_server() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; }

# call TOKEN TOOL ARGS-JSON: the result as JSON on stdout; exit 0, or 3 for a tool error. Each
# call adds a line to $TMP/calls (it often runs in a subshell).
call() {
  echo "$2" >>"$TMP/calls"
  "$BIN/idp-agents" call "$URL" "$2" --args-json "$3" --json --header "Authorization: Bearer $1"
}
expect_ok() {  # TOOL ARGS JQ-CONDITION
  local out rc=0
  out=$(call "$ALICE" "$1" "$2") || rc=$?
  ((rc == 0)) && jq -e "$3" >/dev/null <<<"$out" || fail "$1 $2: expected $3, got (exit $rc) $out"
}
expect_error() {  # TOOL ARGS TEXT: a tool error (isError) whose text contains TEXT
  local out rc=0
  out=$(call "$ALICE" "$1" "$2") || rc=$?
  ((rc == 3)) && [[ $(jq -r '.content[0].text' <<<"$out") == *"$3"* ]] ||
    fail "$1 $2: expected a tool error with '$3', got (exit $rc) $out"
}

start_server main --db "$TMP/example.db" --audit-log "$TMP/audit.log"

expect_ok calculator '{"expression":"(12.5 + 7) * 3"}' '.content[0].text == "58.5" and .structuredContent.result == 58.5'
expect_ok calculator '{"expression":"sqrt(16) + 2^3 - log(100)"}' '.structuredContent.result == 10'
expect_error calculator '{"expression":"10 / (4 - 4)"}' "division by zero at position 4 (the divisor '(4 - 4)' is 0)"
expect_error calculator '{"expression":"2 + * 3"}' 'position'
expect_error calculator "{\"expression\":\"$(printf '1+%.0s' $(seq 600))1\"}" 'expression'
expect_error calculator "{\"expression\":\"$(printf '(%.0s' $(seq 40))1$(printf ')%.0s' $(seq 40))\"}" 'nested deeper than 32'
expect_error calculator '{"expression":"system(\"id\")"}' 'position'
pass "calculator: arithmetic, and errors that say where (division by zero, syntax, length, depth)"

expect_ok get_client_address '{"client_id":"C-1001"}' '.structuredContent.name == "Ada Lovelace" and .structuredContent.postal_code == "SW1Y 4JH"'
expect_error get_client_address '{"client_id":"C-9999"}' 'No client with id C-9999'
expect_error get_client_address "{\"client_id\":\"C-1001' OR '1'='1\"}" "client_id"
expect_error get_client_address '{"client_id":"C-1001; DROP TABLE clients; --"}' "client_id"
expect_error get_client_address '{"client":"C-1001"}' "client_id"
expect_ok get_client_address '{"client_id":"C-1005"}' '.structuredContent.email == "katherine@example.org"'
pass "get_client_address: a record, an unknown id, SQL-looking ids refused by the pattern, the table intact"

expect_error send_verification_email '{"email":"not-an-address"}' 'email: not a valid e-mail address (format email)'
expect_error send_verification_email '{"email":"ada@localhost"}' 'format email'
expect_error send_verification_email '{"email":"ada@example.com\r\nBcc: eve@example.com"}' 'format email'
expect_error send_verification_email '{"email":"ada@example.com","subject":"Hi\r\nBcc: eve@example.com"}' 'subject'
expect_error send_verification_email '{"subject":"no recipient"}' 'Invalid arguments'
expect_error send_verification_email '{"client_id":"C-1001","email":"eve@example.com"}' 'not both'
expect_ok send_verification_email '{"client_id":"C-1003","idempotency_key":"verify-grace-1"}' '.structuredContent.status == "queued" and .structuredContent.to == "grace@example.net"'
FIRST=$(call "$ALICE" send_verification_email '{"client_id":"C-1003","idempotency_key":"verify-grace-1"}' | jq -r .structuredContent.message_id)
SECOND=$(call "$ALICE" send_verification_email '{"client_id":"C-1003","idempotency_key":"verify-grace-1"}' | jq -r .structuredContent.message_id)
[[ $FIRST == msg-* && $FIRST == "$SECOND" ]] || fail "an idempotent retry gave another message: $FIRST vs $SECOND"
expect_error send_verification_email '{"client_id":"C-1004","idempotency_key":"verify-grace-1"}' 'already used for a different message'
expect_ok send_verification_email '{"email":"new.user+idp@example.com","subject":"Bitte bestätigen"}' '.structuredContent.status == "queued"'
expect_ok list_outbox '{}' '(.structuredContent.messages | length) == 2'
pass "send_verification_email: malformed and header-injecting addresses refused, a retried key queues once"

stop_server
start_server restarted --db "$TMP/example.db" --audit-log "$TMP/audit.log"
expect_ok list_outbox '{"status":"queued"}' "[.structuredContent.messages[] | select(.message_id == \"$FIRST\" and .to == \"grace@example.net\")] | length == 1"
out=$(call "$BOB" list_outbox '{}')
[[ $(jq '.structuredContent.messages | length' <<<"$out") == 0 ]] || fail "bob sees alice's outbox: $out"
expect_error list_outbox '{"limit":1000}' 'limit'
pass "the outbox survives a restart; each caller sees only their own messages"

# Tokens: an ID token, another app client's token, none, and garbage are refused.
for t in "$ALICE_ID" "$ALICE_OTHER" not.a.token; do
  rc=0
  err=$("$BIN/idp-agents" call "$URL" calculator --arg expression=1 --header "Authorization: Bearer $t" 2>&1) || rc=$?
  ((rc == 1)) && [[ $err == *'error="invalid_token"'* ]] || fail "a bad token was not refused (exit $rc): $err"
done
code=$(curl -sS -o /dev/null -w '%{http_code}' -X POST "$URL" -H 'Content-Type: application/json' \
  -H 'Accept: application/json, text/event-stream' -d '{"jsonrpc":"2.0","id":1,"method":"ping"}')
[[ $code == 401 ]] || fail "no token: HTTP $code"
prm=$(curl -sS "${URL%/mcp}/.well-known/oauth-protected-resource/mcp")
[[ $(jq -r '.authorization_servers[0]' <<<"$prm") == "$COG/$POOL" ]] || fail "protected-resource metadata: $prm"
pass "ID tokens, another app client's tokens, garbage and missing tokens are refused (401, metadata)"

stop_server
AUDIT=$TMP/audit.log
jq -e . "$AUDIT" >/dev/null || fail "the audit log is not JSON lines"
CALLS=$(wc -l <"$TMP/calls")
n_calls=$(jq -s '[.[] | select(.method == "tools/call")] | length' "$AUDIT")
((n_calls == CALLS)) || fail "audit: $n_calls tools/call lines for $CALLS calls"
jq -e -s 'all(.[] | select(.method == "tools/call"); has("time") and has("trace_id") and has("sub") and
  has("username") and has("client_id") and has("session") and has("tool") and has("argument_names") and
  (.arguments_sha256 | length == 64) and has("duration_ms"))' "$AUDIT" >/dev/null || fail "audit lines lack fields"
for o in ok tool_error invalid denied; do
  jq -e -s --arg o "$o" 'any(.[]; .outcome == $o)' "$AUDIT" >/dev/null || fail "no '$o' line in the audit log"
done
jq -e -s 'all(.[] | select(.outcome == "ok"); .username == "alice" or .username == "bob")' "$AUDIT" >/dev/null ||
  fail "ok lines without the caller's username"
# Timings left out: a duration such as 112.53 ms holds the text "12.5" without holding an argument.
AUDIT_TEXT=$(jq -c 'del(.duration_ms, .time)' "$AUDIT")
for secret in "$ALICE" "$BOB" "$ALICE_ID" "$ALICE_OTHER" 'C-1001' 'not-an-address' 'verify-grace-1' '12.5' 'DROP TABLE' \
  'new.user+idp@example.com' 'Passw0rd'; do
  [[ $AUDIT_TEXT != *"$secret"* ]] || fail "the audit log holds a token or argument value: $secret"
done
pass "audit: one line per tool call ($CALLS) with the fields, outcomes ok/tool_error/invalid/denied, no token or value"

# Rate limit: 5 tool calls a minute per caller.
start_server limited --stateless --rate-limit 5/min --db "$TMP/example.db" --audit-log "$TMP/audit-limit.log"
post() {  # TOKEN: one stateless tools/call; prints the status, headers go to $TMP/h
  curl -sS -o "$TMP/body" -D "$TMP/h" -w '%{http_code}' -X POST "$URL" -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' -H 'MCP-Protocol-Version: 2025-11-25' -H "Authorization: Bearer $1" \
    -d '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"calculator","arguments":{"expression":"6*7"}}}'
}
for i in 1 2 3 4 5; do
  code=$(post "$ALICE")
  [[ $code == 200 ]] || fail "call $i within the limit: HTTP $code $(cat "$TMP/body")"
done
code=$(post "$ALICE")
retry=$(tr -d '\r' <"$TMP/h" | awk -F': ' 'tolower($1)=="retry-after"{print $2}')
[[ $code == 429 && $retry =~ ^[0-9]+$ ]] && ((retry >= 1 && retry <= 12)) || fail "sixth call: HTTP $code, Retry-After '$retry'"
jq -e '.error.code == -32029 and .error.data.limit == "tool_calls" and .error.data.rate == "5/min" and
  .error.data.retryAfterSeconds >= 1 and .id == 7' "$TMP/body" >/dev/null || fail "429 body: $(cat "$TMP/body")"
code=$(post "$BOB")
[[ $code == 200 ]] || fail "bob was limited by alice's calls: HTTP $code"
metrics=$(curl -sS "${URL%/mcp}/metrics")
grep -qx 'idp_mcp_requests_total{method="tools/call",status="ok"} 6' <<<"$metrics" &&
  grep -qx 'idp_mcp_requests_total{method="tools/call",status="rate_limited"} 1' <<<"$metrics" &&
  grep -qx 'idp_mcp_rate_limited_total{limit="tool_calls"} 1' <<<"$metrics" &&
  grep -qx 'idp_mcp_tool_call_duration_seconds_count{tool="calculator"} 6' <<<"$metrics" ||
  fail "metrics do not match the calls: $metrics"
[[ $(curl -sS "${URL%/mcp}/healthz") == '{"status":"ok"}' ]] || fail "healthz"
stop_server
[[ $(jq -s '[.[] | select(.outcome == "rate_limited")] | length' "$TMP/audit-limit.log") == 1 ]] ||
  fail "expected one rate_limited audit line: $(cat "$TMP/audit-limit.log")"
jq -e -s '[.[] | select(.outcome == "rate_limited")][0] | .username == "alice" and .tool == "calculator" and
  (.detail | startswith("tool_calls"))' "$TMP/audit-limit.log" >/dev/null || fail "rate_limited line: $(cat "$TMP/audit-limit.log")"
pass "--rate-limit 5/min: the sixth call gets 429 with Retry-After, bob is unaffected, one rate_limited line, /metrics counts"

# Our client honours Retry-After once when the wait fits the call's deadline, else says why.
start_server retry --stateless --rate-limit 5/min --db "$TMP/example.db" --audit-log "$TMP/audit-retry.log"
for i in 1 2 3 4 5; do
  code=$(post "$ALICE")
  [[ $code == 200 ]] || fail "call $i within the limit: HTTP $code $(cat "$TMP/body")"
done
out=$("$BIN/idp-agents" call "$URL" calculator --args-json '{"expression":"6*7"}' --json --timeout 30 \
  --header "Authorization: Bearer $ALICE" 2>"$TMP/retry.err") || fail "a call within its deadline after Retry-After: $out $(cat "$TMP/retry.err")"
jq -e '.structuredContent.result == 42' <<<"$out" >/dev/null || fail "the retried call's result: $out"
rc=0
out=$("$BIN/idp-agents" call "$URL" calculator --args-json '{"expression":"6*7"}' --json --timeout 2 \
  --header "Authorization: Bearer $ALICE" 2>&1) || rc=$?
((rc != 0)) && [[ $out == *"tool_calls, 5/min"*"past this call's deadline"* ]] ||
  fail "a Retry-After past the deadline: expected an error naming the limit and the wait, got (exit $rc) $out"
stop_server
jq -e -s '[.[] | .outcome] == ["ok","ok","ok","ok","ok","rate_limited","ok","rate_limited"]' "$TMP/audit-retry.log" >/dev/null ||
  fail "audit of the retries: $(jq -c -s '[.[] | .outcome]' "$TMP/audit-retry.log")"
pass "our client waits out Retry-After once within its deadline, and names the limit and the wait when it cannot"

# HTTPS with a local CA made by the server; our client trusts it only when told to.
start_server tls --local-ca "$TMP/ca" --db "$TMP/example.db"
[[ $URL == https://* && -f $TMP/ca/ca.pem ]] || fail "--local-ca did not serve HTTPS: $URL"
for u in "$URL" "${URL/127.0.0.1/localhost}"; do
  out=$("$BIN/idp-agents" call "$u" calculator --arg expression=2+2 --ca-file "$TMP/ca/ca.pem" --header "Authorization: Bearer $ALICE")
  [[ $out == 4* ]] || fail "HTTPS call to $u: $out"
done
rc=0
err=$("$BIN/idp-agents" call "$URL" calculator --arg expression=2+2 --header "Authorization: Bearer $ALICE" 2>&1) || rc=$?
((rc == 1)) && [[ $err == *certificate* || $err == *TLS* ]] || fail "an untrusted CA was accepted (exit $rc): $err"
stat -c %a "$TMP/ca/ca-key.pem" | grep -qx 600 || fail "the CA key is not 0600"
pass "HTTPS with the local CA: our client connects to 127.0.0.1 and localhost with ca_file, refuses without"

# Bad flags and files fail before listening, naming the flag.
for args in "--listen 0.0.0.0:9 --allow-anonymous" "--tls-cert $TMP/none.pem --tls-key $TMP/none.pem --allow-anonymous" \
  "--rate-limit 5/fortnight --allow-anonymous" "--jwt-issuer $COG/$POOL" "--audit-log $TMP/no/such/dir/a.log --allow-anonymous" \
  "--tool-scope calculator=x --allow-anonymous" "--jwt-issuer $COG/$POOL --cognito-client-id $CLIENT --tool-scope calculator"; do
  rc=0
  # shellcheck disable=SC2086
  err=$("$BIN/idp-mcp-server" --listen 127.0.0.1:0 --db "$TMP/example.db" $args 2>&1) || rc=$?
  ((rc != 0)) && [[ $err == *"error:"* && $err != *listening* ]] || fail "idp-mcp-server $args (exit $rc): $err"
done
rc=0
err=$("$BIN/idp-mcp-server" --listen 127.0.0.1:0 --db "$TMP/example.db" --jwt-issuer "$COG/$POOL" \
  --cognito-client-id "$CLIENT" --tool-scope sendmail=mcp/write 2>&1) || rc=$?
((rc == 1)) && [[ $err == *"--tool-scope sendmail=...: this server has no tool sendmail (its tools: calculator,"* ]] ||
  fail "a --tool-scope of an unknown tool (exit $rc): $err"
pass "bad flags and unreadable files are errors before listening"
echo "$PASSED passed, 0 failed"
