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

# nginx_start HOST:PORT...: nginx (Debian's nginx-light) on 127.0.0.1 and a free port, in a
# temporary folder, balancing round-robin over the given servers, streaming answers unbuffered
# (Server-Sent Events) and moving to the next server when one does not answer. Workers run as
# nobody when we are root. Sets NGINX_URL and NGINX_PID; nginx_stop stops it by pid.
NGINX_PID=
NGINX_DIR=
nginx_start() {
  NGINX_DIR=$(mktemp -d "${TMPDIR:-/tmp}/idp-nginx.XXXXXX")
  chmod 755 "$NGINX_DIR"
  mkdir -p "$NGINX_DIR/tmp"
  local user_line='' servers='' s attempt
  if [[ $(id -u) == 0 ]]; then
    user_line='user nobody nogroup;'
    chown nobody:nogroup "$NGINX_DIR/tmp"
  fi
  for s in "$@"; do servers+="    server $s max_fails=1 fail_timeout=2s;"$'\n'; done
  for attempt in 1 2 3 4 5 6 7 8; do
    local port=$((20000 + RANDOM % 40000))
    cat >"$NGINX_DIR/nginx.conf" <<CONF
$user_line
worker_processes 1;
pid nginx.pid;
error_log error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path tmp/body;
  proxy_temp_path tmp/proxy;
  fastcgi_temp_path tmp/fastcgi;
  uwsgi_temp_path tmp/uwsgi;
  scgi_temp_path tmp/scgi;
  upstream replicas {
$servers    keepalive 16;
  }
  server {
    listen 127.0.0.1:$port;
    location / {
      proxy_pass http://replicas;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_read_timeout 300s;
      proxy_connect_timeout 2s;
      proxy_next_upstream error timeout;
    }
  }
}
CONF
    nginx -p "$NGINX_DIR" -c nginx.conf -g 'daemon off;' 2>>"$NGINX_DIR/stderr.log" &
    NGINX_PID=$!
    for _ in $(seq 200); do
      if ! kill -0 "$NGINX_PID" 2>/dev/null; then break; fi
      if curl -s -o /dev/null "http://127.0.0.1:$port/healthz"; then
        NGINX_URL="http://127.0.0.1:$port"
        return 0
      fi
      sleep 0.05
    done
    kill "$NGINX_PID" 2>/dev/null || true
    wait "$NGINX_PID" 2>/dev/null || true
    NGINX_PID=
  done
  echo "nginx_start: nginx did not start: $(cat "$NGINX_DIR/stderr.log" "$NGINX_DIR/error.log" 2>/dev/null | tail -5)" >&2
  return 1
}

nginx_stop() {
  if [[ -n $NGINX_PID ]]; then
    kill -QUIT "$NGINX_PID" 2>/dev/null || true
    wait "$NGINX_PID" 2>/dev/null || true
    NGINX_PID=
  fi
  [[ -n $NGINX_DIR ]] && rm -rf "$NGINX_DIR"
  NGINX_DIR=
}
