#!/usr/bin/env bash
# `make demo` as a user meets it (scripts/demo.sh, so the README's command is what is tested):
#  - it prints the URL and the sign-in while it runs, to a file (not only when it exits); the
#    printed password signs in through the service, the page is served, the example server's
#    agent becomes ready over HTTPS with the local CA; Ctrl-C (SIGINT) stops it with exit 0 and
#    nothing of it keeps listening;
#  - --once signs in, asks the first sample query through the API, prints the tool step and the
#    answer (the address the example server holds for C-1001) and exits 0.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
DEMO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../scripts" && pwd)/demo.sh
export IDP_DEMO_DIR=$TMP/demo

bash "$DEMO" --listen 127.0.0.1:0 >"$TMP/demo.out" 2>"$TMP/demo.err" &
PID=$!
PIDS+=($PID)
URL=$(wait_line "$TMP/demo.out" 'Open http://127\.0\.0\.1:[0-9]+/' | cut -d' ' -f2)
PASSWORD=$(wait_line "$TMP/demo.out" 'password: [^ ]+' | cut -d' ' -f2)
kill -0 "$PID" || fail "the demo exited: $(cat "$TMP/demo.err")"
grep -q 'username: demo' "$TMP/demo.out" || fail "no username line: $(cat "$TMP/demo.out")"
pass "the running demo's URL and sign-in reach a file at once"

[[ $(stat -c %a "$IDP_DEMO_DIR/secret.json") == 600 ]] || fail "the secret is not 0600"
grep -q '"ca_file"' "$IDP_DEMO_DIR/secret.json" || fail "no ca_file in the secret"
grep -qF -- "$PASSWORD" "$IDP_DEMO_DIR/secret.json" && fail "the web user's password is in the secret"
MCP=$(grep -oE 'https://127\.0\.0\.1:[0-9]+/mcp' "$TMP/demo.out" | sed -n 1p)
[[ -n $MCP ]] || fail "no https MCP server URL: $(cat "$TMP/demo.out")"
pass "the secret (0600) names the example server over HTTPS with the local CA as ca_file"

TOKEN=$(curl -sS -X POST "${URL}api/auth/login" -H 'Content-Type: application/json' \
  -d "{\"username\":\"demo\",\"password\":\"$PASSWORD\"}" | jq -r .access_token)
[[ $TOKEN == ey* ]] || fail "the printed password does not sign in"
status=
for _ in $(seq 600); do
  status=$(curl -sS "${URL}api/agents" -H "Authorization: Bearer $TOKEN" | jq -r '.agents[0].status')
  [[ $status == ready ]] && break
  sleep 0.05
done
[[ $status == ready ]] || fail "the agent is not ready: $(curl -sS "${URL}api/agents" -H "Authorization: Bearer $TOKEN")"
pass "the printed sign-in works and the example server's agent is ready"

kill -INT "$PID"
rc=0
wait "$PID" || rc=$?
((rc == 0)) || fail "the demo exited $rc after Ctrl-C: $(tail -5 "$TMP/demo.err")"
curl -s -o /dev/null "$URL" && fail "the service still answers after Ctrl-C"
curl -sk -o /dev/null "$MCP" && fail "the example server still answers after Ctrl-C"
pass "Ctrl-C stops the demo (exit 0) and everything it started"

rc=0
bash "$DEMO" --once --listen 127.0.0.1:0 >"$TMP/once.out" 2>"$TMP/once.err" || rc=$?
((rc == 0)) || fail "demo --once exited $rc: $(cat "$TMP/once.out" "$TMP/once.err")"
grep -q -- '-> get_client_address {"client_id":"C-1001"}' "$TMP/once.out" ||
  fail "no tool step in: $(cat "$TMP/once.out")"
sed -n '/^Answer:/,$p' "$TMP/once.out" | grep -q "12 St James's Square" ||
  fail "the answer does not hold C-1001's address: $(cat "$TMP/once.out")"
pass "demo --once asks through the API and prints the tool step and the answer"
echo "$PASSED passed, 0 failed"
