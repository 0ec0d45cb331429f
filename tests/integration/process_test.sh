#!/usr/bin/env bash
# The server binary as an operator runs it: TLS with a certificate it is given, and a graceful
# exit on SIGTERM and SIGINT. Servers listen on 127.0.0.1 and are stopped by pid.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start() {  # start OUTFILE args... ; sets PID and URL
  local out=$1; shift
  # The file exists before the first read: the background shell may open it only later (an
  # unreadable file would end the script under set -e).
  : >"$out"
  "$BIN/mcp-conformance-server" --port 0 "$@" >"$out" 2>&1 &
  PID=$!
  PIDS+=("$PID")
  for _ in $(seq 200); do
    URL=$(sed -n 's/^listening on //p' "$out" | head -1)
    [[ -n $URL ]] && return 0
    kill -0 "$PID" 2>/dev/null || fail "server exited: $(cat "$out")"
    sleep 0.05
  done
  fail "server did not report its address"
}
INIT='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}'
H=(-sS -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream')

# --- TLS: a self-signed certificate for 127.0.0.1, verified by curl against it.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null
start "$TMP/tls.out" --tls-cert "$TMP/cert.pem" --tls-key "$TMP/key.pem"
[[ $URL == https://* ]] || fail "TLS server reported $URL"
body=$(curl "${H[@]}" --cacert "$TMP/cert.pem" "$URL" -d "$INIT")
[[ $body == *'"protocolVersion":"2025-11-25"'* ]] || fail "initialize over TLS: $body"
pass "tls: initialize over https with a verified certificate"
if curl "${H[@]}" -o /dev/null "$URL" -d "$INIT" 2>/dev/null; then
  fail "an unverified certificate was accepted by curl"
fi
code=$(curl -s -o /dev/null -w '%{http_code}' "${H[@]}" "${URL/https:/http:}" -d "$INIT" 2>/dev/null || true)
[[ $code != 200 ]] || fail "plain HTTP was answered on the TLS port"
pass "tls: plain HTTP on the TLS port gets no MCP answer"
kill "$PID"

# --- a missing key file is a clear start-up error.
if "$BIN/mcp-conformance-server" --port 0 --tls-cert "$TMP/cert.pem" --tls-key "$TMP/nope.pem" >"$TMP/bad.out" 2>&1; then
  fail "started without its key file"
fi
grep -q "cannot load TLS key $TMP/nope.pem" "$TMP/bad.out" || fail "unclear error: $(cat "$TMP/bad.out")"
pass "tls: a missing key file is reported by name"

# --- SIGTERM and SIGINT end the server with status 0, also with an open SSE stream.
for sig in TERM INT; do
  start "$TMP/sig.out"
  sid=$(curl "${H[@]}" -D - -o /dev/null "$URL" -d "$INIT" | awk 'tolower($1)=="mcp-session-id:"{print $2}' | tr -d '\r')
  : >"$TMP/sse.head"
  curl -sS -N -m 60 -D "$TMP/sse.head" -H 'Accept: text/event-stream' -H "Mcp-Session-Id: $sid" \
    "$URL" >/dev/null 2>&1 &
  PIDS+=($!)
  # The stream is open once its status line has arrived.
  wait_line "$TMP/sse.head" '^HTTP/1.1 200' >/dev/null
  kill -s "$sig" "$PID"
  status=0
  wait "$PID" || status=$?  # a server that never stopped would end the test by its ctest timeout
  ((status == 0)) || fail "SIG$sig: exit status $status"
  pass "signal: SIG$sig stops the server with an open SSE stream, with status 0"
done

# --- a taken port is a clear start-up error.
start "$TMP/a.out"
port=${URL##*:}; port=${port%%/*}
if "$BIN/mcp-conformance-server" --port "$port" >"$TMP/b.out" 2>&1; then fail "second server started on a taken port"; fi
grep -q "cannot listen on 127.0.0.1:$port" "$TMP/b.out" || fail "unclear error: $(cat "$TMP/b.out")"
pass "a taken port is reported with the address"
echo "$PASSED passed, 0 failed"
