// What the two halves of the SQLite store (sqlite_store.cc: chat; sqlite_store_jobs.cc: jobs
// and retention) share: the implementation object and the value conversions.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "db_worker.h"
#include "sqlite_store.h"
#include "store_values.h"

namespace idp::service {

struct SqliteStore::Impl {
  std::string path;
  int version = 0;
  std::unique_ptr<DbWorker> worker;
};

namespace store_detail {
// The single count of `sql` ("SELECT COUNT(*) ... WHERE owner = ? ...") for `owner`.
std::int64_t count_for_owner(Db& db, const char* sql, const std::string& owner);
// Deletes a session with its events, messages and history.
void delete_session_rows(Db& db, const std::string& id);
}  // namespace store_detail

}  // namespace idp::service
