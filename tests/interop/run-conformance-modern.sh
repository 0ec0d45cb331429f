#!/usr/bin/env bash
# Interop: score our mcp-conformance-server against the 2026-07-28 (stateless) requirement set of
# the official MCP conformance suite:
#
#   conformance 0.2.0-alpha.12: server --url http://localhost:PORT/mcp --requirements 2026-07-28
#
# Passes when the run exits 0, every scored scenario passed (the requirement set lists them; the
# runner reports the rest under "Not scored for 2026-07-28"), at least one scored scenario ran,
# and every tasks-* scenario (the io.modelcontextprotocol/tasks extension, which the requirement
# set leaves unscored) ran with 0 failed checks: at least IDP_CONFORMANCE_TASKS_MIN (9) of them.
# Other not-scored failures are listed but do not fail the test. Result files go to a temp dir
# (removed on exit; IDP_KEEP_TMP=1 keeps it).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_peers

# Hard limit: a healthy run takes seconds; a hung scenario costs the runner's own per-scenario
# timeout (30 s in alpha.12).
RUN_LIMIT=${IDP_CONFORMANCE_RUN_LIMIT:-240} # under the ctest TIMEOUT of 300 s

start_server PORT PID
URL=http://localhost:$PORT/mcp # the dns-rebinding scenario needs a localhost/127.0.0.1 URL
OUTDIR=$IDP_TMP/conformance-modern
OUT=$OUTDIR.log
mkdir -p "$OUTDIR"

log "conformance.sh --alpha server --url $URL --requirements 2026-07-28"
rc=0
t0=$SECONDS
run_bounded "$RUN_LIMIT" bash "$IDP_INTEROP_DIR/conformance.sh" --alpha server --url "$URL" \
  --requirements 2026-07-28 -o "$OUTDIR" >"$OUT" 2>&1 || rc=$?
secs=$((SECONDS - t0))

# The "=== SUMMARY ===" block: "✓ name: N passed, M failed" per scenario, the totals, then the
# "Not scored for 2026-07-28" list ("  ✗ name (reason)").
summary=$(sed -n '/^=== SUMMARY ===/,$p' "$OUT" | grep -v '^$' || true)
printf '%s\n' "$summary"
unscored=$(sed -n '/^Not scored for /,$p' "$OUT" | sed -nE 's/^  [^ ]+ ([^ ]+) \(.*\)$/\1/p' | sort -u)
scenario_lines=$(sed -n '/^=== SUMMARY ===/,/^Total: /p' "$OUT" | grep -E '^[^ ]+ [^ ]+: [0-9]+ passed, [0-9]+ failed' || true)

scored_passed=0
scored_failed=()
tasks_passed=0
tasks_failed=()
TASKS_MIN=${IDP_CONFORMANCE_TASKS_MIN:-9}
while IFS= read -r line; do
  [[ -n $line ]] || continue
  name=$(sed -E 's/^[^ ]+ ([^:]+): .*/\1/' <<<"$line")
  if [[ $name == tasks-* ]]; then
    if [[ $line =~ :\ ([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]] && ((BASH_REMATCH[2] == 0)); then
      tasks_passed=$((tasks_passed + 1))
    else
      tasks_failed+=("$name")
    fi
    continue
  fi
  grep -qxF "$name" <<<"$unscored" && continue
  if [[ $line =~ :\ ([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]] && ((BASH_REMATCH[2] == 0)); then
    scored_passed=$((scored_passed + 1))
  else
    scored_failed+=("$name")
  fi
done <<<"$scenario_lines"

ok=1
if ((rc != 0)); then
  log "exit code $rc (expected 0)$( ((rc == 124)) && echo " - killed after ${RUN_LIMIT}s")"
  ok=0
fi
if ((${#scored_failed[@]})); then
  log "scored scenarios with failures: ${scored_failed[*]}"
  ok=0
fi
if ((scored_passed == 0)); then
  log "no scored scenario passed (missing or unreadable summary)"
  ok=0
fi
if ((${#tasks_failed[@]})); then
  log "tasks-* scenarios with failures: ${tasks_failed[*]}"
  ok=0
fi
if ((tasks_passed < TASKS_MIN)); then
  log "only $tasks_passed tasks-* scenarios passed (at least $TASKS_MIN expected)"
  ok=0
fi
if ! server_alive "$PID"; then
  log "the server (pid $PID) is no longer running; its stderr:"
  server_log "$PID" 30 | sed 's/^/  /'
  ok=0
fi

# failing_checks DIR_GLOB: the FAILURE checks with their messages, from the checks.json files.
failing_checks() {
  local f dir
  for f in "$OUTDIR"/*/checks.json; do
    [[ -f $f ]] || continue
    dir=$(basename "$(dirname "$f")")
    jq -r --arg dir "$dir" \
      '.[] | select(.status == "FAILURE") | "  \($dir): [\(.id)] \(.errorMessage // .description)"' "$f" 2>/dev/null || true
  done
}

if ((ok == 0)); then
  log "failing checks:"
  failing_checks
  log "last 40 lines of the runner output:"
  tail -n 40 "$OUT" | sed 's/^/  /'
  fail "conformance 0.2.0-alpha.12 --requirements 2026-07-28 (${secs}s)"
fi
total=$(grep -E '^Total: [0-9]+ passed, [0-9]+ failed' "$OUT" | tail -n 1 || true)
unscored_failing=$(sed -n '/^Not scored for /,$p' "$OUT" | grep '^  ✗' | grep -vc ' tasks-' || true)
log "PASS - $scored_passed scored scenarios passed, 0 failed; tasks-*: $tasks_passed passed;" \
  "other not scored: $unscored_failing failing" \
  "(all runs: $total) (${secs}s)"
