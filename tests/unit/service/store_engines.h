// The store engines a test can open: SQLite on a fresh file, PostgreSQL on a fresh database of
// the server IDP_TEST_PG_URL names (tests/scale/with_postgres.sh starts one; without it the
// PostgreSQL tests skip, and ctest always runs them with it).
#pragma once

#include <memory>
#include <string>

#include "pg_store.h"
#include "store.h"

namespace idp::service::store_testing {

// A database of its own for one test, dropped at the end.
class TestDatabase {
 public:
  // Skips (empty url()) when IDP_TEST_PG_URL is not set.
  TestDatabase();
  ~TestDatabase();
  const std::string& url() const { return url_; }

 private:
  std::string admin_url_, name_, url_;
};

// A store of `engine` ("sqlite" or "postgresql") at `where` (a file path or a database URL).
std::shared_ptr<Store> open_store(const std::string& engine, const std::string& where,
                                  PgStoreOptions pg = {});

}  // namespace idp::service::store_testing
