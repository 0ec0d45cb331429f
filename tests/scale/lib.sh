# shellcheck shell=bash
# PostgreSQL 15 (Debian's) for the tests of the PostgreSQL store and the scale test (source it):
#
#   pg_start       initdb + postgres in a new temporary folder, listening on 127.0.0.1 only, on a
#                  free port (a random one is tried until one binds), as an unprivileged user
#                  (`nobody`) when run as root, since PostgreSQL refuses to run as root; sets
#                  PG_URL (postgresql://idp@127.0.0.1:PORT/postgres, trust auth on loopback),
#                  PG_PORT, PG_PID and PG_DIR
#   pg_stop        stops that server by its pid (fast shutdown) and removes its folder
#
# Needs the Debian packages postgresql-15 (scripts/install-deps.sh) and nothing else.
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_PID=
PG_DIR=

PG_AS_OWNER=()  # runs a command as the data folder's owner: nobody when we are root
[[ $(id -u) == 0 ]] && PG_AS_OWNER=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)

pg_start() {
  [[ -x $PG_BIN/postgres ]] || { echo "pg_start: $PG_BIN/postgres is missing: install postgresql-15" >&2; return 1; }
  PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/idp-pg.XXXXXX")
  chmod 755 "$PG_DIR"
  [[ $(id -u) == 0 ]] && chown nobody:nogroup "$PG_DIR"
  "${PG_AS_OWNER[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U idp --auth=trust -E UTF8 --no-sync \
    >"$PG_DIR/initdb.log" 2>&1 || { echo "pg_start: initdb failed: $(cat "$PG_DIR/initdb.log")" >&2; return 1; }
  local attempt
  for attempt in 1 2 3 4 5 6 7 8; do
    PG_PORT=$((20000 + RANDOM % 40000))
    # fsync off: a test server's data need not survive the machine; commits still are atomic.
    "${PG_AS_OWNER[@]}" "$PG_BIN/postgres" -D "$PG_DIR/data" -h 127.0.0.1 -p "$PG_PORT" -k "$PG_DIR" \
      -c fsync=off -c full_page_writes=off -c max_connections=200 -c log_min_messages=warning \
      >"$PG_DIR/server.log" 2>&1 &
    PG_PID=$!
    for _ in $(seq 300); do
      if ! kill -0 "$PG_PID" 2>/dev/null; then break; fi
      if pg_isready -q -h 127.0.0.1 -p "$PG_PORT" -U idp; then
        PG_URL="postgresql://idp@127.0.0.1:$PG_PORT/postgres"
        export PG_URL
        return 0
      fi
      sleep 0.05
    done
    kill "$PG_PID" 2>/dev/null || true
    wait "$PG_PID" 2>/dev/null || true
    PG_PID=
  done
  echo "pg_start: PostgreSQL did not start: $(tail -5 "$PG_DIR/server.log")" >&2
  return 1
}

pg_stop() {
  if [[ -n $PG_PID ]]; then
    kill -INT "$PG_PID" 2>/dev/null || true
    wait "$PG_PID" 2>/dev/null || true
    PG_PID=
  fi
  [[ -n $PG_DIR ]] && rm -rf "$PG_DIR"
  PG_DIR=
}

# nginx_start HOST:PORT...: the reverse proxy of tests/lib/nginx_proxy.sh (127.0.0.1, a free
# port, unbuffered streams, the next server when one refuses the connection, workers as nobody
# when we are root) in a temporary folder, round robin over the given servers. Sets NGINX_URL
# and NGINX_PID; nginx_stop stops it by pid and removes its folder.
# shellcheck source=tests/lib/nginx_proxy.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/nginx_proxy.sh"
NGINX_PID=
NGINX_DIR=
nginx_start() {
  NGINX_DIR=$(mktemp -d "${TMPDIR:-/tmp}/idp-nginx.XXXXXX")
  nginx_proxy_start "$NGINX_DIR" "" "$@" || return 1
  NGINX_PID=$NGINX_PROXY_PID
  NGINX_URL=$NGINX_PROXY_URL
}

nginx_stop() {
  nginx_proxy_stop
  NGINX_PID=
  [[ -n $NGINX_DIR ]] && rm -rf "$NGINX_DIR"
  NGINX_DIR=
}
