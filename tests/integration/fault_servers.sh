#!/usr/bin/env bash
# Fault injection against our two HTTP servers as processes, with our binaries only:
#  1. idp-mcp-server killed with -9 while its mailer is in the middle of a delivery (the SMTP
#     server is stopped with SIGSTOP: it accepts and never answers). After a restart on the same
#     database every message whose queuing was acknowledged is delivered, once, and listed as sent.
#  2. Slowloris and half-open clients against idp-mcp-server and `idp-agents serve`: connections
#     that send nothing, headers that trickle in, a body that stops halfway. Other clients are
#     served meanwhile; the slow ones are cut at the header timeout (10 s) and the body timeout
#     (30 s) with nothing answered.
# Every process is started here and stopped by its pid; waits are for lines and closed sockets.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/cognito.sh"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

node "$HERE/../fixtures/smtp-sink.mjs" 0 >"$TMP/smtp.out" 2>&1 &
SMTP_PID=$!
PIDS+=("$SMTP_PID")
SMTP_PORT=$(wait_line "$TMP/smtp.out" '"port":[0-9]+' | cut -d: -f2)

EXAMPLE_PID=
start_example() {
  "$BIN/idp-mcp-server" --listen 127.0.0.1:0 --allow-anonymous --db "$TMP/example.db" \
    --smtp "smtp://127.0.0.1:$SMTP_PORT" --smtp-retry-ms 200 --log-level info >"$TMP/example.out" 2>>"$TMP/example.log" &
  EXAMPLE_PID=$!
  PIDS+=("$EXAMPLE_PID")
  EXAMPLE_URL=$(wait_line "$TMP/example.out" 'http://127\.0\.0\.1:[0-9]+/mcp')
}
call() { "$BIN/idp-agents" call "$EXAMPLE_URL" "$1" --args-json "$2" --json; }

# 1. kill -9 during a delivery, then a restart.
kill -STOP "$SMTP_PID"
start_example
declare -A QUEUED=()
for c in C-1001 C-1002 C-1003; do
  out=$(call send_verification_email "{\"client_id\":\"$c\",\"idempotency_key\":\"fault-$c\"}")
  [[ $(jq -r .structuredContent.status <<<"$out") == queued ]] || fail "queuing for $c: $out"
  QUEUED[$(jq -r .structuredContent.message_id <<<"$out")]=$(jq -r .structuredContent.to <<<"$out")
done
# The mailer has taken the first message: its connection to the stopped SMTP server is
# established (the kernel accepted it) and it waits for a greeting that does not come.
smtp_hex=$(printf '%04X' "$SMTP_PORT")
for _ in $(seq 600); do
  awk -v p=":$smtp_hex" '$3 ~ p"$" && $4 == "01"' /proc/net/tcp | grep -q . && break
  sleep 0.05
done
awk -v p=":$smtp_hex" '$3 ~ p"$" && $4 == "01"' /proc/net/tcp | grep -q . || fail "the mailer never connected to the SMTP server"
kill -9 "$EXAMPLE_PID"
wait "$EXAMPLE_PID" 2>/dev/null || true
grep -q '"event":"message"' "$TMP/smtp.out" && fail "a message was delivered before the SMTP server answered"
kill -CONT "$SMTP_PID"
start_example
for _ in $(seq 600); do
  (($(grep -c '"event":"message"' "$TMP/smtp.out") >= 3)) && break
  sleep 0.05
done
delivered=$(grep '"event":"message"' "$TMP/smtp.out" | jq -sc '[.[] | {id: (.message_id | ltrimstr("<") | rtrimstr("@idp-mcp-server>")), to: .to[0]}]')
[[ $(jq length <<<"$delivered") == 3 ]] || fail "after the restart: want 3 deliveries, got $delivered"
for id in "${!QUEUED[@]}"; do
  [[ $(jq --arg id "$id" --arg to "${QUEUED[$id]}" '[.[] | select(.id == $id and .to == $to)] | length' <<<"$delivered") == 1 ]] ||
    fail "message $id to ${QUEUED[$id]} was not delivered exactly once: $delivered"
done
out=$(call list_outbox '{}')
[[ $(jq '[.structuredContent.messages[] | select(.status == "sent")] | length' <<<"$out") == 3 ]] ||
  fail "the outbox after delivery: $out"
pass "idp-mcp-server killed -9 mid-delivery: after a restart the 3 acknowledged messages are delivered once each and listed as sent"

# 2. Slow and half-open clients.
"$BIN/idp-agents" local-cognito --port 0 --data "$TMP/cognito" >"$TMP/cognito.out" 2>&1 &
PIDS+=("$!")
COG=$(wait_line "$TMP/cognito.out" 'http://127\.0\.0\.1:[0-9]+')
cognito_pool "$COG" web alice 'Slow-Passw0rd!1' || fail "pool setup"
echo '[]' >"$TMP/agents.json"
chmod 600 "$TMP/agents.json"
"$BIN/idp-agents" serve --listen 127.0.0.1:0 --model offline --secret "file://$TMP/agents.json" \
  --user-pool-id "$COG_POOL" --user-client-id "$COG_CLIENT" --cognito-endpoint "$COG" \
  --data "$TMP/serve" >"$TMP/serve.out" 2>"$TMP/serve.log" &
PIDS+=("$!")
SERVE_URL=$(wait_line "$TMP/serve.out" 'listening on http://127\.0\.0\.1:[0-9]+' | cut -d' ' -f3)

SLOW=()  # "KIND PORT FD" per slow connection
open_slow() {  # KIND PORT: half (nothing sent), header (a request line, no end of headers), body
  local fd
  exec {fd}<>"/dev/tcp/127.0.0.1/$2"
  case $1 in
    half) ;;
    header) printf 'POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1\r\n' >&"$fd" ;;
    body) printf 'POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: 100000\r\n\r\n{"jsonrpc":' >&"$fd" ;;
  esac
  SLOW+=("$1 $2 $fd")
}
trickle() {  # PORT: headers that go on arriving, one line a second, as slowloris sends them
  local fd
  exec {fd}<>"/dev/tcp/127.0.0.1/$1"
  printf 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n' >&"$fd"
  (exec 2>/dev/null; while printf 'X-Trickle: %s\r\n' "$RANDOM" >&"$fd"; do sleep 1; done) &
  PIDS+=("$!")
  SLOW+=("trickle $1 $fd")
}
EXAMPLE_PORT=${EXAMPLE_URL#http://127.0.0.1:}
EXAMPLE_PORT=${EXAMPLE_PORT%/mcp}
SERVE_PORT=${SERVE_URL##*:}
for port in "$EXAMPLE_PORT" "$SERVE_PORT"; do
  for _ in $(seq 10); do open_slow half "$port"; done
  for _ in $(seq 5); do open_slow header "$port"; done
  for _ in $(seq 5); do open_slow body "$port"; done
  trickle "$port"
done
# Everyone else is served meanwhile.
for _ in 1 2 3; do
  [[ $(curl -sS -m 5 "${EXAMPLE_URL%/mcp}/healthz") == '{"status":"ok"}' ]] || fail "idp-mcp-server /healthz with slow clients open"
  [[ $(curl -sS -m 5 -o /dev/null -w '%{http_code}' "$SERVE_URL/api/config") == 200 ]] || fail "serve /api/config with slow clients open"
  [[ $(call calculator '{"expression":"6*7"}' | jq .structuredContent.result) == 42 ]] || fail "a tool call with slow clients open"
done
pass "with ${#SLOW[@]} slow and half-open connections open, both servers answer everyone else"
# Each slow connection is closed by the server, with nothing answered (the read ends at EOF).
for s in "${SLOW[@]}"; do
  read -r kind port fd <<<"$s"
  got=$(timeout 60 cat <&"$fd") || fail "a $kind connection to port $port was not cut within 60 s"
  [[ -z $got ]] || fail "a $kind connection to port $port got an answer: $got"
  exec {fd}>&-
done
pass "half-open, trickling-header and stalled-body connections are cut by the servers (header and body timeouts), unanswered"
echo "$PASSED passed, 0 failed"
