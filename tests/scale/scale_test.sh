#!/usr/bin/env bash
# The scale-out acceptance test (issue 15): PostgreSQL 15, three `idp-agents serve` replicas on
# it and nginx in front, all on 127.0.0.1, everything stopped by pid at the end. The agent loop
# runs the offline model (deterministic) against an MCP server whose slow_report tool runs
# until it is cancelled (or FIXTURE_SLOW_LIMIT_MS).
#   1. a session created through one replica is read, continued and deleted through the others;
#   2. a turn started on replica A is followed live through replica B and cancelled through C;
#   3. kill -9 of the replica running a turn: a follower reconnecting through nginx (with
#      Last-Event-ID) sees every event written before the kill, then an `error` event saying the
#      turn was interrupted; no acknowledged message is lost;
#   4. 50 jobs submitted at once through nginx run exactly once each across the replicas;
#   5. a replica killed mid-job has its jobs failed with a clear error (or finished by another):
#      none is left PROCESSING.
source "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/cognito.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export IDP_PEERS_DIR=${IDP_PEERS_DIR:-$HERE/../../build/peers}
[[ -d $IDP_PEERS_DIR/peers/node_modules/@modelcontextprotocol/sdk ]] ||
  fail "the MCP SDK is missing in $IDP_PEERS_DIR/peers: run scripts/install-deps.sh --no-apt"
LEASE=2  # seconds: how long a killed replica's turns and jobs wait to be ended
trap 'cleanup; nginx_stop; pg_stop' EXIT

pg_start || fail "PostgreSQL 15 did not start"
"$BIN/idp-agents" local-cognito --port 0 --data "$TMP/cognito" >"$TMP/cognito.out" 2>&1 &
PIDS+=($!)
COG=$(wait_line "$TMP/cognito.out" 'http://127\.0\.0\.1:[0-9]+')
PASSWORD='Scale-Passw0rd!1'
cognito_pool "$COG" web alice "$PASSWORD" || fail "pool setup"
for u in bob carol; do
  cog "$COG" AdminCreateUser "{\"UserPoolId\":\"$COG_POOL\",\"Username\":\"$u\",\"TemporaryPassword\":\"Temp0rary!1a\",
    \"MessageAction\":\"SUPPRESS\",\"UserAttributes\":[{\"Name\":\"email\",\"Value\":\"$u@example.com\"}]}" >/dev/null
  cog "$COG" AdminSetUserPassword "{\"UserPoolId\":\"$COG_POOL\",\"Username\":\"$u\",\"Password\":\"$PASSWORD\",\"Permanent\":true}" >/dev/null
done
FIXTURE_SLOW_LIMIT_MS=8000 node "$HERE/../browser/fixture-server.mjs" 0 >"$TMP/mcp.out" 2>"$TMP/mcp.err" &
PIDS+=($!)
MCP=$(wait_line "$TMP/mcp.out" 'http://127\.0\.0\.1:[0-9]+/mcp')
cat >"$TMP/agents.json" <<JSON
[{"mcp_url": "$MCP", "agent_id": "fixture_tools", "agent_name": "Fixture Tools",
  "agent_description": "Test tools.", "auth": {"type": "none"}}]
JSON
chmod 600 "$TMP/agents.json"

declare -A URL PID
start_replica() {  # start_replica NAME [PORT]: sets URL[NAME] and PID[NAME]
  local n=$1
  "$BIN/idp-agents" serve --listen "127.0.0.1:${2:-0}" --model offline --secret "file://$TMP/agents.json" \
    --user-pool-id "$COG_POOL" --user-client-id "$COG_CLIENT" --cognito-endpoint "$COG" \
    --store "$PG_URL" --lease-seconds "$LEASE" --data "$TMP/$n" >"$TMP/$n.out" 2>>"$TMP/$n.log" &
  PID[$n]=$!
  PIDS+=(${PID[$n]})
  URL[$n]=$(wait_line "$TMP/$n.out" 'listening on http://127\.0\.0\.1:[0-9]+' | cut -d' ' -f3)
}
for n in a b c; do start_replica $n; done
nginx_start "${URL[a]#http://}" "${URL[b]#http://}" "${URL[c]#http://}" || fail "nginx did not start"
LB=$NGINX_URL

declare -A TOKEN
for u in alice bob carol; do
  TOKEN[$u]=$(curl -sS -X POST "$LB/api/auth/login" -H 'Content-Type: application/json' \
    -d "{\"username\":\"$u\",\"password\":\"$PASSWORD\"}" | jq -r .access_token)
  [[ ${TOKEN[$u]} == ey* ]] || fail "sign-in of $u"
done
api() {  # api BASE METHOD PATH [BODY [CURL ARGS...]] as alice (AS=bob api ... as bob)
  curl -sS -X "$2" "$1$3" -H "Authorization: Bearer ${TOKEN[${AS:-alice}]}" \
    -H 'Content-Type: application/json' ${4:+-d "$4"} "${@:5}"
}
wait_ready() {  # wait_ready NAME...: until each replica's agent is ready
  local n ready
  for n in "$@"; do
    ready=
    for _ in $(seq 600); do
      [[ $(api "${URL[$n]}" GET /api/agents | jq -r '.agents[0].status') == ready ]] && { ready=1; break; }
      sleep 0.05
    done
    [[ -n $ready ]] || fail "replica $n: the agent never got ready"
  done
}
wait_ready a b c
IDS=$(for n in a b c; do api "${URL[$n]}" GET /api/agents | jq -c '[.agents[].agent_id]'; done | sort -u)
[[ $(wc -l <<<"$IDS") == 1 && $IDS == '["fixture_tools"]' ]] || fail "the replicas name the agents differently: $IDS"
pass "PostgreSQL 15, three replicas and nginx run on loopback; every replica names the same agents"

# --- 1. one session through every replica ---
SID=$(api "${URL[a]}" POST /api/chat/sessions '{"agent_ids":["fixture_tools"]}' | jq -r .session_id)
[[ $SID == ses_* ]] || fail "no session"
[[ $(api "${URL[b]}" GET "/api/chat/sessions/$SID" | jq -r .session_id) == "$SID" ]] || fail "B does not see A's session"
LAST=$(api "${URL[c]}" POST "/api/chat/sessions/$SID/messages" '{"text":"Echo the text \"over there\""}' | grep '^data: ' | tail -1)
[[ $LAST == *'"type":"final"'* && $LAST == *'over there'* ]] || fail "C does not continue it: $LAST"
DETAIL=$(api "${URL[a]}" GET "/api/chat/sessions/$SID")
[[ $(jq -r '.messages | length' <<<"$DETAIL") == 2 && $(jq -r '.messages[1].status' <<<"$DETAIL") == complete ]] ||
  fail "A does not see C's turn: $DETAIL"
[[ $(api "${URL[b]}" DELETE "/api/chat/sessions/$SID" "" -w '%{http_code}') == 204 ]] || fail "B cannot delete it"
[[ $(api "${URL[c]}" GET "/api/chat/sessions/$SID" | jq -r .error.code) == not_found ]] || fail "C still sees it"
pass "a session created through A is read through B, continued through C, deleted through B and gone on C"

# --- 2. started on A, followed live through B, cancelled through C ---
SID=$(api "${URL[a]}" POST /api/chat/sessions '{"agent_ids":["fixture_tools"]}' | jq -r .session_id)
api "${URL[a]}" POST "/api/chat/sessions/$SID/messages" '{"text":"Run the slow report"}' -N >"$TMP/a-stream.txt" 2>/dev/null &
STARTER=$!
PIDS+=($STARTER)
wait_line "$TMP/a-stream.txt" '"type":"turn_start"' >/dev/null
api "${URL[b]}" GET "/api/chat/sessions/$SID/events?after=0" "" -N >"$TMP/b-stream.txt" 2>/dev/null &
FOLLOWER=$!
PIDS+=($FOLLOWER)
wait_line "$TMP/b-stream.txt" '"type":"tool_start"' >/dev/null  # live: the tool runs on A now
CANCEL=$(api "${URL[c]}" POST "/api/chat/sessions/$SID/cancel")
[[ $(jq -r .cancelled <<<"$CANCEL") == true ]] || fail "C cannot cancel A's turn: $CANCEL; B saw: $(cat "$TMP/b-stream.txt"); C log: $(tail -5 "$TMP/c.log")"
wait "$FOLLOWER" || true
wait "$STARTER" || true
B_EVENTS=$(grep '^data: ' "$TMP/b-stream.txt" | sed 's/^data: //' | jq -sc .)
A_EVENTS=$(grep '^data: ' "$TMP/a-stream.txt" | sed 's/^data: //' | jq -sc .)
[[ $(jq -r '.[-1].type + " " + .[-1].code' <<<"$B_EVENTS") == "error cancelled" ]] || fail "B's stream: $B_EVENTS"
[[ $B_EVENTS == "$A_EVENTS" ]] || fail "B saw other events than A: $B_EVENTS vs $A_EVENTS"
[[ $(jq '[.[].seq] | . == (sort | unique) and .[0] == 1' <<<"$B_EVENTS") == true ]] || fail "B's seqs: $B_EVENTS"
pass "a turn started on A is followed live through B ($(jq length <<<"$B_EVENTS") events, in order, the same as A's) and cancelled through C"

# --- 3. kill -9 of the replica running a turn ---
LAST=$(api "${URL[a]}" POST "/api/chat/sessions/$SID/messages" '{"text":"Echo the text \"kept\""}' | grep '^data: ' | tail -1)
[[ $LAST == *'"type":"final"'* ]] || fail "the first answer: $LAST"
api "${URL[a]}" POST "/api/chat/sessions/$SID/messages" '{"text":"Run the slow report"}' -N >"$TMP/a2-stream.txt" 2>/dev/null &
STARTER=$!
PIDS+=($STARTER)
wait_line "$TMP/a2-stream.txt" '"type":"tool_start"' >/dev/null
api "$LB" GET "/api/chat/sessions/$SID/events" "" -N >"$TMP/f0.txt" 2>/dev/null &
FOLLOWER=$!
PIDS+=($FOLLOWER)
wait_line "$TMP/f0.txt" '"type":"tool_start"' >/dev/null
kill -9 "${PID[a]}"
wait "${PID[a]}" 2>/dev/null || true
wait "$STARTER" 2>/dev/null || true
# The follower drops its stream (as a browser does when its replica goes away; one following on
# B or C is cut here too) and reconnects through nginx with the id of the last event it saw,
# until it has the turn's last event.
kill "$FOLLOWER" 2>/dev/null || true
wait "$FOLLOWER" 2>/dev/null || true
cat "$TMP/f0.txt" >"$TMP/follow.txt"
reconnects=0
for attempt in 1 2 3 4 5 6; do
  if grep -q '"type":"error"\|"type":"final"' "$TMP/follow.txt"; then break; fi
  last_id=$(grep '^id: ' "$TMP/follow.txt" | tail -1 | sed 's/^id: //')
  api "$LB" GET "/api/chat/sessions/$SID/events" "" -N -H "Last-Event-ID: $last_id" >"$TMP/f$attempt.txt" 2>/dev/null || true
  reconnects=$attempt
  cat "$TMP/f$attempt.txt" >>"$TMP/follow.txt"
done
((reconnects > 0)) || fail "the follower never reconnected"
SEEN=$(grep '^data: ' "$TMP/follow.txt" | sed 's/^data: //' | jq -sc .)
[[ $(jq -r '.[-1].type + " " + .[-1].code' <<<"$SEEN") == "error interrupted" ]] || fail "the follower's events end so: $SEEN"
[[ $(jq '[.[].seq] | . == (sort | unique)' <<<"$SEEN") == true ]] || fail "duplicates or disorder: $SEEN"
DETAIL=$(api "$LB" GET "/api/chat/sessions/$SID")
STORED=$(jq -c '.messages[-1].events' <<<"$DETAIL")
[[ $(jq -c '[.[].seq]' <<<"$SEEN") == "$(jq -c '[.[].seq]' <<<"$STORED")" ]] || fail "the follower missed events: $(jq -c "[.[].seq]" <<<"$SEEN") vs $(jq -c "[.[].seq]" <<<"$STORED")"
[[ $(jq -r '[.messages[] | .role + ":" + .status] | join(" ")' <<<"$DETAIL") == \
  "user:complete assistant:cancelled user:complete assistant:complete user:complete assistant:interrupted" &&
  $(jq -r '.messages[2].text + "|" + .messages[4].text' <<<"$DETAIL") == 'Echo the text "kept"|Run the slow report' ]] ||
  fail "acknowledged messages are missing: $DETAIL"
[[ $(jq -r .last_status <<<"$DETAIL") == interrupted && $(jq -r .running <<<"$DETAIL") == false ]] || fail "the session: $DETAIL"
pass "kill -9 of the replica running a turn: the follower reconnects through nginx ($reconnects times), sees the $(($(jq length <<<"$SEEN") - 1)) events written before, then error interrupted; every message is kept"
start_replica a2 "${URL[a]##*:}"  # a new replica in A's place: nginx sends it work again
wait_ready a2
back=
for _ in $(seq 400); do  # nginx retries A's address once its fail_timeout has passed
  curl -sS -o /dev/null "$LB/healthz"
  hits=$(curl -sS "${URL[a2]}/metrics" | grep -c 'route="/healthz"' || true)
  ((hits > 0)) && { back=1; break; }
  sleep 0.05
done
[[ -n $back ]] || fail "nginx never sent a request to the replica started in A's place"

# --- 4. 50 jobs at once through nginx ---
tool_calls() {  # tool_calls NAME: the echo_text calls replica NAME has made
  curl -sS "${URL[$1]}/metrics" |
    sed -n 's/^idp_tool_call_duration_seconds_count{[^}]*tool="echo_text"[^}]*} \([0-9]*\).*/\1/p' |
    awk '{s+=$1} END {print s+0}'
}
declare -A BEFORE
for n in b c a2; do BEFORE[$n]=$(tool_calls $n); done
users=(alice bob carol)
SUBMITS=()
for i in $(seq 1 50); do
  AS=${users[$((i % 3))]} api "$LB" POST /api/jobs "{\"query\":\"Echo the text \\\"job $i\\\"\",\"agent_ids\":[\"fixture_tools\"]}" >"$TMP/job$i.json" &
  SUBMITS+=($!)
done
for p in "${SUBMITS[@]}"; do wait "$p" || true; done
JOB_IDS=()
for i in $(seq 1 50); do
  id=$(jq -r .job_id "$TMP/job$i.json")
  [[ $id == job_* ]] || fail "job $i was not accepted: $(cat "$TMP/job$i.json")"
  JOB_IDS+=("${users[$((i % 3))]}:$id:$i")
done
done_all=
for _ in $(seq 1200); do
  pending=0
  for entry in "${JOB_IDS[@]}"; do
    IFS=: read -r u id i <<<"$entry"
    status=$(AS=$u api "$LB" GET "/api/jobs/$id" | jq -r .status)
    [[ $status == COMPLETED ]] || { pending=1; break; }
  done
  ((pending == 0)) && { done_all=1; break; }
  sleep 0.1
done
[[ -n $done_all ]] || fail "jobs were still not all COMPLETED"
for entry in "${JOB_IDS[@]}"; do
  IFS=: read -r u id i <<<"$entry"
  result=$(AS=$u api "$LB" GET "/api/jobs/$id" | jq -r .result.text)
  [[ $result == *"job $i"* ]] || fail "job $i answered '$result'"
done
CALLS=0
SPREAD=
for n in b c a2; do
  c=$(($(tool_calls $n) - BEFORE[$n]))
  CALLS=$((CALLS + c))
  SPREAD+=" $n=$c"
done
((CALLS == 50)) || fail "the 50 jobs made $CALLS tool calls (each must run exactly once):$SPREAD"
pass "50 jobs submitted at once through nginx all COMPLETED with their own answer, each run exactly once (50 tool calls; by replica:$SPREAD)"

# --- 5. a replica killed mid-job ---
SLOW=()
for i in 1 2; do
  SLOW+=("$(api "${URL[b]}" POST /api/jobs '{"query":"Run the slow report","agent_ids":["fixture_tools"]}' | jq -r .job_id)")
done
for id in "${SLOW[@]}"; do
  for _ in $(seq 600); do
    [[ $(api "$LB" GET "/api/jobs/$id" | jq -r .status) == PROCESSING ]] && break
    sleep 0.05
  done
done
kill -9 "${PID[b]}"
wait "${PID[b]}" 2>/dev/null || true
failed=0
for id in "${SLOW[@]}"; do
  final=
  for _ in $(seq 600); do
    j=$(api "$LB" GET "/api/jobs/$id")
    status=$(jq -r .status <<<"$j")
    if [[ $status == FAILED || $status == COMPLETED ]]; then final=$j; break; fi
    sleep 0.05
  done
  [[ -n $final ]] || fail "job $id is still $(jq -r .status <<<"$j") after its replica was killed"
  if [[ $(jq -r .status <<<"$final") == FAILED ]]; then
    [[ $(jq -r .error <<<"$final") == *"replica running this job stopped"* ]] || fail "unclear error: $final"
    failed=$((failed + 1))
  fi
done
((failed > 0)) || fail "no job of the killed replica was failed"
pass "a replica killed mid-job: its $failed jobs FAILED ('interrupted: the service replica running this job stopped'), none left PROCESSING"
echo "$PASSED passed, 0 failed"
