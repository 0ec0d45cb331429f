#!/usr/bin/env bash
# bench/smoke.sh: the bench-smoke check of one benchmark (ctest label `bench-smoke`, registered by
# bench/CMakeLists.txt). It runs bench/NAME at a tiny size and checks the machinery, never a
# timing:
#
#   bench/smoke.sh NAME                   passes when the benchmark exits 0 and prints exactly one
#                                         `BENCH NAME ...` line, with rounds= and spread= and no
#                                         INVALID
#   bench/smoke.sh NAME --expect-invalid  passes when it exits with status 3 and prints
#                                         `BENCH NAME INVALID <why>` (for a run whose premise is
#                                         broken on purpose, e.g. BENCH_DISCOVERY_NO_DELAY=1)
#
# The tiny size: 2 rounds of 1 s runs and short warm-ups (the environment may override them).
# Needs what the benchmark needs (a build, nginx, wrk, the npm peers of scripts/install-deps.sh).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
name=${1:-}
expect=${2:-valid}
[[ -n $name && -x $here/$name && $name != *[!a-z_]* ]] || {
  echo "usage: bench/smoke.sh NAME [--expect-invalid]   (NAME: a benchmark script in bench/)" >&2
  exit 2
}
[[ $expect == valid || $expect == --expect-invalid ]] || {
  echo "bench/smoke.sh: the second argument can only be --expect-invalid, got '$expect'" >&2
  exit 2
}

export BENCH_ROUNDS=${BENCH_ROUNDS:-2}
export BENCH_DURATION=${BENCH_DURATION:-1}
export BENCH_WARMUP=${BENCH_WARMUP:-1}
export BENCH_CLIENT_WARMUP=${BENCH_CLIENT_WARMUP:-0.2}
export BENCH_SECONDS=${BENCH_SECONDS:-1}
export BENCH_SERVERS=${BENCH_SERVERS:-5}
export BENCH_DELAY_MS=${BENCH_DELAY_MS:-50}
export BENCH_SCALING_NS=${BENCH_SCALING_NS:-1}
export BENCH_SCALING_WARMUP=${BENCH_SCALING_WARMUP:-1}
export BENCH_USERS=${BENCH_USERS:-4}
export BENCH_MESSAGES=${BENCH_MESSAGES:-2}

out=$(mktemp "${TMPDIR:-/tmp}/bench-smoke-$name.XXXXXX")
trap 'rm -f "$out"' EXIT
"$here/$name" >"$out" 2>&1
status=$?
cat "$out"
mapfile -t lines < <(grep "^BENCH $name " "$out")
fail() {
  echo "bench-smoke $name: FAILED: $*" >&2
  exit 1
}
((${#lines[@]} == 1)) || fail "want exactly one 'BENCH $name' line, got ${#lines[@]} (exit status $status)"
line=${lines[0]}
if [[ $expect == valid ]]; then
  [[ $line != *INVALID* ]] || fail "the benchmark reported INVALID: $line"
  ((status == 0)) || fail "exit status $status, want 0"
  [[ " $line " =~ \ rounds=[1-9][0-9]*\  ]] || fail "no rounds= on the BENCH line: $line"
  [[ " $line " =~ \ spread=[0-9.]+-[0-9.]+\  ]] || fail "no spread=MIN-MAX on the BENCH line: $line"
  [[ $line =~ ^BENCH\ $name(\ [a-z0-9_]+=[^ =]+)+$ ]] || fail "the BENCH line is not all key=value pairs: $line"
else
  [[ $line == "BENCH $name INVALID "?* ]] || fail "want 'BENCH $name INVALID <why>', got: $line"
  ((status == 3)) || fail "exit status $status, want 3 (INVALID)"
fi
echo "bench-smoke $name: ok ($line)"
