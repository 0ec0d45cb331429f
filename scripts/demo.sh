#!/usr/bin/env bash
# The demo: starts the MCP fixture server on 127.0.0.1, then, as an MCP client would over
# Streamable HTTP, initializes a session, lists the tools and calls one. The server keeps
# running until Ctrl-C (or exits at once with --once, as the test of this script does).
#
#   scripts/demo.sh [--once] [--port P]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${IDP_BIN_DIR:-$ROOT/build/bin}
ONCE=0
PORT=0
while (($#)); do
  case $1 in
    --once) ONCE=1 ;;
    --port) PORT=$2; shift ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "demo: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ -x $BIN/mcp-conformance-server ]] || { echo "demo: $BIN/mcp-conformance-server is missing; run 'make build'" >&2; exit 1; }
command -v jq >/dev/null || { echo "demo: jq is missing; run 'make deps'" >&2; exit 1; }

OUT=$(mktemp)
"$BIN/mcp-conformance-server" --port "$PORT" --log-level warn >"$OUT" &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -f "$OUT"' EXIT
for _ in $(seq 100); do
  grep -q '^listening on ' "$OUT" && break
  kill -0 $PID 2>/dev/null || { echo "demo: the server did not start" >&2; exit 1; }
  sleep 0.05
done
URL=$(sed -n 's/^listening on //p' "$OUT" | head -1)
[[ -n $URL ]] || { echo "demo: the server did not report its address" >&2; exit 1; }

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
H=(-sS -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream')

say "MCP server (idp::mcp SDK) listening on $URL"
HDRS=$(mktemp)
curl "${H[@]}" -D "$HDRS" -o /dev/null "$URL" \
  -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"demo","version":"1"}}}'
SID=$(awk 'tolower($1)=="mcp-session-id:" {print $2}' "$HDRS" | tr -d '\r')
rm -f "$HDRS"
[[ -n $SID ]] || { echo "demo: initialize returned no Mcp-Session-Id" >&2; exit 1; }
S=(-H "Mcp-Session-Id: $SID" -H 'MCP-Protocol-Version: 2025-11-25')
curl "${H[@]}" "${S[@]}" -o /dev/null "$URL" -d '{"jsonrpc":"2.0","method":"notifications/initialized"}'
echo "session ${SID:0:8}... initialized (protocol 2025-11-25)"

say "tools/list"
curl "${H[@]}" "${S[@]}" "$URL" -d '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' |
  jq -r '.result.tools[] | "  \(.name)\t\(.description // "")"' | column -t -s $'\t'

say "tools/call add {a: 2, b: 40}"
curl "${H[@]}" "${S[@]}" "$URL" \
  -d '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"add","arguments":{"a":2,"b":40}}}' |
  jq -c '.result | {text: .content[0].text, structuredContent, isError: (.isError // false)}'

say "tools/call add {a: \"two\"} (rejected by the input schema)"
curl "${H[@]}" "${S[@]}" "$URL" \
  -d '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"add","arguments":{"a":"two"}}}' |
  jq -r '.result.content[0].text'

if ((ONCE)); then exit 0; fi
say "The server stays up at $URL (session $SID). Press Ctrl-C to stop it."
echo "Try: tests/interop/inspector1.sh $URL --transport http --method tools/list"
wait $PID
