#!/usr/bin/env bash
# Our MCP server (mcp-conformance-server) in both protocol eras, driven by third-party v2 peers:
#  - the TypeScript SDK v2 client (ts2-client.mjs): 2026-07-28 pinned (server/discover, no
#    session) and the 2025-11-25 legacy era: connect, tools/list, tools/call;
#  - MCP Inspector v2 (@modelcontextprotocol/inspector 2.12.0, Node 22) with --protocol-era
#    modern and legacy: tools/list and tools/call.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_peers
V2=$IDP_PEERS/peers-v2/node_modules
[[ -f $V2/@modelcontextprotocol/client/package.json && -f $V2/@modelcontextprotocol/inspector/package.json ]] ||
  { log "the v2 peers are not installed: run scripts/install-deps.sh"; exit 2; }
start_server PORT PID
URL=http://127.0.0.1:$PORT/mcp

for era in modern legacy; do
  out=$("$IDP_NODE" "$IDP_INTEROP_DIR/ts2-client.mjs" "$URL" "$era" 2>&1) || { echo "$out" >&2; fail "TS SDK v2 client, $era era"; }
  sed 's/^/  /' <<<"$out"
  log "PASS TS SDK v2 client, $era era: $(grep -c '^ok' <<<"$out") checks"
done

# Inspector v2 keeps state under $HOME: give it a private one.
export HOME=$IDP_TMP/inspector-home
mkdir -p "$HOME"
INSPECTOR_BIN=$(cd "$V2/.bin" && readlink -f mcp-inspector)
inspector() { "$IDP_NODE" "$INSPECTOR_BIN" --cli "$URL" --format json -q "$@"; }
for era in modern legacy; do
  out=$(inspector --protocol-era "$era" --method tools/list 2>&1) || fail "Inspector v2 tools/list ($era): $out"
  n=$(jq '.result.tools | length' <<<"$out" 2>/dev/null) || fail "Inspector v2 tools/list ($era) output: ${out:0:400}"
  jq -e '.result.tools | map(.name) | index("add")' <<<"$out" >/dev/null || fail "Inspector v2 ($era): no add tool"
  out=$(inspector --protocol-era "$era" --method tools/call --tool-name add --tool-args-json '{"a":2,"b":40}' 2>&1) ||
    fail "Inspector v2 tools/call ($era): $out"
  [[ $(jq -r '.result.content[0].text' <<<"$out") == 42 ]] || fail "Inspector v2 tools/call ($era): $out"
  log "PASS Inspector v2 --protocol-era $era: tools/list ($n tools) and tools/call add = 42"
done
