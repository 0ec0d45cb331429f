// What the two halves of the PostgreSQL store (pg_store.cc: opening, migrations, chat;
// pg_store_jobs.cc: jobs, retention, leases, cancel requests) share.
#pragma once

#include <boost/json/object.hpp>

#include <memory>
#include <string>

#include "pg_conn.h"
#include "pg_notifier.h"
#include "pg_pool.h"
#include "pg_store.h"
#include "store_values.h"

namespace idp::service {

struct PgStore::Impl {
  std::string replica_id;
  std::chrono::milliseconds lease{10'000};
  int version = 0;
  std::unique_ptr<PgPool> pool;
  std::unique_ptr<PgNotifier> notifier;
};

namespace pg_detail {
// Advisory lock keys (one database may hold nothing else of ours).
inline constexpr std::int64_t kMigrationLock = 0x69647061'00000001;
inline constexpr std::int64_t kRetentionLock = 0x69647061'00000002;

// Appends `event` (seq, turn_id and ts added) as event `seq` of the session.
EventRecord insert_event(PgConn& db, const std::string& session_id, const std::string& turn_id,
                         std::int64_t seq, boost::json::object event, const std::string& ts);
// Ends the running turns that `select_sql` ("SELECT id, running_turn, next_seq FROM sessions
// WHERE ... FOR UPDATE ...", parameters `params`) finds with `terminal` as status interrupted.
std::int64_t interrupt_turns(PgConn& db, const std::string& select_sql,
                             const std::vector<PgParam>& params,
                             const boost::json::object& terminal);
// Wakes the followers of the session on every replica once the transaction commits.
void notify_events(PgConn& db, const std::string& session_id);
}  // namespace pg_detail

}  // namespace idp::service
