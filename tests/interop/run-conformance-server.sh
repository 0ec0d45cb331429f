#!/usr/bin/env bash
# Interop: score our mcp-conformance-server with the official MCP conformance suite.
#
#   1. conformance 0.1.16:        server --url http://localhost:PORT/mcp --suite all
#   2. conformance 0.2.0-alpha.12: server --url ... --requirements 2025-11-25
#
# Both runs hit the same server process and must exit 0 with a "Total: N passed, 0 failed"
# summary (N > 0). Result files go to a temp dir (removed on exit; IDP_KEEP_TMP=1 keeps it).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_peers

# Hard limit per conformance run: a healthy run takes seconds; a hung scenario costs the
# runner's own per-scenario timeout (60 s in 0.1.16, 30 s in alpha.12).
RUN_LIMIT=${IDP_CONFORMANCE_RUN_LIMIT:-130} # 2 runs x 130 s stays under the ctest TIMEOUT of 300 s

start_server PORT PID
URL=http://localhost:$PORT/mcp # the dns-rebinding scenario needs a localhost/127.0.0.1 URL

# print_failures OUTDIR: the FAILURE checks with their messages, from the checks.json files.
print_failures() {
  local f
  for f in "$1"/*/checks.json; do
    [[ -f $f ]] || continue
    jq -r --arg dir "$(basename "$(dirname "$f")")" \
      '.[] | select(.status == "FAILURE") | "  \($dir): [\(.id)] \(.errorMessage // .description)"' "$f" 2>/dev/null || true
  done
}

# run_suite LABEL OUTDIR CONFORMANCE_ARGS... -> sets TOTAL_LINE
run_suite() {
  local label=$1 outdir=$2
  shift 2
  mkdir -p "$outdir"
  local out=$outdir.log rc=0 t0=$SECONDS
  log "$label: conformance.sh $*"
  run_bounded "$RUN_LIMIT" bash "$IDP_INTEROP_DIR/conformance.sh" "$@" -o "$outdir" >"$out" 2>&1 || rc=$?
  local secs=$((SECONDS - t0))
  # The "=== SUMMARY ===" block: one line per scenario, then the totals.
  sed -n '/^=== SUMMARY ===/,$p' "$out" | grep -v '^$' || true
  TOTAL_LINE=$(grep -E '^Total: [0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1 || true)
  local ok=1
  if ((rc != 0)); then
    log "$label: exit code $rc (expected 0)$( ((rc == 124)) && echo " - killed after ${RUN_LIMIT}s")"
    ok=0
  fi
  if [[ ! $TOTAL_LINE =~ ^Total:\ ([0-9]+)\ passed,\ 0\ failed ]] || ((BASH_REMATCH[1] == 0)); then
    log "$label: bad or missing summary line: '${TOTAL_LINE:-<none>}' (expected 'Total: N passed, 0 failed', N > 0)"
    ok=0
  fi
  if ! server_alive "$PID"; then
    log "$label: the server (pid $PID) is no longer running; its stderr:"
    server_log "$PID" 30 | sed 's/^/  /'
    ok=0
  fi
  if ((ok == 0)); then
    log "$label: failing checks:"
    print_failures "$outdir"
    log "$label: last 40 lines of the runner output:"
    tail -n 40 "$out" | sed 's/^/  /'
    fail "$label (${secs}s)"
  fi
  log "$label: PASS - $TOTAL_LINE (${secs}s)"
}

run_suite "conformance 0.1.16 --suite all" "$IDP_TMP/conformance-0.1.16" \
  server --url "$URL" --suite all
TOTAL_STABLE=$TOTAL_LINE

run_suite "conformance 0.2.0-alpha.12 --requirements 2025-11-25" "$IDP_TMP/conformance-alpha" \
  --alpha server --url "$URL" --requirements 2025-11-25
TOTAL_ALPHA=$TOTAL_LINE

log "totals: 0.1.16 (--suite all): $TOTAL_STABLE"
log "totals: 0.2.0-alpha.12 (--requirements 2025-11-25): $TOTAL_ALPHA"
log "PASS"
