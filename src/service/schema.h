// The store's schema and its migrations. Each migration is a numbered list of plain SQL
// statements (standard types and constraints only: TEXT, BIGINT, PRIMARY KEY, indexes; no
// engine-specific syntax) applied in one transaction together with its row in schema_version,
// so a store is always at exactly one version. Times are BIGINT Unix milliseconds, JSON values
// are TEXT. The PostgreSQL store (pg_store.cc) applies the same list.
//
// Pure functions over a Db; not thread-safe beyond that (the caller owns the connection).
#pragma once

#include <string>
#include <vector>

#include "sqlite_db.h"

namespace idp::service {

struct Migration {
  int version;
  const char* description;
  std::vector<const char*> statements;
};

// Every migration, in order (version 1, 2, ...).
const std::vector<Migration>& migrations();
int latest_schema_version();

// The version a database is at (0 for an empty one).
int schema_version(Db& db);

// Applies the missing migrations up to `up_to` (default: the latest). Throws StoreError
// (kInvalidArgument) when the database is newer than this build knows,
// naming both versions. Returns the version reached.
int migrate(Db& db, int up_to = -1);

}  // namespace idp::service
