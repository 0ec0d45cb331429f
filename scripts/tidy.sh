#!/usr/bin/env bash
# clang-tidy (Debian's clang-tidy-16) with the curated checks of .clang-tidy, on the translation
# units of a build's compile_commands.json (`make tidy`; CI runs it on the files of the last
# commit, see .ci/run). Headers of ours are checked through the units that include them
# (HeaderFilterRegex).
#
#   scripts/tidy.sh [--build DIR] [--changed REV] [--jobs N] [--werror] [FILE...]
#
#   --build DIR     the build folder holding compile_commands.json (default: build)
#   --changed REV   only the .cc files changed between REV and HEAD (REV may be HEAD~1); files
#                   that are not in the build (deleted, another platform's) are left out
#   --jobs N        clang-tidy processes at once (default: the CPUs)
#   --werror        exit 1 when clang-tidy reports a warning (default: report only, exit 0)
#   FILE...         these files instead of every unit of the build
#
# Output: clang-tidy's warnings, then `tidy: N files, W warnings (check: count ...), T s`. Exit
# status: 0, or 1 when clang-tidy could not analyse a file (a compile error in it) or, with
# --werror, when it warned; 2 on a usage error.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$REPO/build
CHANGED=
JOBS=$(nproc)
WERROR=0
FILES=()
TIDY=${CLANG_TIDY:-clang-tidy-16}
# The build is GCC's: clang 16 knows C++23 as c++2b, and libstdc++ 12 shows <expected> only with
# __cpp_concepts >= 202002L, which clang 16 does not announce (CMakeLists.txt does the same for
# the clang builds of `make fuzz`).
TIDY_ARGS=(--extra-arg=-std=c++2b --extra-arg=-U__cpp_concepts --extra-arg=-D__cpp_concepts=202002L)

usage() { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; }
die() {
  echo "tidy: error: $*" >&2
  exit 2
}
while (($#)); do
  case $1 in
    --build) BUILD=${2:?--build needs a folder}; shift ;;
    --changed) CHANGED=${2:?--changed needs a revision}; shift ;;
    --jobs) JOBS=${2:?--jobs needs a number}; shift ;;
    --werror) WERROR=1 ;;
    -h | --help) usage; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) FILES+=("$(realpath -m "$1")") ;;
  esac
  shift
done
[[ $JOBS =~ ^[1-9][0-9]*$ ]] || die "--jobs must be a positive whole number, got '$JOBS'"
command -v "$TIDY" >/dev/null || die "$TIDY not found (scripts/install-deps.sh --tidy installs clang-tidy-16)"
DB=$BUILD/compile_commands.json
[[ -f $DB ]] || die "$DB not found: configure the build first (make build)"

# The units of the build: absolute paths, ours only (not the build folder's generated files).
mapfile -t UNITS < <(jq -r '.[].file' "$DB" | sort -u | grep "^$REPO/" | grep -v "^$BUILD/")
declare -A IN_BUILD=()
for f in "${UNITS[@]}"; do IN_BUILD[$f]=1; done

if [[ -n $CHANGED ]]; then
  ((${#FILES[@]} == 0)) || die "--changed and FILE... exclude each other"
  git -C "$REPO" rev-parse --verify -q "$CHANGED^{commit}" >/dev/null ||
    die "--changed $CHANGED: no such revision here (a shallow clone? fetch more history)"
  mapfile -t FILES < <(git -C "$REPO" diff --name-only --diff-filter=d "$CHANGED" HEAD -- '*.cc' |
    sed "s|^|$REPO/|")
elif ((${#FILES[@]} == 0)); then
  FILES=("${UNITS[@]}")
fi
TODO=()
for f in "${FILES[@]}"; do
  if [[ -n ${IN_BUILD[$f]:-} ]]; then
    TODO+=("$f")
  elif [[ -z $CHANGED ]]; then
    die "$f is not a unit of $DB"
  fi
done
if ((${#TODO[@]} == 0)); then
  echo "tidy: no file to check${CHANGED:+ (no .cc file of this build changed since $CHANGED)}"
  exit 0
fi

OUT=$(mktemp -d "${TMPDIR:-/tmp}/tidy.XXXXXX")
trap 'rm -rf "$OUT"' EXIT
start=$EPOCHREALTIME
# One log per unit ("ok" or "failed" in its .rc); xargs keeps JOBS clang-tidy processes running.
export TIDY BUILD OUT
printf '%s\0' "${TODO[@]}" | xargs -0 -P "$JOBS" -n 1 bash -c '
  file=${*: -1}  # the file xargs appends; the arguments before it are TIDY_ARGS
  log=$OUT/$(echo "$file" | tr / _).log
  if "$TIDY" -p "$BUILD" --quiet "${@:1:$#-1}" "$file" >"$log" 2>&1; then echo ok >"$log.rc"; else echo failed >"$log.rc"; fi
' tidy "${TIDY_ARGS[@]}"
secs=$(awk -v s="$start" -v e="$EPOCHREALTIME" 'BEGIN { printf "%.0f", e - s }')

# Warnings once each (a header's warning comes from every unit that includes it).
cat "$OUT"/*.log | grep -E '^/.*: (warning|error): ' | sort -u >"$OUT/all" || true
cat "$OUT/all"
warnings=$(grep -c ': warning: ' "$OUT/all" || true)
failed=$(cat "$OUT"/*.rc | grep -c failed || true)
by_check=$(sed -nE 's/.*: warning: .*\[([a-z0-9.,-]+)\]$/\1/p' "$OUT/all" | sort | uniq -c | sort -rn |
  awk '{ printf "%s%s: %s", (NR > 1 ? ", " : ""), $2, $1 }')
echo "tidy: ${#TODO[@]} files, $warnings warnings${by_check:+ ($by_check)}, $failed not analysed, ${secs} s with $JOBS jobs"
if ((failed > 0)); then
  for rc in $(grep -l failed "$OUT"/*.rc || true); do
    log=${rc%.rc}
    grep -q ': error: ' "$log" && { echo "tidy: could not analyse:"; grep -m 3 ': error: ' "$log"; }
  done
  exit 1
fi
((WERROR == 0 || warnings == 0)) || exit 1
exit 0
