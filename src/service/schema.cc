#include "schema.h"

#include <chrono>

#include "db_worker.h"

namespace idp::service {

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> all = {
      {1,
       "chat sessions, messages, events, model history",
       {
           // running_turn: the id of the turn that runs now, else NULL. next_seq: the seq the
           // next event of this session gets (the store assigns seqs under this row's lock).
           "CREATE TABLE sessions ("
           " id TEXT PRIMARY KEY,"
           " owner TEXT NOT NULL,"
           " title TEXT NOT NULL,"
           " agent_ids TEXT NOT NULL,"
           " created_at BIGINT NOT NULL,"
           " updated_at BIGINT NOT NULL,"
           " message_count BIGINT NOT NULL,"
           " last_message TEXT NOT NULL,"
           " running_turn TEXT,"
           " last_status TEXT NOT NULL,"
           " next_seq BIGINT NOT NULL)",
           "CREATE INDEX sessions_owner ON sessions (owner, updated_at)",
           "CREATE INDEX sessions_updated ON sessions (updated_at)",
           "CREATE TABLE messages ("
           " id TEXT PRIMARY KEY,"
           " session_id TEXT NOT NULL,"
           " position BIGINT NOT NULL,"
           " role TEXT NOT NULL,"
           " text TEXT NOT NULL,"
           " turn_id TEXT NOT NULL,"
           " status TEXT NOT NULL,"
           " structured TEXT,"
           " created_at BIGINT NOT NULL)",
           "CREATE INDEX messages_session ON messages (session_id, position)",
           "CREATE TABLE events ("
           " session_id TEXT NOT NULL,"
           " seq BIGINT NOT NULL,"
           " turn_id TEXT NOT NULL,"
           " body TEXT NOT NULL,"
           " PRIMARY KEY (session_id, seq))",
           "CREATE INDEX events_turn ON events (session_id, turn_id, seq)",
           "CREATE TABLE history ("
           " session_id TEXT NOT NULL,"
           " position BIGINT NOT NULL,"
           " turn_id TEXT NOT NULL,"
           " body TEXT NOT NULL,"
           " PRIMARY KEY (session_id, position))",
       }},
      {2,
       "jobs",
       {
           "CREATE TABLE jobs ("
           " id TEXT PRIMARY KEY,"
           " owner TEXT NOT NULL,"
           " query TEXT NOT NULL,"
           " agent_ids TEXT NOT NULL,"
           " status TEXT NOT NULL,"
           " created_at BIGINT NOT NULL,"
           " updated_at BIGINT NOT NULL,"
           " completed_at BIGINT,"
           " result_text TEXT NOT NULL,"
           " structured TEXT,"
           " error TEXT NOT NULL,"
           " steps TEXT NOT NULL)",
           "CREATE INDEX jobs_owner ON jobs (owner, created_at)",
           "CREATE INDEX jobs_status ON jobs (status, created_at)",
       }},
      {3,
       "replicas: turn and job leases, cancel requests",
       {
           // turn_owner: the process running the turn; it renews turn_lease_until (Unix ms)
           // while it runs. cancel_requested: when another process asked it to cancel.
           // Unused (NULL) with one process (SQLite).
           "ALTER TABLE sessions ADD COLUMN turn_owner TEXT",
           "ALTER TABLE sessions ADD COLUMN turn_lease_until BIGINT",
           "ALTER TABLE sessions ADD COLUMN cancel_requested BIGINT",
           "ALTER TABLE jobs ADD COLUMN claimed_by TEXT",
           "ALTER TABLE jobs ADD COLUMN lease_until BIGINT",
       }},
  };
  return all;
}

int latest_schema_version() { return migrations().back().version; }

int schema_version(Db& db) {
  db.exec(
      "CREATE TABLE IF NOT EXISTS schema_version ("
      " version BIGINT PRIMARY KEY,"
      " description TEXT NOT NULL,"
      " applied_at BIGINT NOT NULL)");
  auto& s = db.prepare("SELECT MAX(version) FROM schema_version");
  int v = 0;
  if (s.step() && !s.is_null(0)) v = static_cast<int>(s.int64(0));
  s.reset();
  return v;
}

int migrate(Db& db, int up_to) {
  if (up_to < 0) up_to = latest_schema_version();
  int current = schema_version(db);
  if (current > latest_schema_version()) {
    throw StoreError(ErrorCode::kInvalidArgument,
                     "the store " + db.path() + " has schema version " + std::to_string(current) +
                         ", newer than this idp-agents knows (" +
                         std::to_string(latest_schema_version()) +
                         "): run a newer idp-agents, or point --store at another file");
  }
  for (const auto& m : migrations()) {
    if (m.version <= current || m.version > up_to) continue;
    db.exec("BEGIN IMMEDIATE");
    try {
      for (const char* sql : m.statements) db.exec(sql);
      auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
      db.prepare("INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)")
          .bind(1, std::int64_t{m.version})
          .bind(2, std::string_view(m.description))
          .bind(3, std::int64_t{now})
          .run();
      db.exec("COMMIT");
    } catch (...) {
      try {
        db.exec("ROLLBACK");
      } catch (const SqliteError&) {
        // Rolled back by SQLite already.
      }
      throw;
    }
    current = m.version;
  }
  return current;
}

}  // namespace idp::service
