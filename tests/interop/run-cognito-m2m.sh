#!/usr/bin/env bash
# Cognito machine-to-machine authorization end to end (issue 14's acceptance), with our binaries
# and the AWS JavaScript SDK only:
#  1. The AWS SDK creates a resource server and two M2M app clients with secrets on our local
#     identity provider (cognito-m2m.mjs): "full" is allowed both custom scopes, "read" only one.
#  2. The pool is an authorization server: its metadata names its /oauth2/token, which grants
#     Cognito-shaped M2M access tokens (token_use access, scope, client_id, no username).
#  3. idp-mcp-server takes the pool's tokens, needs tools.read for everything and mail.send for
#     send_verification_email; its protected-resource metadata names the pool and both scopes.
#  4. `idp-agents call --oauth-client-id --oauth-client-secret-env --scope` discovers the pool
#     from the server, gets a token and calls calculator; send_verification_email gets 403
#     insufficient_scope, and the "full" client steps up to both scopes and succeeds, while the
#     "read" client fails with a clear error naming the refused scope.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
IDP_SERVER=$IDP_BIN/idp-mcp-server  # what require_peers checks for besides the peers
require_peers
AWS_MODULES=$IDP_PEERS/peers-aws/node_modules
[[ -f $AWS_MODULES/@aws-sdk/client-cognito-identity-provider/package.json ]] ||
  { log "missing the AWS SDK in $AWS_MODULES: run scripts/install-deps.sh"; exit 2; }
for b in idp-mcp-server idp-agents; do
  [[ -x $IDP_BIN/$b ]] || { echo "run-cognito-m2m.sh: $IDP_BIN/$b not built" >&2; exit 2; }
done
AGENTS=$IDP_BIN/idp-agents
passed=0
pass() { log "PASS $*"; passed=$((passed + 1)); }
wait_for() {  # FILE REGEX: the first match of REGEX in FILE (waits up to 30 s for it)
  local m
  for _ in $(seq 300); do
    m=$(grep -m1 -oE "$2" "$1" 2>/dev/null) && [[ -n $m ]] && { echo "$m"; return 0; }
    sleep 0.1
  done
  fail "no '$2' in $1: $(tail -5 "$1")"
}
claims() { cut -d. -f2 <<<"$1" | tr '_-' '/+' | base64 -d 2>/dev/null || true; }

# --- 1. the AWS SDK sets up M2M on our local identity provider ---------------------------------
"$AGENTS" local-cognito --port 0 --data "$IDP_TMP/cognito" >"$IDP_TMP/lc.out" 2>&1 &
_idp_pids+=($!)
LC=$(wait_for "$IDP_TMP/lc.out" 'http://127\.0\.0\.1:[0-9]+')
"$IDP_NODE" "$IDP_INTEROP_DIR/cognito-m2m.mjs" "$LC/" >"$IDP_TMP/sdk.out" 2>"$IDP_TMP/sdk.err" ||
  { cat "$IDP_TMP/sdk.out" "$IDP_TMP/sdk.err" >&2; fail "the AWS SDK's M2M setup on our local identity provider"; }
grep '^ok ' "$IDP_TMP/sdk.out" | sed 's/^/  /'
IDS=$(tail -n 1 "$IDP_TMP/sdk.out")
POOL=$(jq -r .pool <<<"$IDS") RS=$(jq -r .identifier <<<"$IDS")
FULL_ID=$(jq -r .full.id <<<"$IDS") READ_ID=$(jq -r .read.id <<<"$IDS")
export FULL_SECRET READ_SECRET
FULL_SECRET=$(jq -r .full.secret <<<"$IDS") READ_SECRET=$(jq -r .read.secret <<<"$IDS")
READ_SCOPE=$RS/tools.read SEND_SCOPE=$RS/mail.send
pass "AWS SDK: resource server and M2M app clients on our local identity provider ($(grep -c '^ok ' "$IDP_TMP/sdk.out") checks)"

# --- 2. the pool as an authorization server ---------------------------------------------------
ISS=$LC/$POOL
meta=$(curl -sf "$LC/.well-known/oauth-authorization-server/$POOL") || fail "RFC 8414 metadata of the pool"
jq -e --arg iss "$ISS" --arg s "$SEND_SCOPE" '.issuer == $iss and .token_endpoint == ($iss + "/oauth2/token")
  and (.grant_types_supported | index("client_credentials")) and (.scopes_supported | index($s))' <<<"$meta" >/dev/null ||
  fail "metadata: $meta"
[[ $(curl -sf "$ISS/.well-known/openid-configuration") == "$meta" ]] || fail "OpenID discovery differs from RFC 8414 metadata"
tok=$(curl -sf -u "$FULL_ID:$FULL_SECRET" -d grant_type=client_credentials --data-urlencode "scope=$READ_SCOPE" "$ISS/oauth2/token") ||
  fail "client_credentials with client_secret_basic"
c=$(claims "$(jq -r .access_token <<<"$tok")")
jq -e --arg iss "$ISS" --arg id "$FULL_ID" --arg s "$READ_SCOPE" '.token_use == "access" and .client_id == $id and
  .sub == $id and .scope == $s and .iss == $iss and (has("username") | not) and (has("aud") | not)' <<<"$c" >/dev/null ||
  fail "M2M access token claims: $c"
[[ $(jq -r .token_type <<<"$tok") == Bearer && $(jq -r .expires_in <<<"$tok") -gt 0 && $(jq 'has("refresh_token")' <<<"$tok") == false ]] ||
  fail "token response: $(jq -c 'del(.access_token)' <<<"$tok")"
out=$(curl -s -d grant_type=client_credentials --data-urlencode "client_id=$READ_ID" --data-urlencode "client_secret=$READ_SECRET" \
  --data-urlencode "scope=$SEND_SCOPE" "$ISS/oauth2/token")
[[ $(jq -r .error <<<"$out") == invalid_scope ]] || fail "a scope the client is not allowed (client_secret_post): $out"
code=$(curl -s -o "$IDP_TMP/bad.json" -w '%{http_code}' -u "$FULL_ID:wrong" -d grant_type=client_credentials "$ISS/oauth2/token")
[[ $code == 401 && $(jq -r .error "$IDP_TMP/bad.json") == invalid_client ]] || fail "a wrong secret: $code $(cat "$IDP_TMP/bad.json")"
pass "the pool's /oauth2/token grants Cognito-shaped M2M tokens (basic and post) and refuses with OAuth errors"

# --- 3. the example server takes the pool's tokens, with scopes per tool ------------------------
"$IDP_BIN/idp-mcp-server" --listen 127.0.0.1:0 --jwt-issuer "$ISS" --cognito-client-id "$FULL_ID" \
  --cognito-client-id "$READ_ID" --required-scope "$READ_SCOPE" --tool-scope "send_verification_email=$SEND_SCOPE" \
  --db "$IDP_TMP/example.db" --audit-log "$IDP_TMP/audit.log" >"$IDP_TMP/server.out" 2>&1 &
_idp_pids+=($!)
URL=$(wait_for "$IDP_TMP/server.out" 'http://127\.0\.0\.1:[0-9]+/mcp')
prm=$(curl -sf "${URL%/mcp}/.well-known/oauth-protected-resource/mcp") || fail "protected-resource metadata"
jq -e --arg iss "$ISS" --arg r "$READ_SCOPE" --arg s "$SEND_SCOPE" \
  '.authorization_servers == [$iss] and .scopes_supported == [$r, $s]' <<<"$prm" >/dev/null || fail "PRM: $prm"
pass "idp-mcp-server's protected-resource metadata names the pool and its scopes"

# --- 4. our client: discovery, client credentials, step-up ------------------------------------
oauth() { local who=$1; shift; "$AGENTS" call "$URL" "$@" --oauth-client-id "$who" --scope "$READ_SCOPE"; }
out=$(oauth "$FULL_ID" calculator --arg 'expression=6*7' --json --oauth-client-secret-env FULL_SECRET 2>&1) ||
  fail "calculator with an M2M token: $out"
[[ $(jq -r .structuredContent.result <<<"$out") == 42 ]] || fail "calculator: $out"
pass "idp-agents call gets an M2M token from the pool it discovered and calls calculator"

out=$(oauth "$FULL_ID" send_verification_email --args-json '{"email":"m2m@example.com"}' --json \
  --oauth-client-secret-env FULL_SECRET 2>&1) || fail "send_verification_email after a step-up: $out"
[[ $(jq -r .structuredContent.message_id <<<"$out") == msg-* ]] || fail "send_verification_email: $out"
jq -se --arg id "$FULL_ID" '[.[] | select(.tool == "send_verification_email")] |
  (map(.outcome) == ["denied", "ok"]) and .[0].detail == "insufficient_scope" and .[1].client_id == $id' \
  "$IDP_TMP/audit.log" >/dev/null ||
  fail "the audit log should show a refusal, then the call: $(cat "$IDP_TMP/audit.log")"
pass "a tool needing mail.send: 403 insufficient_scope, then the step-up to both scopes succeeds"

rc=0
out=$(oauth "$READ_ID" send_verification_email --args-json '{"email":"nope@example.com"}' \
  --oauth-client-secret-env READ_SECRET 2>&1) || rc=$?
((rc == 1)) && [[ $out == *invalid_scope* && $out == *"$SEND_SCOPE"* ]] ||
  fail "a client not allowed mail.send (exit $rc): $out"
[[ $out != *"$READ_SECRET"* && $out != *eyJ* ]] || fail "a secret or a token was printed: $out"
log "  the refusal reads: $(tail -n 1 <<<"$out")"
pass "a client not allowed the scope fails with a clear error naming it"

log "all $passed checks passed"
