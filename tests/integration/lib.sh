# shellcheck shell=bash
# Shared by the integration scripts (source it): temp dir, servers stopped by pid on exit,
# PASS/FAIL lines with the closing "N passed, M failed" line ctest reads, and waiting for a line.
set -euo pipefail
BIN=${IDP_BIN_DIR:?IDP_BIN_DIR must point at build/bin}
TMP=$(mktemp -d)
PIDS=()
PASSED=0
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; echo "$PASSED passed, 1 failed"; exit 1; }
pass() { echo "PASS $*"; PASSED=$((PASSED + 1)); }
wait_line() {  # wait_line FILE REGEX: prints the first match (a 30 s guard against a hang)
  for _ in $(seq 600); do
    if grep -qE "$2" "$1" 2>/dev/null; then grep -oE "$2" "$1" | head -1; return 0; fi
    sleep 0.05
  done
  fail "no line matching '$2' in $1: $(cat "$1")"
}
