#!/usr/bin/env bash
# The systemd units in deploy/ (docs/deployment.md) start our binaries as written: for each unit,
#   - `systemd-analyze verify` finds nothing to say about it (unknown keys, bad values), with the
#     binary's path pointed at this build (skipped, and said, where systemd-analyze is missing);
#   - every ${VAR} of its ExecStart is set in its deploy/*.env.example;
#   - its ExecStart, with %i, %S and %L expanded, the binary taken from this build and the
#     example's settings (only the ones that would reach AWS replaced by local ones), starts: the
#     binary accepts every flag, listens, answers /healthz, and stops with status 0 on SIGTERM.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/cognito.sh"
DEPLOY=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../deploy" && pwd)

"$BIN/idp-agents" local-cognito --port 0 --data "$TMP/cognito" >"$TMP/cognito.out" 2>&1 &
PIDS+=($!)
COG=$(wait_line "$TMP/cognito.out" 'http://127\.0\.0\.1:[0-9]+')
cognito_pool "$COG" deploy web-user 'Dep10y!Units-Pass' || fail "pool setup"
# One agent at a closed loopback port: the service starts and reports it unreachable.
echo '[{"mcp_url":"http://127.0.0.1:9/mcp","agent_name":"Closed","agent_description":"Nothing listens.","auth":{"type":"none"}}]' >"$TMP/secret.json"
chmod 600 "$TMP/secret.json"
mkdir -p "$TMP/state" "$TMP/logs"

# Settings that would reach AWS, replaced by local ones (everything else is the example's).
declare -A LOCAL=(
  [IDP_USER_POOL_ID]=$COG_POOL [IDP_USER_CLIENT_ID]=$COG_CLIENT
  [IDP_SECRET]=file://$TMP/secret.json [IDP_STORE]=sqlite:$TMP/state/idp-agents.db [IDP_MODEL]=offline
)
# Extra flags for the local identity provider (the units talk to AWS Cognito).
declare -A EXTRA=([idp-agents]="--cognito-endpoint $COG/" [idp-mcp-server]="")

exec_start() {  # UNIT: the ExecStart command line, continuation lines joined
  awk '/^ExecStart=/ { on = 1; sub(/^ExecStart=/, "") }
       on { cont = sub(/\\$/, ""); printf "%s ", $0; if (!cont) exit }' "$1"
}

for unit in "$DEPLOY"/*.service; do
  name=$(basename "$unit" .service)
  prog=${name%@}
  envfile=$DEPLOY/$prog.env.example
  [[ -f $envfile ]] || fail "$name: no $envfile"
  read -ra words <<<"$(exec_start "$unit")"
  ((${#words[@]} > 1)) || fail "$name: no ExecStart"
  [[ ${words[0]} == /usr/local/bin/$prog ]] || fail "$name: ExecStart runs ${words[0]}, not /usr/local/bin/$prog"

  if command -v systemd-analyze >/dev/null; then
    sed "s|/usr/local/bin/$prog|$BIN/$prog|" "$unit" >"$TMP/$prog@8080.service"
    said=$(cd "$TMP" && systemd-analyze verify "$TMP/$prog@8080.service" 2>&1) || fail "$name: systemd-analyze verify failed: $said"
    [[ -z $said ]] || fail "$name: systemd-analyze verify: $said"
  else
    echo "note: systemd-analyze not found, $name not verified by systemd"
  fi

  # The environment systemd would give it: the example's settings, with LOCAL replacing some.
  declare -A SET=()
  while IFS= read -r line; do
    [[ $line =~ ^([A-Z_][A-Z0-9_]*)=(.*)$ ]] || continue
    SET[${BASH_REMATCH[1]}]=${LOCAL[${BASH_REMATCH[1]}]:-${BASH_REMATCH[2]}}
  done <"$envfile"
  cmd=("$BIN/$prog")
  for w in "${words[@]:1}"; do
    w=${w//%i/0}  # the instance is the port: 0, any free one
    w=${w//%S/$TMP/state}
    w=${w//%L/$TMP/logs}
    while [[ $w =~ \$\{([A-Za-z_][A-Za-z0-9_]*)\} ]]; do
      var=${BASH_REMATCH[1]}
      [[ -v SET[$var] ]] || fail "$name: ExecStart uses \${$var}, which $(basename "$envfile") does not set"
      w=${w//"\${$var}"/${SET[$var]}}
    done
    [[ $w != *%* ]] || fail "$name: a specifier this test does not expand: $w"
    cmd+=("$w")
  done
  read -ra extra <<<"${EXTRA[$prog]}"
  envs=()
  for k in "${!SET[@]}"; do envs+=("$k=${SET[$k]}"); done
  mkdir -p "$TMP/state/$prog" "$TMP/logs/$prog"
  env -i PATH=/usr/bin:/bin HOME="$TMP" "${envs[@]}" "${cmd[@]}" "${extra[@]}" >"$TMP/$prog.out" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  url=$(wait_line "$TMP/$prog.out" 'listening on http://127\.0\.0\.1:[0-9]+' | cut -d' ' -f3)
  code=$(curl -sS -o /dev/null -w '%{http_code}' "$url/healthz") || true
  [[ $code == 200 ]] || fail "$name: /healthz answered '$code': $(tail -c 2000 "$TMP/$prog.out")"
  kill -TERM "$pid"
  rc=0
  wait "$pid" || rc=$?
  ((rc == 0)) || fail "$name: exit status $rc after SIGTERM: $(tail -c 2000 "$TMP/$prog.out")"
  unset SET
  pass "$name: ExecStart's flags accepted ($((${#cmd[@]} - 1)) arguments), it listens, answers /healthz and stops on SIGTERM"
done
echo "$PASSED passed, 0 failed"
