#!/usr/bin/env bash
# Authentication interop, both directions (issue 4's acceptance):
#  1. The AWS JavaScript SDK drives our local identity provider (`idp-agents local-cognito`):
#     pool, client, user, challenge, sign-in, refresh, groups, Cognito-shaped errors (cognito-sdk.mjs).
#  2. A TypeScript MCP server that validates tokens with npm `jose` (jose-server.mjs) accepts the
#     access token our provider issued to our client (`idp-agents call` with Cognito options),
#     and refuses calls without one.
#  3. cognito-local 5.3.0 (npm): our Cognito client (`idp-agents token`) signs in and refreshes
#     against it, a wrong password is explained, and our verifier (mcp-conformance-server
#     --jwt-*) accepts its tokens: `idp-agents tools` signs in there and lists the tools.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_peers
AWS_MODULES=$IDP_PEERS/peers-aws/node_modules
for f in cognito-local/lib/bin/start.js @aws-sdk/client-cognito-identity-provider/package.json jose/package.json; do
  [[ -f $AWS_MODULES/$f ]] || { log "missing $AWS_MODULES/$f: run scripts/install-deps.sh"; exit 2; }
done
AGENTS=$IDP_BIN/idp-agents

# wait_for FILE REGEX: the first match of REGEX in FILE (a 30 s guard against a hang).
wait_for() {
  local m
  for _ in $(seq 300); do
    m=$(grep -oE "$2" "$1" 2>/dev/null | head -n 1) && [[ -n $m ]] && { echo "$m"; return 0; }
    sleep 0.1
  done
  cat "$1" >&2
  fail "no '$2' in $1 within 30 s"
}

# --- 1. AWS SDK against our local identity provider -------------------------------------------
"$AGENTS" local-cognito --port 0 --data "$IDP_TMP/local-cognito" >"$IDP_TMP/lc.out" 2>&1 &
_idp_pids+=($!)
LC=$(wait_for "$IDP_TMP/lc.out" 'http://127\.0\.0\.1:[0-9]+')
"$IDP_NODE" "$IDP_INTEROP_DIR/cognito-sdk.mjs" "$LC/" >"$IDP_TMP/sdk.out" 2>"$IDP_TMP/sdk.err" ||
  { cat "$IDP_TMP/sdk.out" "$IDP_TMP/sdk.err" >&2; fail "the AWS SDK checks against our local identity provider"; }
grep '^ok ' "$IDP_TMP/sdk.out" | sed 's/^/  /'
IDS=$(tail -n 1 "$IDP_TMP/sdk.out")
POOL=$(jq -r .pool <<<"$IDS") CLIENT=$(jq -r .client <<<"$IDS") SDK_USER=$(jq -r .username <<<"$IDS")
PASSWORD=$(jq -r .password <<<"$IDS")
log "PASS AWS SDK (client-cognito-identity-provider) against our local identity provider: $(grep -c '^ok ' "$IDP_TMP/sdk.out") checks"

# --- 2. jose (TypeScript MCP server) accepts our provider's tokens -----------------------------
"$IDP_NODE" "$IDP_INTEROP_DIR/jose-server.mjs" --issuer "$LC/$POOL" --client-id "$CLIENT" >"$IDP_TMP/jose.out" 2>&1 &
_idp_pids+=($!)
JOSE=$(wait_for "$IDP_TMP/jose.out" 'http://127\.0\.0\.1:[0-9]+/mcp')
out=$(COGNITO_PASSWORD=$PASSWORD "$AGENTS" call "$JOSE" whoami --user-pool-id "$POOL" --client-id "$CLIENT" \
  --username "$SDK_USER" --cognito-endpoint "$LC/" 2>&1) || fail "call whoami on the jose server: $out"
[[ $(jq -r .token_use <<<"$out") == access && $(jq -r .client_id <<<"$out") == "$CLIENT" &&
   $(jq -r .iss <<<"$out") == "$LC/$POOL" ]] || fail "claims seen by jose: $out"
[[ $out != *"$PASSWORD"* ]] || fail "the password was printed"
rc=0
err=$("$AGENTS" tools "$JOSE" 2>&1) || rc=$?
((rc == 1)) && [[ $err == *"HTTP 401: the server requires a bearer token"* ]] || fail "jose server without a token (exit $rc): $err"
log "PASS a jose-validating TypeScript MCP server accepts our identity provider's access token"

# --- 3. cognito-local: our client signs in and refreshes; our verifier accepts its tokens -------
mkdir -p "$IDP_TMP/cl/.cognito" && echo '{}' >"$IDP_TMP/cl/.cognito/config.json"
# cognito-local needs its port up front (it goes into its tokens' iss), so port 0 will not do:
# take a port the system just handed out and start again on another one if it was taken meanwhile.
start_cognito_local() {
  local attempt holder pid
  for attempt in 1 2 3; do
    reserve_port CL_PORT holder
    release_port "$holder"
    (cd "$IDP_TMP/cl" && HOST=127.0.0.1 PORT=$CL_PORT exec "$IDP_NODE" -r "$IDP_INTEROP_DIR/force-loopback.cjs" \
      "$AWS_MODULES/cognito-local/lib/bin/start.js") >"$IDP_TMP/cl.log" 2>&1 &
    pid=$!
    _idp_pids+=($pid)
    for _ in $(seq 300); do
      grep -q 'Cognito Local running on' "$IDP_TMP/cl.log" 2>/dev/null && return 0
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    stop_server "$pid"
    grep -q EADDRINUSE "$IDP_TMP/cl.log" || { cat "$IDP_TMP/cl.log" >&2; fail "cognito-local did not start"; }
    log "cognito-local: port $CL_PORT was taken meanwhile (attempt $attempt)"
  done
  fail "cognito-local: no free port in 3 attempts"
}
start_cognito_local
CL=http://127.0.0.1:$CL_PORT
source "$IDP_INTEROP_DIR/../lib/cognito.sh"
cognito_pool "$CL" interop alice@example.com 'Passw0rd!Lab' || fail "cognito-local setup"
CL_POOL=$COG_POOL CL_CLIENT=$COG_CLIENT
[[ $CL_POOL == local_* ]] || fail "cognito-local pool id: $CL_POOL"

out=$(printf 'Passw0rd!Lab\n' | "$AGENTS" token --user-pool-id "$CL_POOL" --client-id "$CL_CLIENT" \
  --username alice@example.com --endpoint "$CL/" --password-stdin --refresh 2>&1) || fail "token --refresh against cognito-local: $out"
[[ $out == "signed in and refreshed as alice@example.com"*'"token_use":"access"'* ]] || fail "token: $out"
rc=0
err=$(printf 'wrong\n' | "$AGENTS" token --user-pool-id "$CL_POOL" --client-id "$CL_CLIENT" \
  --username alice@example.com --endpoint "$CL/" --password-stdin 2>&1) || rc=$?
((rc == 1)) && [[ $err == *"Cognito rejected the username or password"* ]] || fail "wrong password at cognito-local: $err"
log "PASS idp-agents token signs in and refreshes against cognito-local; its InvalidPasswordException is explained"

start_server MCP_PORT MCP_PID --jwt-issuer "$CL/$CL_POOL" --jwt-client-id "$CL_CLIENT"
out=$(COGNITO_PASSWORD='Passw0rd!Lab' "$AGENTS" tools "http://127.0.0.1:$MCP_PORT/mcp" --user-pool-id "$CL_POOL" \
  --client-id "$CL_CLIENT" --username alice@example.com --cognito-endpoint "$CL/" 2>&1) || fail "tools via cognito-local: $out"
[[ $out == *"whoami"* ]] || fail "tools via cognito-local: $out"
out=$(COGNITO_PASSWORD='Passw0rd!Lab' "$AGENTS" call "http://127.0.0.1:$MCP_PORT/mcp" whoami --json --user-pool-id "$CL_POOL" \
  --client-id "$CL_CLIENT" --username alice@example.com --cognito-endpoint "$CL/" 2>&1) || fail "whoami via cognito-local: $out"
[[ $(jq -r '.structuredContent.claims.iss' <<<"$out") == "$CL/$CL_POOL" ]] || fail "whoami: $out"
log "PASS our verifier accepts cognito-local's access tokens (idp-agents tools/call with the Cognito options)"
