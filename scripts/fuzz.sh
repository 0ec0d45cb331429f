#!/usr/bin/env bash
# Runs libFuzzer fuzz targets one after another (what `make fuzz` does; docs/fuzzing.md).
#
#   FUZZ_BIN=build-fuzz/bin FUZZ_WORK=build-fuzz FUZZ_SECONDS=60 scripts/fuzz.sh [TARGET...]
#
# Each target starts from its committed seeds (fuzz/corpus/<target>) and its working corpus
# (FUZZ_WORK/corpus/<target>, where new inputs go: the committed seeds are never written), with
# its dictionary (fuzz/dict/<target>.dict). A crash, leak or timeout leaves its input in
# FUZZ_WORK/artifacts/. FUZZ_JOBS=N runs N targets at once; FUZZ_ARGS adds libFuzzer flags.
# Prints one line per target, then fails when any target found something:
#   FUZZ target=jwt seconds=60 execs=123456 cov=812 ft=2301 corpus=140 crashes=0
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FUZZ_BIN=${FUZZ_BIN:-$REPO_ROOT/build-fuzz/bin}
FUZZ_WORK=${FUZZ_WORK:-$REPO_ROOT/build-fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_JOBS=${FUZZ_JOBS:-1}
FUZZ_ARGS=${FUZZ_ARGS:-}

die() { printf 'fuzz: error: %s\n' "$*" >&2; exit 1; }
[[ $FUZZ_SECONDS =~ ^[0-9]+$ && $FUZZ_SECONDS -gt 0 ]] || die "FUZZ_SECONDS must be a positive number of seconds, not '$FUZZ_SECONDS'"
[[ $FUZZ_JOBS =~ ^[0-9]+$ && $FUZZ_JOBS -gt 0 ]] || die "FUZZ_JOBS must be a positive number, not '$FUZZ_JOBS'"

targets=("$@")
if ((${#targets[@]} == 0)); then
  for f in "$REPO_ROOT"/fuzz/targets/*_fuzz.cc; do
    n=$(basename "$f" _fuzz.cc)
    targets+=("$n")
  done
fi
for t in "${targets[@]}"; do
  [[ -x $FUZZ_BIN/fuzz-$t ]] || die "$FUZZ_BIN/fuzz-$t is missing (build it: make fuzz, or cmake --build build-fuzz --target fuzz-$t)"
done

mkdir -p "$FUZZ_WORK/logs" "$FUZZ_WORK/artifacts"

# Stack traces need llvm-symbolizer: clang 16's own when installed (package llvm-16), else any.
if [[ -z ${ASAN_SYMBOLIZER_PATH:-} ]]; then
  for s in /usr/lib/llvm-16/bin/llvm-symbolizer "$(command -v llvm-symbolizer || true)"; do
    if [[ -n $s && -x $s ]]; then
      export ASAN_SYMBOLIZER_PATH=$s
      break
    fi
  done
fi

run_one() {
  local t=$1
  local corpus=$FUZZ_WORK/corpus/$t log=$FUZZ_WORK/logs/$t.log
  local args=(-max_total_time="$FUZZ_SECONDS" -print_final_stats=1 -timeout=30 -rss_limit_mb=4096
    -artifact_prefix="$FUZZ_WORK/artifacts/$t-")
  [[ -f $REPO_ROOT/fuzz/dict/$t.dict ]] && args+=(-dict="$REPO_ROOT/fuzz/dict/$t.dict")
  mkdir -p "$corpus"
  # shellcheck disable=SC2086
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "$FUZZ_BIN/fuzz-$t" "${args[@]}" $FUZZ_ARGS "$corpus" "$REPO_ROOT/fuzz/corpus/$t" >"$log" 2>&1
}

summary() {
  local t=$1 rc=$2 log=$FUZZ_WORK/logs/$1.log
  local execs cov ft corpus crashes
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  corpus=$(find "$FUZZ_WORK/corpus/$t" -type f | wc -l)
  crashes=$(find "$FUZZ_WORK/artifacts" -name "$t-*" -type f | wc -l)
  printf 'FUZZ target=%s seconds=%s execs=%s cov=%s ft=%s corpus=%s crashes=%s exit=%s\n' \
    "$t" "$FUZZ_SECONDS" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$corpus" "$crashes" "$rc"
}

declare -A rcs=()
pending=("${targets[@]}")
while ((${#pending[@]})); do
  batch=("${pending[@]:0:FUZZ_JOBS}")
  pending=("${pending[@]:FUZZ_JOBS}")
  declare -A pids=()
  for t in "${batch[@]}"; do
    echo "fuzz: $t for ${FUZZ_SECONDS}s (log: $FUZZ_WORK/logs/$t.log)"
    run_one "$t" &
    pids[$t]=$!
  done
  for t in "${batch[@]}"; do
    if wait "${pids[$t]}"; then rcs[$t]=0; else rcs[$t]=$?; fi
  done
  unset pids
done

failed=()
for t in "${targets[@]}"; do
  summary "$t" "${rcs[$t]}"
  ((rcs[$t] == 0)) || failed+=("$t")
done
if ((${#failed[@]})); then
  die "findings in: ${failed[*]} (inputs in $FUZZ_WORK/artifacts/, logs in $FUZZ_WORK/logs/)"
fi
