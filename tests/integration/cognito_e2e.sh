#!/usr/bin/env bash
# The seed's flow with our binaries only: a local Cognito-compatible identity provider, a pool,
# an app client and a user; USER_PASSWORD_AUTH gives an access token; the MCP server started with
# --jwt-issuer/--jwt-client-id accepts it and refuses calls without it.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

"$BIN/idp-agents" --log-level trace local-cognito --port 0 --data "$TMP/cognito" >"$TMP/cognito.out" 2>&1 &
PIDS+=($!)
COG=$(wait_line "$TMP/cognito.out" 'http://127\.0\.0\.1:[0-9]+')
source "$(dirname "${BASH_SOURCE[0]}")/../lib/cognito.sh"
cognito_pool "$COG" e2e alice 'Passw0rd!Lab' || fail "pool setup"
POOL=$COG_POOL CLIENT=$COG_CLIENT
AUTH=$(cog "$COG" InitiateAuth "{\"AuthFlow\":\"USER_PASSWORD_AUTH\",\"ClientId\":\"$CLIENT\",\"AuthParameters\":{\"USERNAME\":\"alice\",\"PASSWORD\":\"Passw0rd!Lab\"}}")
TOKEN=$(jq -r .AuthenticationResult.AccessToken <<<"$AUTH")
[[ $TOKEN == ey* ]] || fail "no access token: $AUTH"
[[ $(jq -r .AuthenticationResult.ExpiresIn <<<"$AUTH") == 3600 ]] || fail "ExpiresIn is not 3600: $AUTH"
pass "USER_PASSWORD_AUTH against the local identity provider gives an access token"
WRONG=$(cog "$COG" InitiateAuth "{\"AuthFlow\":\"USER_PASSWORD_AUTH\",\"ClientId\":\"$CLIENT\",\"AuthParameters\":{\"USERNAME\":\"alice\",\"PASSWORD\":\"nope\"}}")
[[ $(jq -r .__type <<<"$WRONG") == NotAuthorizedException ]] || fail "wrong password: $WRONG"
pass "a wrong password is NotAuthorizedException"

out=$(COGNITO_PASSWORD='Passw0rd!Lab' "$BIN/idp-agents" token --user-pool-id "$POOL" --client-id "$CLIENT" \
  --username alice --endpoint "$COG/")
[[ $out == "signed in as alice"* && $out == *'"token_use":"access"'* ]] || fail "idp-agents token: $out"
[[ $out != *'Passw0rd!Lab'* && $out != *"$TOKEN"* ]] || fail "idp-agents token printed a secret: $out"
rc=0
err=$(COGNITO_PASSWORD=wrong "$BIN/idp-agents" token --user-pool-id "$POOL" --client-id "$CLIENT" \
  --username alice --endpoint "$COG/" 2>&1) || rc=$?
((rc == 1)) && [[ $err == *"Cognito rejected the username or password of user 'alice'"* ]] ||
  fail "idp-agents token with a wrong password (exit $rc): $err"
out=$(printf 'Passw0rd!Lab\n' | "$BIN/idp-agents" token --user-pool-id "$POOL" --client-id "$CLIENT" \
  --username alice --endpoint "$COG/" --password-stdin --refresh)
[[ $out == "signed in and refreshed as alice"*"scopes: aws.cognito.signin.user.admin"*"valid for 3"* ]] ||
  fail "idp-agents token --refresh: $out"
T2=$(printf 'Passw0rd!Lab\n' | "$BIN/idp-agents" token --user-pool-id "$POOL" --client-id "$CLIENT" \
  --username alice --endpoint "$COG/" --password-stdin --print-access-token)
[[ $T2 == ey*.*.* && $T2 != *" "* ]] || fail "--print-access-token printed more than a token: $T2"
pass "idp-agents token shows the claims, explains a wrong password, refreshes, prints a bare token"

"$BIN/mcp-conformance-server" --port 0 --log-level trace --jwt-issuer "$COG/$POOL" --jwt-client-id "$CLIENT" >"$TMP/mcp.out" 2>&1 &
PIDS+=($!)
MCP=$(wait_line "$TMP/mcp.out" 'http://127\.0\.0\.1:[0-9]+/mcp')

out=$("$BIN/idp-agents" call "$MCP" add --arg a=2 --arg b=40 --header "Authorization: Bearer $TOKEN")
[[ $out == 42* ]] || fail "authorized call: $out"
pass "the MCP server accepts the pool's access token"

out=$(COGNITO_PASSWORD='Passw0rd!Lab' "$BIN/idp-agents" --log-level trace tools "$MCP" --user-pool-id "$POOL" --client-id "$CLIENT" \
  --username alice --cognito-endpoint "$COG/" 2>&1)
[[ $out == *"tools"*"whoami"* ]] || fail "tools with Cognito options: $out"
printf '%s\n' "$out" >"$TMP/tools-trace.out"
out=$(MY_TOKEN=$T2 "$BIN/idp-agents" call "$MCP" whoami --token-env MY_TOKEN 2>&1)
[[ $out == *'"client_id":"'"$CLIENT"'"'* ]] || fail "call whoami with --token-env: $out"
[[ $out != *"$T2"* ]] || fail "the token was printed: $out"
pass "idp-agents tools/call sign in with the Cognito options or take --token-env"

rc=0
err=$("$BIN/idp-agents" tools "$MCP" 2>&1) || rc=$?
((rc == 1)) || fail "an unauthenticated listing exited $rc: $err"
[[ $err == *"HTTP 401: the server requires a bearer token and none was sent"*"WWW-Authenticate: Bearer resource_metadata="* ]] ||
  fail "unauthenticated: $err"
rc=0
err=$(BAD=not.a.token "$BIN/idp-agents" tools "$MCP" --token-env BAD 2>&1) || rc=$?
((rc == 1)) && [[ $err == *"the server rejected the bearer token"*'error="invalid_token"'* ]] || fail "bad token: $err"
pass "without a token the server answers 401 with the challenge, and the error says so"

hdr=$(curl -sS -o /dev/null -D - -X POST "$MCP" -H 'Content-Type: application/json' \
  -H 'Accept: application/json, text/event-stream' -d '{"jsonrpc":"2.0","id":1,"method":"ping"}' | tr -d '\r' |
  awk -F': ' 'tolower($1)=="www-authenticate"{print $2}')
[[ $hdr == *'resource_metadata="'*'/.well-known/oauth-protected-resource/mcp"'* ]] || fail "WWW-Authenticate: $hdr"
prm=$(curl -sS "${MCP%/mcp}/.well-known/oauth-protected-resource/mcp")
[[ $(jq -r '.authorization_servers[0]' <<<"$prm") == "$COG/$POOL" ]] || fail "metadata: $prm"
pass "401 points to the protected-resource metadata, which names the pool"
# Every log line of the three processes at trace level, and every output above: no password, no
# token (the access tokens, the refresh token's prefix).
LOGS="$TMP/cognito.out $TMP/mcp.out $TMP/tools-trace.out"
for secret in 'Passw0rd!Lab' 'Temp0rary!' "$TOKEN" "$T2" "$(jq -r .AuthenticationResult.RefreshToken <<<"$AUTH" | cut -c1-24)"; do
  ! grep -qF -- "$secret" $LOGS || fail "a secret appears in the logs: $(grep -lF -- "$secret" $LOGS)"
done
(( $(wc -l <"$TMP/mcp.out") > 3 && $(wc -l <"$TMP/tools-trace.out") > 3 )) || fail "the trace logs are nearly empty"
pass "no password or token in any log line (trace level) or output"
echo "$PASSED passed, 0 failed"
