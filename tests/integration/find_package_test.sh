#!/usr/bin/env bash
# The SDK as a user gets it: `cmake --install --component sdk` into a fresh prefix, then examples/mcp-server
# configured and built as a project of its own with find_package(idp_mcp CONFIG) against that
# prefix (no access to this source tree's include/ or build targets), and a one-file program
# built with pkg-config alone. Both binaries must run.
#   IDP_BUILD_DIR   this project's build tree (to install from)
#   IDP_SOURCE_DIR  this source tree (for examples/mcp-server)
set -euo pipefail
BUILD=${IDP_BUILD_DIR:?} SRC=${IDP_SOURCE_DIR:?}
OUT=$BUILD/find-package-test  # kept between runs so that the example's rebuild is incremental
PREFIX=$OUT/prefix
fail() { echo "FAIL: $*" >&2; echo "$passed passed, 1 failed"; exit 1; }
passed=0
pass() { echo "PASS $*"; passed=$((passed + 1)); }

rm -rf "$PREFIX"
cmake --install "$BUILD" --prefix "$PREFIX" --component sdk >"$OUT.install.log" 2>&1 || fail "cmake --install: $(tail -20 "$OUT.install.log")"
for f in lib/libidp_mcp.a lib/libidp_auth.a lib/libidp_http.a lib/libidp_core.a include/idp/mcp/server_guard.h \
  include/idp/auth/bearer_auth.h lib/cmake/idp_mcp/idp_mcpConfig.cmake lib/cmake/idp_mcp/idp_mcpConfigVersion.cmake \
  lib/pkgconfig/idp_mcp.pc; do
  [[ -f $PREFIX/$f ]] || fail "not installed: $f"
done
[[ ! -e $PREFIX/include/idp/agents ]] || fail "headers outside the SDK were installed"
pass "cmake --install: libraries, public headers, CMake package and pkg-config file"

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$SRC/examples/mcp-server" -B "$OUT/example" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$PREFIX" "${launcher[@]}" >"$OUT.configure.log" 2>&1 || fail "configure: $(tail -30 "$OUT.configure.log")"
grep -q "idp_mcp_DIR:PATH=$PREFIX/lib/cmake/idp_mcp" "$OUT/example/CMakeCache.txt" || fail "idp_mcp was not found in the prefix"
cmake --build "$OUT/example" -j2 >"$OUT.build.log" 2>&1 || fail "build: $(grep -m5 -A5 error "$OUT.build.log")"
! grep -q -- "-I$SRC/include" "$OUT/example/build.ninja" || fail "the out-of-tree build used the source tree's headers"
help=$("$OUT/example/idp-mcp-server" --help) || fail "the out-of-tree idp-mcp-server does not run"
[[ $help == *--cognito-user-pool-id* ]] || fail "--help: $help"
pass "examples/mcp-server builds out of tree with find_package(idp_mcp) and runs"

cat >"$OUT/pc_test.cc" <<'CC'
#include <idp/mcp/rate_limit.h>
#include <iostream>
int main() {
  auto r = idp::mcp::parse_rate("5/min");
  std::cout << (r ? r->text() : r.error().message()) << "\n";
  return r ? 0 : 1;
}
CC
# shellcheck disable=SC2046
c++ -std=c++23 -o "$OUT/pc_test" "$OUT/pc_test.cc" $(PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig pkg-config --cflags --libs idp_mcp) ||
  fail "a program built with pkg-config --cflags --libs idp_mcp"
[[ $("$OUT/pc_test") == 5/min ]] || fail "the pkg-config program printed $("$OUT/pc_test")"
pass "a program built with pkg-config idp_mcp links and runs"
echo "$passed passed, 0 failed"
