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

namespace idp::service {

struct SqliteStore::Impl {
  std::string path;
  int version = 0;
  std::unique_ptr<DbWorker> worker;
};

namespace store_detail {
std::int64_t to_ms(TimePoint t);
TimePoint from_ms(std::int64_t ms);
std::int64_t now_ms();
std::string strings_to_text(const std::vector<std::string>& items);  // JSON array text
std::vector<std::string> text_to_strings(const std::string& text);
std::optional<std::string> object_to_text(const std::optional<boost::json::object>& o);
std::optional<boost::json::object> text_to_object(const std::optional<std::string>& text);
// A stored event; a row that is not a JSON object reads as an error event "corrupt".
boost::json::object parse_event(const std::string& text);
// The single count of `sql` ("SELECT COUNT(*) ... WHERE owner = ? ...") for `owner`.
std::int64_t count_for_owner(Db& db, const char* sql, const std::string& owner);
// Deletes a session with its events, messages and history.
void delete_session_rows(Db& db, const std::string& id);
}  // namespace store_detail

}  // namespace idp::service
