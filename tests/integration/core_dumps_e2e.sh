#!/usr/bin/env bash
# Core dumps are off in a running `idp-agents serve` (and in every idp-agents command) and in a
# running `idp-mcp-server` (the example MCP server): their /proc/<pid>/limits shows a core file size of 0, soft and hard, although the shell that started
# it allowed cores. With IDP_ALLOW_CORE_DUMPS=1 (debugging a crash) the limit is left as it was
# and a warning says so. (Non-dumpability, PR_SET_DUMPABLE, is checked from inside a process by
# unit.CoreDumpsTest: from outside it shows only to a user other than root.)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/cognito.sh"

ulimit -c unlimited 2>/dev/null || ulimit -c "$(ulimit -Hc)"
allowed=$(ulimit -c)
[[ $allowed != 0 ]] || fail "this shell cannot allow core files (hard limit 0): nothing to prove"

core_limit() {  # core_limit PID: "soft hard" of Max core file size
  awk '/^Max core file size/ { print $5, $6 }' "/proc/$1/limits"
}

"$BIN/idp-agents" local-cognito --port 0 --data "$TMP/cognito" >"$TMP/cognito.out" 2>&1 &
PIDS+=($!)
COG=$(wait_line "$TMP/cognito.out" 'http://127\.0\.0\.1:[0-9]+')
cognito_pool "$COG" web alice 'Core-Passw0rd!1' || fail "pool setup"
echo '[]' >"$TMP/agents.json"
chmod 600 "$TMP/agents.json"
"$BIN/idp-agents" serve --listen 127.0.0.1:0 --secret "file://$TMP/agents.json" \
  --user-pool-id "$COG_POOL" --user-client-id "$COG_CLIENT" --cognito-endpoint "$COG" \
  --data "$TMP/serve" >"$TMP/serve.out" 2>"$TMP/serve.log" &
SERVE=$!
PIDS+=($SERVE)
wait_line "$TMP/serve.out" 'listening on http://127\.0\.0\.1:[0-9]+' >/dev/null
[[ $(core_limit "$SERVE") == "0 0" ]] ||
  fail "serve runs with core file size '$(core_limit "$SERVE")' (the shell allowed $allowed)"
pass "a running serve has core dumps off (Max core file size 0 0)"

"$BIN/idp-mcp-server" --listen 127.0.0.1:0 --db "$TMP/example.db" --jwt-issuer "$COG/$COG_POOL" \
  --cognito-client-id "$COG_CLIENT" >"$TMP/example.out" 2>&1 &
EXAMPLE=$!
PIDS+=($EXAMPLE)
wait_line "$TMP/example.out" 'http://127\.0\.0\.1:[0-9]+/mcp' >/dev/null
[[ $(core_limit "$EXAMPLE") == "0 0" ]] ||
  fail "idp-mcp-server runs with core file size '$(core_limit "$EXAMPLE")' (the shell allowed $allowed)"
pass "a running idp-mcp-server has core dumps off (Max core file size 0 0)"

IDP_ALLOW_CORE_DUMPS=1 "$BIN/idp-agents" local-cognito --port 0 --data "$TMP/cognito2" \
  >"$TMP/allowed.out" 2>"$TMP/allowed.err" &
ALLOWED=$!
PIDS+=($ALLOWED)
wait_line "$TMP/allowed.out" 'http://127\.0\.0\.1:[0-9]+' >/dev/null
[[ $(core_limit "$ALLOWED") != "0 0" ]] || fail "IDP_ALLOW_CORE_DUMPS=1 still turned core dumps off"
grep -q "core dumps stay enabled (IDP_ALLOW_CORE_DUMPS=1)" "$TMP/allowed.err" ||
  fail "no warning with IDP_ALLOW_CORE_DUMPS=1: $(cat "$TMP/allowed.err")"
pass "IDP_ALLOW_CORE_DUMPS=1 keeps them, with a warning"
echo "$PASSED passed, 0 failed"
