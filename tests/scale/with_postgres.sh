#!/usr/bin/env bash
# with_postgres.sh COMMAND...: runs COMMAND with IDP_TEST_PG_URL pointing at a PostgreSQL 15 of
# its own (tests/scale/lib.sh), then stops it. The store unit tests' PostgreSQL variant runs so.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
trap pg_stop EXIT
pg_start
IDP_TEST_PG_URL=$PG_URL "$@"
