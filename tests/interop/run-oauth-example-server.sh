#!/usr/bin/env bash
# Interop: our MCP authorization client (idp-agents, idp::auth::McpOAuthProvider) against the
# TypeScript SDK's example OAuth-protected server (@modelcontextprotocol/sdk 1.32.2,
# examples/server/simpleStreamableHttp.js --oauth) and its demo authorization server (dynamic
# client registration, authorization code + PKCE with consent given at once, token
# introspection). No browser: the script plays it, opening the authorization URL the command
# prints with curl, which follows the redirect to the command's loopback listener.
#  1. `idp-agents auth login URL` signs in and says what was granted, keeps the tokens in a 0600
#     --token-file that `call --token-file` then uses without signing in again;
#  2. `idp-agents call URL greet --arg name=idp --scope mcp:tools` signs in the same way and calls;
#  3. with --oauth-strict (tokens must be bound to the resource, RFC 8707) `idp-agents call URL
#     greet --oauth` (scopes from the server's metadata) still works.
# The demo authorization server offers no client_credentials grant; that grant is covered by the
# conformance scenarios (run-client-conformance-auth.sh) and tests/integration/mcp_oauth_test.cc.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
IDP_SERVER=$IDP_BIN/idp-agents  # what require_peers checks for besides the peers
require_peers
EXAMPLE=$IDP_NODE_MODULES/@modelcontextprotocol/sdk/dist/esm/examples/server/simpleStreamableHttp.js
[[ -f $EXAMPLE ]] || { echo "run-oauth-example-server.sh: $EXAMPLE missing; run scripts/install-deps.sh" >&2; exit 2; }
command -v curl >/dev/null || { echo "run-oauth-example-server.sh: curl is needed (the 'browser')" >&2; exit 2; }
passed=0
pass() { log "PASS $*"; passed=$((passed + 1)); }

# start_example [--oauth-strict]: the example server and its authorization server on two free
# ports of 127.0.0.1 (force-loopback.cjs), reached as http://localhost:PORT as the example names
# itself. Sets MCP_URL and EXAMPLE_PID.
start_example() {
  local mp mpid ap apid out=$IDP_TMP/example-$RANDOM.out
  reserve_port mp mpid
  reserve_port ap apid
  release_port "$mpid"
  release_port "$apid"
  MCP_PORT=$mp MCP_AUTH_PORT=$ap "$IDP_NODE" -r "$IDP_INTEROP_DIR/force-loopback.cjs" "$EXAMPLE" --oauth "$@" \
    >"$out" 2>&1 &
  EXAMPLE_PID=$!
  _idp_pids+=("$EXAMPLE_PID")
  wait_for_line "$out" '(MCP Streamable HTTP Server listening)' "$EXAMPLE_PID" 30 >/dev/null ||
    fail "the example server did not start: $(tail -5 "$out")"
  wait_for_line "$out" '(OAuth Authorization Server listening)' "$EXAMPLE_PID" 30 >/dev/null ||
    fail "the demo authorization server did not start: $(tail -5 "$out")"
  MCP_URL=http://localhost:$mp/mcp
  log "example server pid $EXAMPLE_PID: $MCP_URL (authorization server on port $ap) ${*:-}"
}

# signed_in NAME CMD...: runs an idp-agents command that signs in through the loopback redirect,
# plays the browser for it, and leaves its stdout in $IDP_TMP/NAME.out; fails when it fails.
signed_in() {
  local name=$1 rp rpid pid url rc=0
  shift
  reserve_port rp rpid
  release_port "$rpid"
  "$IDP_BIN/idp-agents" "$@" --redirect-port "$rp" >"$IDP_TMP/$name.out" 2>"$IDP_TMP/$name.err" &
  pid=$!
  _idp_pids+=("$pid")
  url=$(wait_for_line "$IDP_TMP/$name.err" '^(http://localhost:[0-9]+/authorize\?.*)$' "$pid" 30) ||
    fail "$name: no authorization URL printed: $(tail -5 "$IDP_TMP/$name.err")"
  [[ $url == *code_challenge_method=S256* && $url == *resource=* ]] ||
    fail "$name: the authorization URL lacks PKCE S256 or the resource: $url"
  curl -fsS --max-time 20 -L --max-redirs 2 -o "$IDP_TMP/$name.browser" "$url" ||
    fail "$name: the browser step failed (authorization URL $url)"
  grep -q "Signed in" "$IDP_TMP/$name.browser" || fail "$name: the loopback listener did not answer: $(head -c 300 "$IDP_TMP/$name.browser")"
  wait "$pid" || rc=$?
  ((rc == 0)) || fail "$name: idp-agents $* exited $rc: $(tail -5 "$IDP_TMP/$name.err")"
}

start_example
signed_in login auth login "$MCP_URL" --token-file "$IDP_TMP/tokens.json"
grep -E '^signed in to http://localhost:[0-9]+/? as client .+; scopes: mcp:tools; access token valid for [0-9]+ s' "$IDP_TMP/login.out" >/dev/null ||
  fail "auth login printed: $(cat "$IDP_TMP/login.out")"
pass "auth login: $(head -c 200 "$IDP_TMP/login.out")"
[[ $(stat -c %a "$IDP_TMP/tokens.json") == 600 ]] || fail "the token file is not 0600: $(stat -c %a "$IDP_TMP/tokens.json")"
out=$(run_bounded 30 "$IDP_BIN/idp-agents" call "$MCP_URL" greet --arg name=file --token-file "$IDP_TMP/tokens.json" 2>&1) ||
  fail "call with the token file of auth login: $out"
[[ $out == *"Hello, file!"* && $out != *authorize* ]] || fail "call with the token file signed in again or failed: $out"
pass "auth login --token-file keeps the tokens (0600); call --token-file uses them without a new sign-in"

signed_in call call "$MCP_URL" greet --arg name=idp --scope mcp:tools
grep -q "Hello, idp!" "$IDP_TMP/call.out" || fail "call greet printed: $(cat "$IDP_TMP/call.out")"
pass "call greet with a token from the authorization code grant"
stop_server "$EXAMPLE_PID"

start_example --oauth-strict
signed_in strict call "$MCP_URL" greet --arg name=strict --oauth
grep -q "Hello, strict!" "$IDP_TMP/strict.out" || fail "strict call greet printed: $(cat "$IDP_TMP/strict.out")"
pass "call greet against --oauth-strict (the token is bound to the resource)"

log "PASS ($passed checks)"
