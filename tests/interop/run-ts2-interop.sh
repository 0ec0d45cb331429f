#!/usr/bin/env bash
# Interop, client direction, MCP 2026-07-28 and its fallback: our client (idp-agents tools/call,
# and mcp-conformance-client for the multi round-trip hooks) against
#
#   ts2     tests/interop/ts2-server.mjs: the TypeScript SDK v2 (2.4.0) server, both eras on one
#           endpoint. Auto must negotiate 2026-07-28 (server/discover, Mcp-Method/Mcp-Name,
#           Mcp-Param-* for x-mcp-header, MRTR elicitation + sampling through the client's
#           hooks); --protocol-era legacy must work over initialize (2025-11-25).
#   ours    build/bin/mcp-conformance-server: auto reports a consistent era (2026-07-28 modern,
#           or 2025-11-25 legacy for a server that does not answer server/discover); legacy works.
#   ts1     tests/interop/ts-server.mjs: the TypeScript SDK 1.32.2 server (2025 era only): auto
#           falls back to 2025-11-25; --protocol-era modern fails with a clear error.
#   alpha   the 2026-07-28 client scenarios of the conformance suite 0.2.0-alpha.12 (request
#           metadata, MRTR request state, standard and custom headers, invalid x-mcp-header
#           tools, JSON Schema handling, tools_call) against mcp-conformance-client.
#
# The server logs of ts2-server.mjs (one line per POST: method, era, MCP-Protocol-Version,
# Mcp-Method, Mcp-Name, Mcp-Param-Region) show what went over the wire. Every check runs even
# when an earlier one failed; the last line is "N passed, M failed"; exit 1 when any failed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_peers

CLI=$IDP_BIN/idp-agents
CLIENT=$IDP_BIN/mcp-conformance-client
for f in "$CLI" "$CLIENT"; do
  [[ -x $f ]] || { log "$f not found: build it (cmake --build build) or set IDP_BIN_DIR"; exit 2; }
done
[[ -f $IDP_PEERS/peers-v2/node_modules/@modelcontextprotocol/server/package.json ]] ||
  { log "the TypeScript SDK v2 is not installed in $IDP_PEERS/peers-v2: run scripts/install-deps.sh"; exit 2; }
[[ $CLIENT != *" "* ]] || { log "the client path contains a space, which conformance --command cannot take"; exit 2; }

# From here on a failed condition is a failed check, not the end of the script.
set +e

passed=0
failed=0
check() { # check NAME COND-EXIT-STATUS [detail]
  local name=$1 ok=$2 detail=${3:-}
  if [[ $ok == 0 ]]; then
    passed=$((passed + 1))
    log "ok    $name"
  else
    failed=$((failed + 1))
    log "FAIL  $name${detail:+: $detail}"
  fi
}
has() { grep -qF -- "$2" <<<"$1"; } # has TEXT NEEDLE

# run_cli VAR_OUT VAR_RC args...: idp-agents with a time limit; stdout+stderr captured.
run_cli() {
  local -n _rc_out=$1 _rc_rc=$2
  shift 2
  _rc_rc=0
  _rc_out=$(run_bounded 60 "$CLI" "$@" 2>&1) || _rc_rc=$?
}

# new_log_lines FILE FROM: the lines of FILE after line FROM.
new_log_lines() { tail -n +"$(($2 + 1))" "$1"; }
lines() { wc -l <"$1"; }

# ---- ts2: TypeScript SDK v2, both eras --------------------------------------------------------
start_node_server TS2 TS2_LOG "$IDP_INTEROP_DIR/ts2-server.mjs"

from=$(lines "$TS2_LOG")
run_cli out rc tools "$TS2"
wire=$(new_log_lines "$TS2_LOG" "$from")
check "ts2 auto: tools exits 0" "$rc" "$out"
has "$out" "ts2-interop-server 2.4.0 (MCP 2026-07-28, modern era), 5 tools"; check "ts2 auto: negotiated 2026-07-28" $? "$(head -n 1 <<<"$out")"
has "$wire" "method=server/discover era=modern version=2026-07-28 mcp-method=server/discover"; check "ts2 auto: server/discover with MCP-Protocol-Version and Mcp-Method" $? "$wire"
has "$wire" "method=tools/list era=modern version=2026-07-28 mcp-method=tools/list"; check "ts2 auto: tools/list in the modern era" $? "$wire"
! has "$wire" "method=initialize"; check "ts2 auto: no initialize" $? "$wire"

run_cli out rc tools "$TS2" --json
names=$("$IDP_NODE" -e 'const j=JSON.parse(require("fs").readFileSync(0,"utf8"));console.log(Object.keys(j).join()+":"+j.tools.map(t=>t.name).join())' <<<"$out" 2>&1 || true)
[[ $rc == 0 && $names == "tools:echo,add,confirm_add,two_step,region" ]]; check "ts2 auto: tools --json is {\"tools\":[...]}" $? "$names"

from=$(lines "$TS2_LOG")
run_cli out rc call "$TS2" add --arg a=2 --arg b=40
wire=$(new_log_lines "$TS2_LOG" "$from")
[[ $rc == 0 && $(head -n 1 <<<"$out") == 42 ]]; check "ts2 auto: call add a=2 b=40 -> 42" $? "rc=$rc $out"
has "$wire" "method=tools/call era=modern version=2026-07-28 mcp-method=tools/call mcp-name=add"; check "ts2 auto: tools/call carries Mcp-Name" $? "$wire"

run_cli out rc call "$TS2" echo --arg message=hi
[[ $rc == 0 && $out == hi ]]; check "ts2 auto: call echo" $? "rc=$rc $out"

from=$(lines "$TS2_LOG")
run_cli out rc call "$TS2" region --arg region=Zürich
wire=$(new_log_lines "$TS2_LOG" "$from")
[[ $rc == 0 && $out == "region=Zürich" ]]; check "ts2 auto: x-mcp-header tool (the server checks Mcp-Param-Region)" $? "rc=$rc $out"
has "$wire" "mcp-param-region==?base64?WsO8cmljaA==?="; check "ts2 auto: Mcp-Param-Region is base64 for non-ASCII" $? "$wire"

from=$(lines "$TS2_LOG")
ctx='{"toolCalls":[{"name":"confirm_add","arguments":{"a":1,"b":2}},{"name":"two_step","arguments":{}}]}'
rc=0
out=$(MCP_CONFORMANCE_SCENARIO=ts2 MCP_CONFORMANCE_CONTEXT=$ctx run_bounded 60 "$CLIENT" "$TS2" 2>&1) || rc=$?
wire=$(new_log_lines "$TS2_LOG" "$from")
[[ $rc == 0 ]] && has "$out" '"text":"confirmed: 3"'; check "ts2 MRTR: elicitation through the hook (confirm_add)" $? "$out"
[[ $rc == 0 ]] && has "$out" '"text":"idp: ok"'; check "ts2 MRTR: two rounds, elicitation then sampling with requestState (two_step)" $? "$out"
has "$wire" "mcp-name=two_step mcp-param-region=- session=- params=_meta,arguments,inputResponses,name,requestState"; check "ts2 MRTR: the retry carries inputResponses and requestState" $? "$wire"

from=$(lines "$TS2_LOG")
run_cli out rc tools "$TS2" --protocol-era legacy
wire=$(new_log_lines "$TS2_LOG" "$from")
[[ $rc == 0 ]] && has "$out" "ts2-interop-server 2.4.0 (MCP 2025-11-25, legacy era), 5 tools"; check "ts2 legacy: tools over initialize (2025-11-25)" $? "rc=$rc $(head -n 1 <<<"$out")"
has "$wire" "method=initialize era=legacy" && ! has "$wire" "server/discover"; check "ts2 legacy: initialize, no server/discover" $? "$wire"
run_cli out rc call "$TS2" add --arg a=2 --arg b=40 --protocol-era legacy
[[ $rc == 0 && $(head -n 1 <<<"$out") == 42 ]]; check "ts2 legacy: call add -> 42" $? "rc=$rc $out"

# ---- ours: mcp-conformance-server ---------------------------------------------------------------
start_server OURS_PORT OURS_PID
OURS=http://127.0.0.1:$OURS_PORT/mcp
run_cli out rc tools "$OURS"
first=$(head -n 1 <<<"$out")
[[ $rc == 0 && ($first == *"(MCP 2026-07-28, modern era)"* || $first == *"(MCP 2025-11-25, legacy era)"*) ]]
check "ours auto: tools in a consistent era ($first)" $? "rc=$rc $out"
run_cli out rc call "$OURS" test_simple_text
[[ $rc == 0 && $out == "This is a simple text response for testing." ]]; check "ours auto: call" $? "rc=$rc $out"
run_cli out rc tools "$OURS" --protocol-era legacy
[[ $rc == 0 && $(head -n 1 <<<"$out") == *"(MCP 2025-11-25, legacy era)"* ]]; check "ours legacy: tools" $? "rc=$rc $out"

# ---- ts1: TypeScript SDK 1.32.2, 2025 era only ------------------------------------------------
start_node_server TS1 TS1_LOG "$IDP_INTEROP_DIR/ts-server.mjs"
run_cli out rc tools "$TS1"
[[ $rc == 0 && $(head -n 1 <<<"$out") == *"(MCP 2025-11-25, legacy era)"* ]]; check "ts1 auto: falls back to 2025-11-25" $? "rc=$rc $(head -n 1 <<<"$out")"
run_cli out rc call "$TS1" add --arg a=2 --arg b=40
[[ $rc == 0 && $(head -n 1 <<<"$out") == 42 ]]; check "ts1 auto: call add -> 42" $? "rc=$rc $out"
run_cli out rc tools "$TS1" --protocol-era modern
[[ $rc == 1 ]] && has "$out" "2026-07-28"; check "ts1 modern: a clear error" $? "rc=$rc $out"

# ---- alpha: the conformance suite's 2026-07-28 client scenarios --------------------------------
for s in request-metadata sep-2322-client-request-state http-standard-headers http-custom-headers \
         http-invalid-tool-headers json-schema-ref-no-deref json-schema-2020-12-preservation tools_call; do
  rc=0
  out=$(run_bounded 90 bash "$IDP_INTEROP_DIR/conformance.sh" --alpha client --command "$CLIENT" --scenario "$s" \
          --spec-version 2026-07-28 -o "$IDP_TMP/alpha-$s" 2>&1) || rc=$?
  line=$(sed 's/\x1b\[[0-9;]*m//g' <<<"$out" | grep -E '^Passed: [0-9]+/[0-9]+, [0-9]+ failed' | tail -n 1 || true)
  [[ $rc == 0 && $line =~ ^Passed:\ ([0-9]+)/([0-9]+),\ 0\ failed && ${BASH_REMATCH[1]} == "${BASH_REMATCH[2]}" &&
     ${BASH_REMATCH[1]} -gt 0 ]]
  check "alpha $s: ${line:-no result line}" $? "$(sed 's/\x1b\[[0-9;]*m//g' <<<"$out" | grep -E 'FAILURE|rror' | head -n 5)"
done

echo "$passed passed, $failed failed"
((failed == 0)) || fail "ts2 interop"
log "PASS"
