#!/usr/bin/env bash
# The CLI's --token-file with our binaries only: the local identity provider's pool grants M2M
# tokens (client_credentials) to `idp-agents call` for idp-mcp-server. Without --token-file
# nothing is written; with it the tokens land in a 0600 file (no client secret in it), a second
# call uses the kept token without a new grant, a file that group or others may read is refused
# with an error saying how to fix it, and a file of another server is refused too.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/cognito.sh"

"$BIN/idp-agents" local-cognito --port 0 --data "$TMP/cognito" >"$TMP/cognito.out" 2>&1 &
PIDS+=($!)
COG=$(wait_line "$TMP/cognito.out" 'http://127\.0\.0\.1:[0-9]+')
POOL=$(cog "$COG" CreateUserPool '{"PoolName":"tokens"}' | jq -r .UserPool.Id)
cog "$COG" CreateResourceServer "{\"UserPoolId\":\"$POOL\",\"Identifier\":\"mcp\",\"Name\":\"MCP\",
  \"Scopes\":[{\"ScopeName\":\"tools\",\"ScopeDescription\":\"call tools\"}]}" >/dev/null
APP=$(cog "$COG" CreateUserPoolClient "{\"UserPoolId\":\"$POOL\",\"ClientName\":\"m2m\",\"GenerateSecret\":true,
  \"AllowedOAuthFlows\":[\"client_credentials\"],\"AllowedOAuthScopes\":[\"mcp/tools\"],\"AllowedOAuthFlowsUserPoolClient\":true}")
ID=$(jq -r .UserPoolClient.ClientId <<<"$APP")
export M2M_SECRET
M2M_SECRET=$(jq -r .UserPoolClient.ClientSecret <<<"$APP")
[[ -n $ID && ${#M2M_SECRET} -gt 20 ]] || fail "M2M client setup: $APP"

"$BIN/idp-mcp-server" --listen 127.0.0.1:0 --jwt-issuer "$COG/$POOL" --cognito-client-id "$ID" \
  --required-scope mcp/tools --db "$TMP/example.db" >"$TMP/server.out" 2>&1 &
PIDS+=($!)
URL=$(wait_line "$TMP/server.out" 'http://127\.0\.0\.1:[0-9]+/mcp')
grants() { grep -c "client_credentials token for client $ID" "$TMP/cognito.out" || true; }
call() {  # EXTRA_ARGS...: calculator 6*7 as the M2M client
  "$BIN/idp-agents" call "$URL" calculator --arg 'expression=6*7' --json --oauth-client-id "$ID" \
    --oauth-client-secret-env M2M_SECRET "$@"
}

out=$(cd "$TMP" && call 2>&1) || fail "call without --token-file: $out"
[[ $(jq -r .structuredContent.result <<<"$out") == 42 ]] || fail "calculator: $out"
[[ -z $(find "$TMP" -maxdepth 1 -newer "$TMP/server.out" -type f -name '*.json') ]] || fail "a file was written without --token-file"
pass "without --token-file the tokens stay in memory"

F=$TMP/tokens.json
out=$(call --token-file "$F" 2>&1) || fail "call --token-file: $out"
[[ $(stat -c %a "$F") == 600 ]] || fail "the token file's mode is $(stat -c %a "$F")"
jq -e --arg url "$URL" --arg id "$ID" '.server_url == $url and .client_id == $id and (.access_token | startswith("ey"))
  and (has("client_secret") | not) and .scope == "mcp/tools"' "$F" >/dev/null || fail "token file: $(jq -c 'del(.access_token)' "$F")"
! grep -q "$M2M_SECRET" "$F" || fail "the configured client secret was written to the token file"
before=$(grants)
out=$(call --token-file "$F" 2>&1) || fail "second call --token-file: $out"
[[ $(jq -r .structuredContent.result <<<"$out") == 42 ]] || fail "calculator with the kept token: $out"
(($(grants) == before)) || fail "the second call asked for a new token ($(grants) grants, $before before)"
pass "--token-file writes a 0600 file without the client secret; the next call uses the kept token"

chmod 644 "$F"
rc=0
err=$(call --token-file "$F" 2>&1) || rc=$?
((rc == 2)) && [[ $err == *"--token-file $F is readable or writable by group or others (mode 0644)"*"chmod 600 $F"* ]] ||
  fail "a group/world-readable token file (exit $rc): $err"
[[ $err != *eyJ* ]] || fail "a token was printed: $err"
pass "a token file that others may read is refused: $err"

chmod 600 "$F"
rc=0
err=$("$BIN/idp-agents" call "${URL%/mcp}/other" calculator --arg expression=1 --oauth-client-id "$ID" \
  --oauth-client-secret-env M2M_SECRET --token-file "$F" 2>&1) || rc=$?
((rc == 2)) && [[ $err == *"--token-file $F: the saved tokens are for $URL, not ${URL%/mcp}/other"* ]] ||
  fail "a token file of another server (exit $rc): $err"
pass "a token file of another server is refused"
echo "$PASSED passed, 0 failed"
