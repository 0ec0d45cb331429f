#!/usr/bin/env bash
# The secret from (our fake) AWS Secrets Manager, through the CLI: `idp-agents agents list
# --secret aws-secretsmanager://...` with AWS_ENDPOINT_URL pointing at fake-secretsmanager, which
# checks every SigV4 signature. Then the documented errors: wrong credentials, a missing secret, a
# binary secret, throttling (retried), and no credentials at all. No secret value, password or
# key in any output.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

"$BIN/idp-agents" local-cognito --port 0 --data "$TMP/cognito" >"$TMP/cognito.out" 2>&1 &
PIDS+=($!)
COG=$(wait_line "$TMP/cognito.out" 'http://127\.0\.0\.1:[0-9]+')
source "$(dirname "${BASH_SOURCE[0]}")/../lib/cognito.sh"
cognito_pool "$COG" sm svc 'Passw0rd!Sm' || fail "pool setup"
POOL=$COG_POOL CLIENT=$COG_CLIENT
"$BIN/mcp-conformance-server" --port 0 --jwt-issuer "$COG/$POOL" --jwt-client-id "$CLIENT" >"$TMP/mcp.out" 2>&1 &
PIDS+=($!)
MCP=$(wait_line "$TMP/mcp.out" 'http://127\.0\.0\.1:[0-9]+/mcp')

mkdir -p "$TMP/secrets/mystack/external-mcp-agents"
cat >"$TMP/secrets/mystack/external-mcp-agents/credentials.json" <<JSON
[{"mcp_url":"$MCP","agent_name":"Calculator","cognito_user_pool_id":"$POOL","cognito_client_id":"$CLIENT",
  "cognito_username":"svc","cognito_password":"Passw0rd!Sm","tools_allow":["add"]}]
JSON
printf '\x00\x01binary' >"$TMP/secrets/binary.bin"
start_fake() {  # start_fake ARGS...: sets SM to its URL
  "$BIN/fake-secretsmanager" --port 0 --secrets-dir "$TMP/secrets" --access-key-id AKIDFAKE \
    --secret-access-key 'fake/Secret+Key' --region eu-west-1 "$@" >"$TMP/sm.out" 2>"$TMP/sm.err" &
  PIDS+=($!)
  SM=$(wait_line "$TMP/sm.out" 'http://127\.0\.0\.1:[0-9]+')
}
start_fake
export AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER=$COG/ AWS_REGION=eu-west-1 AWS_ENDPOINT_URL=$SM
export AWS_ACCESS_KEY_ID=AKIDFAKE AWS_SECRET_ACCESS_KEY='fake/Secret+Key' AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_EC2_METADATA_DISABLED=true

# The default source: AWS_STACK_NAME names the secret.
out=$(AWS_STACK_NAME=mystack "$BIN/idp-agents" agents list --json 2>&1) || fail "agents list from Secrets Manager: $out"
[[ $(jq -r '.agents[0].agent_id + " " + .agents[0].status + " " + (.agents[0].tools | join(","))' <<<"$out") == "calculator ready add" ]] ||
  fail "agents list: $out"
[[ $(jq -r .source <<<"$out") == *"mystack/external-mcp-agents/credentials"* ]] || fail "source: $out"
pass "agents list reads aws-secretsmanager://mystack/external-mcp-agents/credentials (signed requests accepted)"

all_out=$out
expect_error() {  # expect_error NAME SOURCE PATTERN [env...]
  local name=$1 src=$2 pattern=$3 rc=0 err
  shift 3
  err=$(env "$@" "$BIN/idp-agents" secret check "$src" 2>&1) || rc=$?
  ((rc == 1)) && [[ $err == *$pattern* ]] || fail "$name (exit $rc): $err"
  all_out+=$err
  pass "$name: $(head -c 160 <<<"$err")"
}
expect_error "a missing secret" "aws-secretsmanager://nope/external-mcp-agents/credentials" \
  "no secret named nope/external-mcp-agents/credentials in region eu-west-1"
expect_error "a binary secret" "aws-secretsmanager://binary" "holds binary data"
expect_error "a wrong secret key" "aws-secretsmanager://mystack/external-mcp-agents/credentials" "signature" \
  AWS_SECRET_ACCESS_KEY=wrong-key
expect_error "an unknown access key" "aws-secretsmanager://mystack/external-mcp-agents/credentials" "AKIDWRONG" \
  AWS_ACCESS_KEY_ID=AKIDWRONG
expect_error "no credentials at all" "aws-secretsmanager://mystack/external-mcp-agents/credentials" "no AWS credentials" \
  -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY

kill "${PIDS[-1]}"
start_fake --throttle-first 2
export AWS_ENDPOINT_URL=$SM
out=$("$BIN/idp-agents" secret check "aws-secretsmanager://mystack/external-mcp-agents/credentials" 2>&1) ||
  fail "throttling was not retried: $out"
[[ $out == *"1 entry, 1 usable"* ]] || fail "after throttling: $out"
pass "two ThrottlingException answers are retried, then the secret is read"

for s in 'Passw0rd!Sm' 'fake/Secret+Key' 'wrong-key'; do
  [[ $all_out != *"$s"* ]] || fail "a secret ($s) appears in the output"
done
pass "no password or key in any output"
echo "$PASSED passed, 0 failed"
