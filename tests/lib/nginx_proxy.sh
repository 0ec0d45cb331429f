# shellcheck shell=bash
# shellcheck disable=SC2034 # NGINX_PROXY_PID and NGINX_PROXY_URL are for the scripts that source it
# nginx as a reverse proxy in front of several replicas, for the scale tests and bench/scale_out
# (source it; needs nginx and curl). It runs from a folder of its own (nginx -p DIR), listens on
# 127.0.0.1 only, keeps its workers unprivileged when the caller is root (CI), and is stopped by
# its pid (nginx_proxy_stop). docs/deployment.md shows the same configuration for production.
#
#   nginx_proxy_start DIR BALANCE HOST:PORT...
#       writes DIR/nginx.conf (an upstream of the given servers; BALANCE is the upstream's
#       balancing line, e.g. "least_conn;" or "hash \$http_mcp_session_id consistent;", or empty
#       for round robin), starts nginx on a free port and waits until it answers. Sets
#       NGINX_PROXY_PID and NGINX_PROXY_URL (http://127.0.0.1:PORT, no trailing slash).
#   nginx_proxy_stop     stops it (TERM, then KILL after 5 s) and waits for it
#
# NGINX_PROXY_KEEPALIVE (default 64): idle connections to the upstreams nginx keeps per worker;
# 0: a new upstream connection per request (see "Restarting a replica" in docs/deployment.md).
#
# The proxy does what a streaming API needs: HTTP/1.1 with keep-alive to the upstreams, no
# buffering of responses (server-sent events arrive as they are written), long read timeouts,
# and the client's Host, Last-Event-ID and Mcp-Session-Id passed through. A request whose
# upstream refuses the connection goes to the next one; a POST that an upstream already received
# is never sent twice (nginx's default: no `non_idempotent`).

nginx_proxy_start() {
  local dir=$1 balance=$2 attempt port i user='' servers=''
  shift 2
  local s keepalive=${NGINX_PROXY_KEEPALIVE:-64} keepalive_line='' connection='""'
  [[ $keepalive =~ ^[0-9]+$ ]] || { echo "NGINX_PROXY_KEEPALIVE must be a number, got '$keepalive'" >&2; return 1; }
  if ((keepalive > 0)); then keepalive_line="keepalive $keepalive;"; else connection=close; fi
  for s in "$@"; do servers+="    server $s max_fails=1 fail_timeout=2s;"$'\n'; done
  mkdir -p "$dir"
  # As root nginx would run its workers as nobody; say so explicitly (Debian has no group "nobody").
  ((EUID != 0)) || user="user nobody $(id -gn nobody 2>/dev/null || echo nogroup);"
  for attempt in 1 2 3 4 5; do
    port=$(shuf -i 20000-32000 -n 1)  # below the ephemeral ports (32768-)
    cat >"$dir/nginx.conf" <<EOF
$user
daemon off;
master_process on;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  upstream replicas {
    $balance
$servers    $keepalive_line
  }
  server {
    listen 127.0.0.1:$port;
    client_max_body_size 8m;
    location / {
      proxy_pass http://replicas;
      proxy_http_version 1.1;
      proxy_set_header Connection $connection;
      proxy_set_header Host \$http_host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_read_timeout 3600s;
      proxy_next_upstream error timeout;
      proxy_connect_timeout 2s;
    }
  }
}
EOF
    nginx -p "$dir/" -e "$dir/error.log" -c "$dir/nginx.conf" >"$dir/nginx.out" 2>&1 &
    NGINX_PROXY_PID=$!
    for ((i = 0; i < 100; i++)); do
      kill -0 "$NGINX_PROXY_PID" 2>/dev/null || break
      if curl -s -o /dev/null -m 1 "http://127.0.0.1:$port/" 2>/dev/null; then
        NGINX_PROXY_URL=http://127.0.0.1:$port
        return 0
      fi
      sleep 0.05
    done
    nginx_proxy_stop
    echo "nginx_proxy_start: nginx did not start on port $port (attempt $attempt):" \
      "$(tail -n 3 "$dir/error.log" "$dir/nginx.out" 2>/dev/null | tr '\n' ' ')" >&2
  done
  return 1
}

nginx_proxy_stop() {
  local pid=${NGINX_PROXY_PID:-} i
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  NGINX_PROXY_PID=
}
