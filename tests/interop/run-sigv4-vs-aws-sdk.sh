#!/usr/bin/env bash
# SigV4 cross-check with the AWS JavaScript SDK v3 (@aws-sdk/client-secrets-manager and
# @aws-sdk/client-bedrock-runtime): the SDK signs GetSecretValue and a Bedrock Converse call for a
# model id with ':' (two regions, with and without a session token) and sends them to a local
# capture server (sigv4-capture.mjs); our signer (build/bin/sigv4-sign), given the same
# credentials, time and request, must produce the same Authorization header for every one.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_peers
SIGN=$IDP_BIN/sigv4-sign
[[ -x $SIGN ]] || fail "$SIGN not built"
[[ -f $IDP_PEERS/peers-aws/node_modules/@aws-sdk/client-bedrock-runtime/package.json ]] ||
  { log "the AWS SDK peers are not installed: run scripts/install-deps.sh"; exit 2; }
"$IDP_NODE" "$IDP_INTEROP_DIR/sigv4-capture.mjs" >"$IDP_TMP/captured.jsonl" 2>"$IDP_TMP/capture.err" ||
  fail "capturing the SDK's requests: $(cat "$IDP_TMP/capture.err")"
"$SIGN" <"$IDP_TMP/captured.jsonl" >"$IDP_TMP/ours.txt"
n=0
while IFS= read -r req && IFS= read -r ours <&3; do
  n=$((n + 1))
  theirs=$(jq -r .authorization <<<"$req")
  what="$(jq -r '.service + " " + .method + " " + .path + " (" + .region + (if .session_token != "" then ", session token" else "" end) + ")"' <<<"$req")"
  [[ $ours == "$theirs" ]] || fail "request $n, $what:
  AWS SDK: $theirs
  ours:    $ours"
  log "same Authorization: $what"
done <"$IDP_TMP/captured.jsonl" 3<"$IDP_TMP/ours.txt"
((n == 8)) || fail "compared $n requests, expected 8"
grep -q '/model/us.anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse' "$IDP_TMP/captured.jsonl" ||
  fail "the Converse path was not sent with %3A"
log "PASS our signer matches the AWS SDK on all $n requests (incl. a model id with ':' and session tokens)"
