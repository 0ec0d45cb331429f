#!/usr/bin/env bash
# Interop: score our MCP client (build/bin/mcp-conformance-client, tests/fixtures/conformance_client.cc)
# with the official conformance suite 0.1.16, one client scenario at a time:
#
#   conformance.sh client --command "$IDP_BIN/mcp-conformance-client" --scenario S
#   S = initialize, tools_call, elicitation-sep1034-client-defaults, sse-retry
#
# or, with IDP_CONFORMANCE_SCENARIOS set (space-separated), those scenarios
# (run-client-conformance-auth.sh: every auth/* scenario).
#
# The runner starts a mock server per scenario (on 127.0.0.1: conformance.sh preloads
# force-loopback.cjs) and launches the client with the server URL as its last argument. Each
# scenario must exit 0 with "Passed: P/T, 0 failed" (P > 0). Every scenario runs even when an
# earlier one failed; the last line is the totals.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_peers

CLIENT=${IDP_CONFORMANCE_CLIENT:-$IDP_BIN/mcp-conformance-client}
[[ -x $CLIENT ]] || { log "$CLIENT not found: build it (ninja -C build mcp-conformance-client) or set IDP_BIN_DIR"; exit 2; }
# The runner splits --command on spaces, without quoting.
[[ $CLIENT != *" "* ]] || { log "the client path contains a space, which conformance --command cannot take: $CLIENT"; exit 2; }

SCENARIO_LIMIT=${IDP_CONFORMANCE_SCENARIO_LIMIT:-60} # the runner kills a client after 30 s; 4 x 60 s < 300 s

read -r -a scenarios <<<"${IDP_CONFORMANCE_SCENARIOS:-initialize tools_call elicitation-sep1034-client-defaults sse-retry}"
sum_passed=0
sum_total=0
sum_failed=0
sum_warnings=0
bad=0
summary=()

for s in "${scenarios[@]}"; do
  outdir=$IDP_TMP/conformance-${s//\//-}
  out=$outdir.log
  mkdir -p "$outdir"
  rc=0
  t0=$SECONDS
  log "--- $s: conformance.sh client --command $CLIENT --scenario $s"
  run_bounded "$SCENARIO_LIMIT" bash "$IDP_INTEROP_DIR/conformance.sh" client --command "$CLIENT" \
    --scenario "$s" -o "$outdir" >"$out" 2>&1 || rc=$?
  secs=$((SECONDS - t0))
  # Strip colours; keep the check lines and the result line.
  plain=$(sed 's/\x1b\[[0-9;]*m//g' "$out")
  grep -E '\] +(SUCCESS|FAILURE|WARNING) ' <<<"$plain" | sed -E 's/^[0-9TZ:.-]+ +//; s/^/  /' || true
  line=$(grep -E '^Passed: [0-9]+/[0-9]+, [0-9]+ failed, [0-9]+ warnings' <<<"$plain" | tail -n 1 || true)
  ok=1
  if [[ $line =~ ^Passed:\ ([0-9]+)/([0-9]+),\ ([0-9]+)\ failed,\ ([0-9]+)\ warnings ]]; then
    p=${BASH_REMATCH[1]} t=${BASH_REMATCH[2]} f=${BASH_REMATCH[3]} w=${BASH_REMATCH[4]}
    sum_passed=$((sum_passed + p))
    sum_total=$((sum_total + t))
    sum_failed=$((sum_failed + f))
    sum_warnings=$((sum_warnings + w))
    ((f == 0 && p > 0)) || ok=0
  else
    line="no 'Passed: P/T, F failed, W warnings' line"
    ok=0
  fi
  ((rc == 0)) || ok=0
  if ((ok)); then
    summary+=("PASS  $s: $line (${secs}s)")
  else
    bad=1
    summary+=("FAIL  $s: $line, exit $rc$( ((rc == 124)) && echo " (killed after ${SCENARIO_LIMIT}s)") (${secs}s)")
    log "$s: last 40 lines of the runner output:"
    tail -n 40 <<<"$plain" | sed 's/^/  /'
    for f in "$outdir"/*/stderr.txt "$outdir"/*/*/stderr.txt; do
      [[ -s $f ]] || continue
      log "$s: client stderr:"
      tail -n 20 "$f" | sed 's/^/  /'
    done
  fi
done

log "summary:"
printf '  %s\n' "${summary[@]}"
echo "Total: $sum_passed/$sum_total checks passed, $sum_failed failed, $sum_warnings warnings (${#scenarios[@]} scenarios)"
((bad == 0)) || fail "conformance client scenarios"
log "PASS"
