#!/usr/bin/env bash
# Interop: idp-mcp-server against third-party peers, over HTTPS with a local CA (--local-ca) and
# bearer tokens from our local identity provider:
#  - the TypeScript SDK client (1.32.2) and the MCP Inspector v1 CLI call each tool;
#  - the outbox is delivered to an SMTP server from npm (smtp-server) that refuses the first
#    connection: one retry, one delivered message; an idempotent retry sends once;
#  - /metrics parses with a Prometheus text-format parser from npm (parse-prometheus-text-format)
#    and its counters match the audit log of the calls made.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$IDP_INTEROP_DIR/../lib/cognito.sh"
IDP_SERVER=$IDP_BIN/idp-mcp-server  # what require_peers checks for besides the peers
require_peers
PEERS_EXAMPLE=$IDP_PEERS/peers-example
[[ -f $PEERS_EXAMPLE/node_modules/smtp-server/package.json && -f $PEERS_EXAMPLE/node_modules/parse-prometheus-text-format/package.json ]] ||
  { echo "run-example-server.sh: peers-example missing; run scripts/install-deps.sh --no-apt" >&2; exit 2; }
for b in idp-mcp-server idp-agents; do
  [[ -x $IDP_BIN/$b ]] || { echo "run-example-server.sh: $IDP_BIN/$b not built" >&2; exit 2; }
done
passed=0
pass() { log "PASS $*"; passed=$((passed + 1)); }
wait_for() {  # FILE REGEX [SECONDS]: the first matching line (waits for it)
  for _ in $(seq $((${3:-15} * 20))); do
    if grep -qE "$2" "$1" 2>/dev/null; then grep -E "$2" "$1" | head -1; return 0; fi
    sleep 0.05
  done
  fail "no line matching '$2' in $1: $(tail -5 "$1")"
}

"$IDP_BIN/idp-agents" local-cognito --port 0 --data "$IDP_TMP/cognito" >"$IDP_TMP/cognito.out" 2>&1 &
_idp_pids+=($!)
COG=$(wait_for "$IDP_TMP/cognito.out" 'http://127\.0\.0\.1:[0-9]+' | grep -oE 'http://127\.0\.0\.1:[0-9]+')
cognito_pool "$COG" interop alice 'Passw0rd!Lab' || fail "pool setup"
TOKEN=$(cog "$COG" InitiateAuth "{\"AuthFlow\":\"USER_PASSWORD_AUTH\",\"ClientId\":\"$COG_CLIENT\",\"AuthParameters\":{\"USERNAME\":\"alice\",\"PASSWORD\":\"Passw0rd!Lab\"}}" |
  jq -r .AuthenticationResult.AccessToken)
[[ $TOKEN == ey* ]] || fail "no access token"

PEERS_EXAMPLE=$PEERS_EXAMPLE "$IDP_NODE" "$IDP_INTEROP_DIR/smtp-peer.mjs" >"$IDP_TMP/smtp.out" 2>&1 &
_idp_pids+=($!)
SMTP_PORT=$(wait_for "$IDP_TMP/smtp.out" '"event":"listening"' | jq -r .port)

"$IDP_BIN/idp-mcp-server" --listen 127.0.0.1:0 --local-ca "$IDP_TMP/ca" --jwt-issuer "$COG/$COG_POOL" \
  --cognito-client-id "$COG_CLIENT" --db "$IDP_TMP/example.db" --audit-log "$IDP_TMP/audit.log" \
  --smtp "smtp://127.0.0.1:$SMTP_PORT" --smtp-retry-ms 300 --log-level info >"$IDP_TMP/server.out" 2>"$IDP_TMP/server.err" &
_idp_pids+=($!)
URL=$(wait_for "$IDP_TMP/server.out" 'https://127\.0\.0\.1:[0-9]+/mcp' | grep -oE 'https://127\.0\.0\.1:[0-9]+/mcp')
CA=$IDP_TMP/ca/ca.pem
export NODE_EXTRA_CA_CERTS=$CA

# 1. Delivery: the SMTP peer refuses the first connection; the mailer retries once.
out=$("$IDP_BIN/idp-agents" call "$URL" send_verification_email --args-json '{"client_id":"C-1003","idempotency_key":"smtp-1"}' \
  --json --ca-file "$CA" --header "Authorization: Bearer $TOKEN")
MID=$(jq -r .structuredContent.message_id <<<"$out")
[[ $MID == msg-* ]] || fail "send_verification_email: $out"
msg=$(wait_for "$IDP_TMP/smtp.out" '"event":"message"')
jq -e '.to == ["grace@example.net"] and .subject == "Please verify your e-mail address" and .has_code and .connection == 2' \
  <<<"$msg" >/dev/null || fail "delivered message: $msg"
[[ $(grep -c '"event":"refused"' "$IDP_TMP/smtp.out") == 1 ]] || fail "expected one refused connection: $(cat "$IDP_TMP/smtp.out")"
grep -q "delivery of $MID failed (attempt 1)" "$IDP_TMP/server.err" || fail "no retry logged: $(tail -5 "$IDP_TMP/server.err")"
for _ in $(seq 100); do
  st=$("$IDP_BIN/idp-agents" call "$URL" list_outbox --args-json '{"status":"sent"}' --json --ca-file "$CA" \
    --header "Authorization: Bearer $TOKEN" | jq -r --arg m "$MID" '[.structuredContent.messages[] | select(.message_id == $m)] | length')
  [[ $st == 1 ]] && break
  sleep 0.1
done
[[ $st == 1 ]] || fail "the message is not marked sent"
pass "outbox delivery to smtp-server: the first connection refused (421), one retry, one message, status sent"

# 2. An idempotent retry sends once: the same key gives the same message and no second mail; a
# later message is the next one the peer sees.
again=$("$IDP_BIN/idp-agents" call "$URL" send_verification_email --args-json '{"client_id":"C-1003","idempotency_key":"smtp-1"}' \
  --json --ca-file "$CA" --header "Authorization: Bearer $TOKEN" | jq -r .structuredContent.message_id)
[[ $again == "$MID" ]] || fail "the retry queued another message: $again"
"$IDP_BIN/idp-agents" call "$URL" send_verification_email --args-json '{"email":"marker@example.com"}' \
  --json --ca-file "$CA" --header "Authorization: Bearer $TOKEN" >/dev/null
wait_for "$IDP_TMP/smtp.out" '"to":\["marker@example.com"\]' >/dev/null
[[ $(grep -c '"event":"message"' "$IDP_TMP/smtp.out") == 2 ]] || fail "messages at the peer: $(cat "$IDP_TMP/smtp.out")"
[[ $(grep -c 'grace@example.net' "$IDP_TMP/smtp.out") == 1 ]] || fail "the retried message was sent twice"
pass "an idempotent retry returns the first message and sends nothing more"

# 3. The TypeScript SDK client over HTTPS with the CA.
PEERS_NODE_MODULES=$IDP_NODE_MODULES MCP_TOKEN=$TOKEN run_bounded 90 "$IDP_NODE" "$IDP_INTEROP_DIR/example-ts-client.mjs" "$URL" \
  >"$IDP_TMP/ts.out" 2>&1 || fail "TS SDK client: $(cat "$IDP_TMP/ts.out")"
grep -q ' 0 failed' "$IDP_TMP/ts.out" || fail "TS SDK client: $(cat "$IDP_TMP/ts.out")"
pass "TS SDK client: $(tail -1 "$IDP_TMP/ts.out") (every tool, HTTPS, bearer token)"

# 4. The Inspector v1 CLI calls each tool.
inspect() {  # OUT ARGS...
  local out=$1
  shift
  run_bounded 60 bash "$IDP_INTEROP_DIR/inspector1.sh" "$URL" --transport http --header "Authorization: Bearer $TOKEN" "$@" \
    >"$out" 2>"$out.err" || fail "inspector $*: $(cat "$out" "$out.err" | head -20)"
}
inspect "$IDP_TMP/i1.json" --method tools/list
jq -e '[.tools[].name] | sort == ["calculator","get_client_address","list_outbox","send_verification_email","summarize_document"]' "$IDP_TMP/i1.json" >/dev/null ||
  fail "inspector tools/list: $(cat "$IDP_TMP/i1.json")"
inspect "$IDP_TMP/i2.json" --method tools/call --tool-name calculator --tool-arg 'expression=2^10 - 24'
jq -e '.structuredContent.result == 1000' "$IDP_TMP/i2.json" >/dev/null || fail "inspector calculator: $(cat "$IDP_TMP/i2.json")"
inspect "$IDP_TMP/i3.json" --method tools/call --tool-name get_client_address --tool-arg client_id=C-1004
jq -e '.structuredContent.city == "Göttingen"' "$IDP_TMP/i3.json" >/dev/null || fail "inspector address: $(cat "$IDP_TMP/i3.json")"
inspect "$IDP_TMP/i4.json" --method tools/call --tool-name send_verification_email --tool-arg email=inspector@example.com
jq -e '.structuredContent.to == "inspector@example.com"' "$IDP_TMP/i4.json" >/dev/null || fail "inspector send: $(cat "$IDP_TMP/i4.json")"
inspect "$IDP_TMP/i5.json" --method tools/call --tool-name list_outbox --tool-arg limit=100
jq -e '.structuredContent.messages | length >= 4' "$IDP_TMP/i5.json" >/dev/null || fail "inspector outbox: $(cat "$IDP_TMP/i5.json")"
pass "Inspector v1 CLI: tools/list and each tool over HTTPS with the bearer token"

# 5. /metrics parses with a Prometheus text-format parser from npm; counters match the audit log.
curl -sS --cacert "$CA" "${URL%/mcp}/metrics" >"$IDP_TMP/metrics.txt"
PEERS_EXAMPLE=$PEERS_EXAMPLE "$IDP_NODE" "$IDP_INTEROP_DIR/prom-parse.mjs" <"$IDP_TMP/metrics.txt" >"$IDP_TMP/metrics.json" ||
  fail "/metrics does not parse: $(head -20 "$IDP_TMP/metrics.txt")"
metric() {  # NAME STATUS-OR-EMPTY: the value of idp_mcp_requests_total{method="tools/call",status=...}
  jq -r --arg n "$1" --arg s "$2" '[.[] | select(.name == $n) | .metrics[] | select(.labels.method == "tools/call" and .labels.status == $s) | .value | tonumber] | add // 0' \
    "$IDP_TMP/metrics.json"
}
for outcome in ok tool_error invalid; do
  want=$(jq -s --arg o "$outcome" '[.[] | select(.method == "tools/call" and .outcome == $o)] | length' "$IDP_TMP/audit.log")
  got=$(metric idp_mcp_requests_total "$outcome")
  [[ $got == "$want" ]] || fail "idp_mcp_requests_total{tools/call,$outcome} = $got, audit log has $want"
done
ok=$(jq -s '[.[] | select(.method == "tools/call" and .outcome == "ok")] | length' "$IDP_TMP/audit.log")
((ok >= 10)) || fail "only $ok ok calls in the audit log"
# parse-prometheus-text-format 1.1.1 folds the series of a labelled histogram into one (a
# limitation of that parser), so the per-tool counts are read from the text; the parser still
# had to accept the whole exposition, histogram included.
jq -e '.[] | select(.name == "idp_mcp_tool_call_duration_seconds") | .type == "HISTOGRAM"' "$IDP_TMP/metrics.json" >/dev/null ||
  fail "the parser found no tool-call histogram"
hist=$(awk '/^idp_mcp_tool_call_duration_seconds_count\{/ {n += $2} END {print n + 0}' "$IDP_TMP/metrics.txt")
errs=$(jq -s '[.[] | select(.method == "tools/call" and .outcome == "tool_error")] | length' "$IDP_TMP/audit.log")
[[ $hist == $((ok + errs)) ]] || fail "tool-call histogram counts $hist calls, the audit log $((ok + errs))"
pass "/metrics parses with parse-prometheus-text-format; counters match the audit log ($ok ok calls)"
log "$passed passed, 0 failed"
