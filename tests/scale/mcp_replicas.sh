#!/usr/bin/env bash
# MCP servers behind a load balancer (issue 15, item 3; docs/deployment.md "MCP servers behind a
# load balancer"): two idp-mcp-server replicas behind nginx serve an agent while each replica in
# turn restarts. Everything on 127.0.0.1, stopped by pid:
#   - the local identity provider; the replicas check its tokens on every request;
#   - two callers run the whole time: `idp-agents call` of the calculator through nginx (with a
#     token of the pool) and `idp-agents ask` through the agent registry (a secret whose entry
#     points at nginx and signs in with Cognito, the offline planner);
#   - a replica stops (SIGTERM: running calls finish), calls go on through the other, it starts
#     again on its port and serves again; no call and no question failed, every answer was right.
#
#   mcp_replicas.sh stateless   `--stateless` replicas, round robin (no affinity); the calls
#                               alternate between the 2026-07-28 and the 2025-11-25 era; both
#                               replicas serve, and each restarts in turn
#   mcp_replicas.sh sessions    replicas with sessions (the 2025-11-25 era: initialize, then
#                               Mcp-Session-Id), affinity by client address (`hash $remote_addr
#                               consistent`): every call of this host goes to one replica; it
#                               restarts, the other takes over, then it serves again
source "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/cognito.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/nginx_proxy.sh"
MODE=${1:-stateless}
[[ $MODE == stateless || $MODE == sessions ]] || fail "usage: mcp_replicas.sh stateless|sessions, not '$MODE'"
command -v nginx >/dev/null || fail "nginx not found (scripts/install-deps.sh installs nginx-light)"

PASSWORD='S3rvice!Pass-scale-mcp'
"$BIN/idp-agents" local-cognito --port 0 --data "$TMP/cognito" >"$TMP/cognito.out" 2>&1 &
PIDS+=($!)
COG=$(wait_line "$TMP/cognito.out" 'http://127\.0\.0\.1:[0-9]+')
cognito_pool "$COG" scale mcp-service-user "$PASSWORD" || fail "pool setup"
TOKEN=$(cog "$COG" InitiateAuth "{\"AuthFlow\":\"USER_PASSWORD_AUTH\",\"ClientId\":\"$COG_CLIENT\",\"AuthParameters\":{\"USERNAME\":\"mcp-service-user\",\"PASSWORD\":\"$PASSWORD\"}}" |
  jq -r .AuthenticationResult.AccessToken)
[[ $TOKEN == ey*.*.* ]] || fail "no access token from the local identity provider"

count() {  # REGEX FILE: the lines of FILE matching REGEX (0 when there is no FILE yet)
  local n
  n=$(grep -cE "$1" "$2" 2>/dev/null) || true
  echo "${n:-0}"
}
declare -A REPLICA_PID REPLICA_PORT
start_replica() {  # N [PORT]: replica N on PORT (default: any free port); waits until it listens
  local n=$1 port=${2:-0} url seen
  seen=$(count 'listening on' "$TMP/replica$n.out")
  local stateless=()
  [[ $MODE == sessions ]] || stateless=(--stateless)
  "$BIN/idp-mcp-server" "${stateless[@]}" --listen "127.0.0.1:$port" --drain-seconds 10 \
    --db "$TMP/replica$n.db" --audit-log "$TMP/replica$n.audit" \
    --jwt-issuer "$COG/$COG_POOL" --cognito-client-id "$COG_CLIENT" >>"$TMP/replica$n.out" 2>&1 &
  REPLICA_PID[$n]=$!
  PIDS+=("${REPLICA_PID[$n]}")
  url=$(wait_line_after "$TMP/replica$n.out" "$seen" 'http://127\.0\.0\.1:[0-9]+/mcp')
  REPLICA_PORT[$n]=$(sed -E 's|.*:([0-9]+)/mcp|\1|' <<<"$url")
  [[ $port == 0 || ${REPLICA_PORT[$n]} == "$port" ]] || fail "replica $n came back on port ${REPLICA_PORT[$n]}, not $port"
}
# wait_line_after FILE SEEN REGEX: like wait_line, for the (SEEN+1)-th 'listening on' line of a
# log that a restarted replica appends to.
wait_line_after() {
  local file=$1 seen=$2 re=$3
  for _ in $(seq 600); do
    if (($(count 'listening on' "$file") > seen)); then
      grep 'listening on' "$file" | sed -n "$((seen + 1))p" | grep -oE "$re"
      return 0
    fi
    sleep 0.05
  done
  fail "no new 'listening on' line in $file: $(tail -c 2000 "$file")"
}
# The replica's pid is waited for (its drain ends with "stopped"), so that the restart reuses
# the port of a process that is really gone.
stop_replica() {  # N
  local pid=${REPLICA_PID[$1]}
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null || true
  grep -q 'idp-mcp-server stopped' "$TMP/replica$1.out" || fail "replica $1 did not stop cleanly: $(tail -c 2000 "$TMP/replica$1.out")"
}
audited() { count '"tools/call"' "$TMP/replica$1.audit"; }

start_replica 1
start_replica 2
BALANCE=
[[ $MODE == stateless ]] || BALANCE='hash $remote_addr consistent;'
nginx_proxy_start "$TMP/nginx" "$BALANCE" "127.0.0.1:${REPLICA_PORT[1]}" "127.0.0.1:${REPLICA_PORT[2]}" ||
  fail "nginx did not start"
PIDS+=("$NGINX_PROXY_PID")
URL=$NGINX_PROXY_URL/mcp

# The agent's secret: one entry, the replicas' address behind nginx, Cognito sign-in.
printf '[{"mcp_url":"%s","cognito_user_pool_id":"%s","cognito_client_id":"%s","cognito_username":"mcp-service-user","cognito_password":"%s","agent_name":"Example Tools","agent_description":"Arithmetic behind a load balancer."}]\n' \
  "$URL" "$COG_POOL" "$COG_CLIENT" "$PASSWORD" >"$TMP/secret.json"
chmod 600 "$TMP/secret.json"

# Caller loops: one result line per call ("ok I" or "FAIL I: why") until $TMP/stop exists.
call_loop() {
  local i=0 out rc want era
  while [[ ! -e $TMP/stop ]]; do
    i=$((i + 1))
    want=$((i + 1000))
    era=legacy  # sessions: initialize opens one, the call carries its Mcp-Session-Id
    # stateless: every other call in the 2026-07-28 era, the others initialize (and get no session)
    [[ $MODE == sessions ]] || ((i % 2 == 0)) || era=modern
    rc=0
    out=$(MCP_TOKEN=$TOKEN "$BIN/idp-agents" call "$URL" calculator --args-json "{\"expression\":\"$i + 1000\"}" \
      --protocol-era "$era" --json --token-env MCP_TOKEN 2>&1) || rc=$?
    if ((rc == 0)) && [[ $(jq -r '.structuredContent.result' <<<"$out" 2>/dev/null) == "$want" ]]; then
      echo "ok $i"
    else
      echo "FAIL $i: exit $rc: $out"
    fi
  done >"$TMP/calls.log"
}
ask_loop() {
  local i=0 out rc
  while [[ ! -e $TMP/stop ]]; do
    i=$((i + 1))
    rc=0
    out=$("$BIN/idp-agents" ask --secret "file://$TMP/secret.json" --cognito-endpoint "$COG/" \
      "What is ($i + 0.5) * 2?" 2>&1) || rc=$?
    if ((rc == 0)) && [[ $out == *"$((2 * i + 1))"* ]]; then
      echo "ok $i"
    else
      echo "FAIL $i: exit $rc: $out"
    fi
  done >"$TMP/asks.log"
}
results() { count '^ok ' "$1"; }
# wait_results N: until both loops have N more answers than now (and none failed meanwhile).
wait_results() {
  local calls asks
  calls=$(($(results "$TMP/calls.log") + $1))
  asks=$(($(results "$TMP/asks.log") + $1))
  for _ in $(seq 1200); do
    ! grep -q '^FAIL' "$TMP/calls.log" "$TMP/asks.log" 2>/dev/null ||
      fail "a call failed while $2: $(grep -h -m1 '^FAIL' "$TMP/calls.log" "$TMP/asks.log" | head -c 2000)"
    (($(results "$TMP/calls.log") >= calls && $(results "$TMP/asks.log") >= asks)) && return 0
    sleep 0.05
  done
  fail "the callers made no progress while $2 (calls: $(tail -n 2 "$TMP/calls.log"), asks: $(tail -n 2 "$TMP/asks.log"))"
}
wait_audited() {  # N: until replica N has served a tools/call more than now
  local before
  before=$(audited "$1")
  for _ in $(seq 1200); do
    (($(audited "$1") > before)) && return 0
    sleep 0.05
  done
  fail "replica $1 served no call while $2"
}

call_loop &
CALLER1=$!
ask_loop &
CALLER2=$!
PIDS+=("$CALLER1" "$CALLER2")
if [[ $MODE == stateless ]]; then
  wait_results 3 "both replicas ran"
  wait_audited 1 "both replicas ran"
  wait_audited 2 "both replicas ran"
  pass "two stateless replicas behind nginx answer calls and questions (both replicas serve)"
  for n in 1 2; do
    other=$((3 - n))
    stop_replica "$n"
    wait_results 3 "replica $n was down"
    start_replica "$n" "${REPLICA_PORT[$n]}"
    wait_audited "$n" "it was back"
    wait_results 3 "replica $n was back"
    wait_audited "$other" "replica $n was back"
    pass "replica $n stopped and started again while calls ran: no call failed, it serves again"
  done
else
  wait_results 3 "both replicas ran"
  if (($(audited 1) > 0 && $(audited 2) == 0)); then
    n=1
  elif (($(audited 2) > 0 && $(audited 1) == 0)); then
    n=2
  else
    fail "the calls of one client address went to both replicas ($(audited 1) and $(audited 2) calls)"
  fi
  other=$((3 - n))
  pass "replicas with sessions behind nginx (affinity by client address): every call and question answered, all by replica $n"
  stop_replica "$n"
  wait_results 3 "replica $n was down"
  wait_audited "$other" "replica $n was down"
  start_replica "$n" "${REPLICA_PORT[$n]}"
  wait_audited "$n" "it was back"
  wait_results 3 "replica $n was back"
  pass "replica $n stopped and started again while calls ran: replica $other took its clients, no call failed, it serves again"
fi

touch "$TMP/stop"
wait "$CALLER1" "$CALLER2"
grep -q '^FAIL' "$TMP/calls.log" "$TMP/asks.log" && fail "a call failed: $(grep -h -m1 '^FAIL' "$TMP/calls.log" "$TMP/asks.log")"
calls=$(results "$TMP/calls.log")
asks=$(results "$TMP/asks.log")
pass "$calls calls and $asks questions, all answered right, through the restarts"
nginx_proxy_stop
echo "$PASSED passed, 0 failed"
