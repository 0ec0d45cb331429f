// The PostgreSQL Store: opening (pool, notifications, migrations under an advisory lock) and the
// chat half. Every public member is one PgPool operation (one transaction). Appends lock the
// session's row (FOR UPDATE), so seqs are assigned, and committed, in order across replicas.
#include "pg_store.h"

#include <boost/json/serialize.hpp>

#include "idp/core/clock.h"
#include "idp/core/json_util.h"
#include "idp/core/random.h"
#include "pg_store_impl.h"
#include "schema.h"

namespace idp::service {

namespace bj = boost::json;
using boost::asio::awaitable;
using namespace store_detail;

namespace {

const std::string kSessionColumns =
    "id, owner, title, agent_ids, created_at, updated_at, message_count, last_message, "
    "running_turn, last_status";

SessionRecord read_session(const PgResult& r, int row) {
  SessionRecord s;
  s.id = r.text(row, 0);
  s.owner = r.text(row, 1);
  s.title = r.text(row, 2);
  s.agent_ids = text_to_strings(r.text(row, 3));
  s.created_at = from_ms(r.int64(row, 4));
  s.updated_at = from_ms(r.int64(row, 5));
  s.message_count = r.int64(row, 6);
  s.last_message = r.text(row, 7);
  s.running = !r.is_null(row, 8);
  s.last_status = r.text(row, 9);
  return s;
}

[[noreturn]] void session_not_found(const std::string& id) {
  throw StoreError(ErrorCode::kNotFound, "chat session '" + id + "' was not found");
}

SessionRecord load_session(PgConn& db, const std::string& owner, const std::string& id,
                           bool lock = false) {
  auto r = db.query("SELECT " + kSessionColumns + " FROM sessions WHERE id = $1 AND owner = $2" +
                        (lock ? " FOR UPDATE" : ""),
                    {id, owner});
  if (r.rows() == 0) session_not_found(id);
  return read_session(r, 0);
}

// The session's next seq, with its row locked, for appending events of the running `turn_id`.
std::int64_t next_seq_for(PgConn& db, const std::string& session_id, const std::string& turn_id) {
  auto r = db.query("SELECT next_seq, running_turn FROM sessions WHERE id = $1 FOR UPDATE",
                    {session_id});
  if (r.rows() == 0) session_not_found(session_id);
  if (r.is_null(0, 1) || r.text(0, 1) != turn_id) {
    throw StoreError(ErrorCode::kInvalidArgument,
                     "turn '" + turn_id + "' of chat session '" + session_id + "' is not running");
  }
  return r.int64(0, 0);
}

void insert_message(PgConn& db, const std::string& session_id, std::int64_t position,
                    const MessageRecord& m) {
  db.query(
      "INSERT INTO messages (id, session_id, position, role, text, turn_id, status, structured, "
      "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
      {m.id, session_id, position, m.role, m.text, m.turn_id, m.status,
       object_to_text(m.structured), to_ms(m.created_at)});
}

// Brings the schema to `up_to` on `db`, once across replicas: the first to take the lock
// migrates, the others find it done.
int migrate_pg(PgConn& db, int up_to, const std::string& where) {
  if (up_to < 0) up_to = latest_schema_version();
  db.exec("SELECT pg_advisory_lock(" + std::to_string(pg_detail::kMigrationLock) + ")");
  struct Unlock {
    PgConn& db;
    ~Unlock() {
      try {
        db.exec("SELECT pg_advisory_unlock(" + std::to_string(pg_detail::kMigrationLock) + ")");
      } catch (const PgError&) {
        // The lock goes with the connection.
      }
    }
  } unlock{db};
  db.exec(
      "CREATE TABLE IF NOT EXISTS schema_version ("
      " version BIGINT PRIMARY KEY,"
      " description TEXT NOT NULL,"
      " applied_at BIGINT NOT NULL)");
  auto v = db.exec("SELECT MAX(version) FROM schema_version");
  int current = v.is_null(0, 0) ? 0 : static_cast<int>(v.int64(0, 0));
  if (current > latest_schema_version()) {
    throw StoreError(ErrorCode::kInvalidArgument, "the store " + where + " has schema version " +
                                                      std::to_string(current) +
                                                      ", newer than this idp-agents knows (" +
                                                      std::to_string(latest_schema_version()) +
                                                      "): run a newer idp-agents on every replica");
  }
  for (const auto& m : migrations()) {
    if (m.version <= current || m.version > up_to) continue;
    db.exec("BEGIN");
    try {
      for (const char* sql : m.statements) db.exec(sql);
      db.query("INSERT INTO schema_version (version, description, applied_at) VALUES ($1, $2, $3)",
               {m.version, m.description, now_ms()});
      db.exec("COMMIT");
    } catch (...) {
      try {
        db.exec("ROLLBACK");
      } catch (const PgError&) {
        // The connection is gone; so is the transaction.
      }
      throw;
    }
    current = m.version;
  }
  return current;
}

}  // namespace

namespace pg_detail {

EventRecord insert_event(PgConn& db, const std::string& session_id, const std::string& turn_id,
                         std::int64_t seq, bj::object event, const std::string& ts) {
  event["seq"] = seq;
  event["turn_id"] = turn_id;
  event["ts"] = ts;
  auto json = std::make_shared<const std::string>(bj::serialize(event));
  db.query("INSERT INTO events (session_id, seq, turn_id, body) VALUES ($1, $2, $3, $4)",
           {session_id, seq, turn_id, *json});
  return EventRecord{seq, turn_id, std::move(event), std::move(json)};
}

void notify_events(PgConn& db, const std::string& session_id) {
  db.query(std::string("SELECT pg_notify('") + kEventsChannel + "', $1)", {session_id});
}

std::int64_t interrupt_turns(PgConn& db, const std::string& select_sql,
                             const std::vector<PgParam>& params, const bj::object& terminal) {
  auto rows = db.query(select_sql, params);
  const auto now = std::chrono::system_clock::now();
  for (int i = 0; i < rows.rows(); ++i) {
    std::string session_id = rows.text(i, 0), turn_id = rows.text(i, 1);
    std::int64_t seq = rows.int64(i, 2);
    insert_event(db, session_id, turn_id, seq, terminal, format_utc(now));
    db.query(
        "UPDATE messages SET status = 'interrupted' WHERE session_id = $1 AND turn_id = $2 AND "
        "role = 'assistant'",
        {session_id, turn_id});
    db.query(
        "UPDATE sessions SET running_turn = NULL, turn_owner = NULL, turn_lease_until = NULL, "
        "cancel_requested = NULL, last_status = 'interrupted', next_seq = $1, updated_at = $2 "
        "WHERE id = $3",
        {seq + 1, to_ms(now), session_id});
    notify_events(db, session_id);
  }
  return rows.rows();
}

}  // namespace pg_detail

using namespace pg_detail;

PgStore::PgStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PgStore::~PgStore() = default;

Result<std::shared_ptr<PgStore>> PgStore::open(PgStoreOptions options) {
  const std::string where = redact_conninfo(options.url);
  auto pool = PgPool::open(PgPoolOptions{.conninfo = options.url, .size = options.pool_size});
  if (!pool) return std::unexpected(pool.error());
  auto impl = std::make_unique<Impl>();
  try {
    PgConn db((*pool)->conninfo());
    impl->version = migrate_pg(db, options.migrate_up_to, where);
  } catch (const StoreError& e) {
    return std::unexpected(e.error());
  } catch (const PgError& e) {
    return make_error(ErrorCode::kUnavailable,
                      "cannot prepare the store " + where + ": " + e.what());
  }
  impl->replica_id =
      options.replica_id.empty() ? "replica_" + random_token(12) : options.replica_id;
  impl->lease = options.lease;
  impl->notifier = std::make_unique<PgNotifier>((*pool)->conninfo());
  impl->pool = std::move(*pool);
  return std::shared_ptr<PgStore>(new PgStore(std::move(impl)));
}

int PgStore::schema_version() const { return impl_->version; }
const std::string& PgStore::replica_id() const { return impl_->replica_id; }
std::size_t PgStore::operations() const { return impl_->pool->operations(); }

awaitable<Result<void>> PgStore::ping() {
  return impl_->pool->run<void>(
      [](PgConn& db) { db.query("SELECT COUNT(*) FROM schema_version"); });
}

awaitable<Result<void>> PgStore::create_session(SessionRecord r, std::int64_t max_per_owner) {
  return impl_->pool->run<void>([r = std::move(r), max_per_owner](PgConn& db) {
    // One owner's creations one at a time across replicas, so the limit holds.
    db.query("SELECT pg_advisory_xact_lock(hashtext($1))", {r.owner});
    auto count = db.query("SELECT COUNT(*) FROM sessions WHERE owner = $1", {r.owner});
    std::int64_t n = count.int64(0, 0);
    if (n >= max_per_owner) {
      throw StoreError(ErrorCode::kResourceExhausted,
                       "you have " + std::to_string(n) + " chat sessions; the limit is " +
                           std::to_string(max_per_owner) + " per user: delete old ones in History");
    }
    db.query(
        "INSERT INTO sessions (id, owner, title, agent_ids, created_at, updated_at, "
        "message_count, last_message, running_turn, last_status, next_seq) "
        "VALUES ($1, $2, $3, $4, $5, $6, 0, '', NULL, '', 1)",
        {r.id, r.owner, r.title, strings_to_text(r.agent_ids), to_ms(r.created_at),
         to_ms(r.updated_at)});
  });
}

awaitable<Result<std::vector<SessionRecord>>> PgStore::list_sessions(std::string owner) {
  return impl_->pool->run<std::vector<SessionRecord>>([owner = std::move(owner)](PgConn& db) {
    auto r = db.query("SELECT " + kSessionColumns +
                          " FROM sessions WHERE owner = $1 ORDER BY updated_at DESC, id",
                      {owner});
    std::vector<SessionRecord> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(read_session(r, i));
    return out;
  });
}

awaitable<Result<SessionRecord>> PgStore::get_session(std::string owner, std::string id) {
  return impl_->pool->run<SessionRecord>([owner = std::move(owner), id = std::move(id)](
                                             PgConn& db) { return load_session(db, owner, id); });
}

awaitable<Result<SessionDetail>> PgStore::session_detail(std::string owner, std::string id) {
  return impl_->pool->run<SessionDetail>([owner = std::move(owner),
                                          id = std::move(id)](PgConn& db) {
    SessionDetail d;
    d.session = load_session(db, owner, id);
    auto m = db.query(
        "SELECT id, role, text, turn_id, status, structured, created_at FROM messages "
        "WHERE session_id = $1 ORDER BY position",
        {id});
    for (int i = 0; i < m.rows(); ++i) {
      d.messages.push_back(MessageRecord{m.text(i, 0), m.text(i, 1), m.text(i, 2), m.text(i, 3),
                                         m.text(i, 4), text_to_object(m.text_or_null(i, 5)),
                                         from_ms(m.int64(i, 6))});
    }
    auto e =
        db.query("SELECT seq, turn_id, body FROM events WHERE session_id = $1 ORDER BY seq", {id});
    for (int i = 0; i < e.rows(); ++i)
      d.events.push_back(EventRecord{e.int64(i, 0), e.text(i, 1), parse_event(e.text(i, 2))});
    return d;
  });
}

awaitable<Result<void>> PgStore::delete_session(std::string owner, std::string id) {
  return impl_->pool->run<void>([owner = std::move(owner), id = std::move(id)](PgConn& db) {
    load_session(db, owner, id, true);  // 404 for another owner's session
    for (const char* sql :
         {"DELETE FROM events WHERE session_id = $1", "DELETE FROM messages WHERE session_id = $1",
          "DELETE FROM history WHERE session_id = $1", "DELETE FROM sessions WHERE id = $1"}) {
      db.query(sql, {id});
    }
  });
}

awaitable<Result<TurnBegun>> PgStore::begin_turn(TurnStart t) {
  // on_written is not called: a retried transaction would announce the start twice.
  t.on_written = nullptr;
  return impl_->pool->run<TurnBegun>([t = std::move(t), replica = impl_->replica_id,
                                      lease = impl_->lease](PgConn& db) {
    TurnBegun out;
    SessionRecord s = load_session(db, t.owner, t.session_id, true);
    if (s.running) {
      out.busy = true;
      return out;
    }
    const auto now = std::chrono::system_clock::now();
    insert_message(
        db, t.session_id, s.message_count,
        MessageRecord{t.user_message_id, "user", t.text, t.turn_id, "complete", std::nullopt, now});
    insert_message(db, t.session_id, s.message_count + 1,
                   MessageRecord{t.assistant_message_id, "assistant", "", t.turn_id, "running",
                                 std::nullopt, now});
    out.agent_ids = t.agent_ids ? *t.agent_ids : s.agent_ids;
    db.query(
        "UPDATE sessions SET running_turn = $1, title = CASE WHEN title = '' THEN $2 ELSE "
        "title END, agent_ids = $3, updated_at = $4, message_count = message_count + 2, "
        "last_message = $5, last_status = 'running', turn_owner = $6, turn_lease_until = $7, "
        "cancel_requested = NULL WHERE id = $8",
        {t.turn_id, t.title, strings_to_text(out.agent_ids), to_ms(now), t.preview, replica,
         to_ms(now + lease), t.session_id});
    auto h = db.query("SELECT body FROM history WHERE session_id = $1 ORDER BY position",
                      {t.session_id});
    for (int i = 0; i < h.rows(); ++i) {
      auto v = ::idp::json::parse(h.text(i, 0));
      if (v) out.history.push_back(std::move(*v));
    }
    return out;
  });
}

awaitable<Result<std::vector<EventRecord>>> PgStore::append_events(std::string session_id,
                                                                   std::string turn_id,
                                                                   std::string assistant_message_id,
                                                                   std::vector<bj::object> events,
                                                                   std::string text_append) {
  return impl_->pool->run<std::vector<EventRecord>>([session_id = std::move(session_id),
                                                     turn_id = std::move(turn_id),
                                                     message_id = std::move(assistant_message_id),
                                                     events = std::move(events),
                                                     text_append =
                                                         std::move(text_append)](PgConn& db) {
    std::int64_t seq = next_seq_for(db, session_id, turn_id);
    const auto now = std::chrono::system_clock::now();
    const std::string ts = format_utc(now);
    std::vector<EventRecord> out;
    out.reserve(events.size());
    for (const auto& e : events) out.push_back(insert_event(db, session_id, turn_id, seq++, e, ts));
    db.query("UPDATE sessions SET next_seq = $1, updated_at = $2 WHERE id = $3",
             {seq, to_ms(now), session_id});
    if (!text_append.empty()) {
      db.query("UPDATE messages SET text = text || $1 WHERE id = $2", {text_append, message_id});
    }
    notify_events(db, session_id);
    return out;
  });
}

awaitable<Result<TurnEnded>> PgStore::finish_turn(TurnEnd t) {
  return impl_->pool->run<TurnEnded>([t = std::move(t)](PgConn& db) {
    std::int64_t seq = next_seq_for(db, t.session_id, t.turn_id);
    const auto now = std::chrono::system_clock::now();
    const std::string ts = format_utc(now);
    TurnEnded out;
    out.events.reserve(t.events.size());
    for (const auto& e : t.events)
      out.events.push_back(insert_event(db, t.session_id, t.turn_id, seq++, e, ts));
    out.terminal = insert_event(db, t.session_id, t.turn_id, seq, t.terminal_event, ts);
    db.query("UPDATE messages SET text = $1, status = $2, structured = $3 WHERE id = $4",
             {t.text, t.status, object_to_text(t.structured), t.assistant_message_id});
    auto last = db.query("SELECT MAX(position) FROM history WHERE session_id = $1", {t.session_id});
    std::int64_t position = last.is_null(0, 0) ? 0 : last.int64(0, 0) + 1;
    for (const auto& m : t.new_messages) {
      db.query("INSERT INTO history (session_id, position, turn_id, body) VALUES ($1, $2, $3, $4)",
               {t.session_id, position++, t.turn_id, bj::serialize(m)});
    }
    db.query(
        "UPDATE sessions SET running_turn = NULL, turn_owner = NULL, turn_lease_until = NULL, "
        "cancel_requested = NULL, last_status = $1, next_seq = $2, updated_at = $3, "
        "last_message = $4 WHERE id = $5",
        {t.status, seq + 1, to_ms(now), t.preview, t.session_id});
    notify_events(db, t.session_id);
    return out;
  });
}

awaitable<Result<TurnEvents>> PgStore::turn_events(std::string owner, std::string session_id,
                                                   std::string turn_id, std::int64_t after) {
  return impl_->pool->run<TurnEvents>([owner = std::move(owner), session_id = std::move(session_id),
                                       turn_id = std::move(turn_id), after](PgConn& db) {
    load_session(db, owner, session_id);
    TurnEvents out;
    if (turn_id.empty()) {
      auto s = db.query(
          "SELECT turn_id, status FROM messages WHERE session_id = $1 AND role = 'assistant' "
          "ORDER BY position DESC LIMIT 1",
          {session_id});
      if (s.rows() == 0) return out;  // no turn yet
      out.turn_id = s.text(0, 0);
      out.status = s.text(0, 1);
    } else {
      auto s = db.query(
          "SELECT status FROM messages WHERE session_id = $1 AND turn_id = $2 AND role = "
          "'assistant'",
          {session_id, turn_id});
      if (s.rows() == 0) {
        throw StoreError(ErrorCode::kNotFound,
                         "chat session '" + session_id + "' has no turn '" + turn_id + "'");
      }
      out.turn_id = turn_id;
      out.status = s.text(0, 0);
    }
    auto e = db.query(
        "SELECT seq, body FROM events WHERE session_id = $1 AND turn_id = $2 AND seq > $3 "
        "ORDER BY seq",
        {session_id, out.turn_id, after});
    for (int i = 0; i < e.rows(); ++i)
      out.events.push_back(EventRecord{e.int64(i, 0), out.turn_id, parse_event(e.text(i, 1))});
    return out;
  });
}

awaitable<Result<std::int64_t>> PgStore::interrupt_running_turns(bj::object terminal) {
  return impl_->pool->run<std::int64_t>([terminal = std::move(terminal)](PgConn& db) {
    return interrupt_turns(db,
                           "SELECT id, running_turn, next_seq FROM sessions WHERE running_turn "
                           "IS NOT NULL FOR UPDATE",
                           {}, terminal);
  });
}

std::shared_ptr<Wakeup> PgStore::watch_events(const std::string& session_id) {
  return impl_->notifier->watch(session_id);
}

void PgStore::on_cancel_requested(std::function<void(const std::string&)> handler) {
  impl_->notifier->on_cancel(std::move(handler));
}

}  // namespace idp::service
