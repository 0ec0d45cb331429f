#include "store_engines.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>

#include "pg_conn.h"
#include "sqlite_store.h"

namespace idp::service::store_testing {

TestDatabase::TestDatabase() {
  const char* base = std::getenv("IDP_TEST_PG_URL");
  if (!base || !*base) return;
  static std::atomic<int> counter{0};
  admin_url_ = base;
  name_ = "idp_test_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
  PgConn admin(admin_url_);
  admin.exec("DROP DATABASE IF EXISTS " + name_);
  admin.exec("CREATE DATABASE " + name_);
  url_ = admin_url_.substr(0, admin_url_.rfind('/') + 1) + name_;
}

TestDatabase::~TestDatabase() {
  if (name_.empty()) return;
  try {
    PgConn admin(admin_url_);
    admin.exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (const PgError&) {
    // The server is stopped with its folder at the end anyway.
  }
}

std::shared_ptr<Store> open_store(const std::string& engine, const std::string& where,
                                  PgStoreOptions pg) {
  if (engine == "sqlite") {
    auto s = SqliteStore::open(where);
    EXPECT_TRUE(s) << s.error().message();
    return s ? std::shared_ptr<Store>(*s) : nullptr;
  }
  pg.url = where;
  auto s = PgStore::open(pg);
  EXPECT_TRUE(s) << s.error().message();
  return s ? std::shared_ptr<Store>(*s) : nullptr;
}

}  // namespace idp::service::store_testing
