// The SQLite Store. Every public member is one DbWorker operation (one savepoint in a group
// commit); the SQL stays standard (`||` for concatenation, no UPSERT, no RETURNING) so that
// the PostgreSQL store can share the schema. Chat operations are here; jobs and retention are
// in sqlite_store_jobs.cc.
#include "sqlite_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "db_worker.h"
#include "idp/core/clock.h"
#include "idp/core/json_util.h"
#include "schema.h"
#include "sqlite_store_impl.h"

namespace idp::service {

namespace bj = boost::json;
using boost::asio::awaitable;

namespace store_detail {

void delete_session_rows(Db& db, const std::string& id) {
  for (const char* sql :
       {"DELETE FROM events WHERE session_id = ?", "DELETE FROM messages WHERE session_id = ?",
        "DELETE FROM history WHERE session_id = ?", "DELETE FROM sessions WHERE id = ?"}) {
    db.prepare(sql).bind(1, id).run();
  }
}

std::int64_t count_for_owner(Db& db, const char* sql, const std::string& owner) {
  auto& count = db.prepare(sql);
  count.bind(1, owner);
  std::int64_t n = count.step() ? count.int64(0) : 0;
  count.reset();
  return n;
}

}  // namespace store_detail

using namespace store_detail;

namespace {

constexpr const char* kSessionColumns =
    "id, owner, title, agent_ids, created_at, updated_at, message_count, last_message, "
    "running_turn, last_status";

SessionRecord read_session(Stmt& s) {
  SessionRecord r;
  r.id = s.text(0);
  r.owner = s.text(1);
  r.title = s.text(2);
  r.agent_ids = text_to_strings(s.text(3));
  r.created_at = from_ms(s.int64(4));
  r.updated_at = from_ms(s.int64(5));
  r.message_count = s.int64(6);
  r.last_message = s.text(7);
  r.running = !s.is_null(8);
  r.last_status = s.text(9);
  return r;
}

[[noreturn]] void session_not_found(const std::string& id) {
  throw StoreError(ErrorCode::kNotFound, "chat session '" + id + "' was not found");
}

SessionRecord load_session(Db& db, const std::string& owner, const std::string& id) {
  auto& s = db.prepare(std::string("SELECT ") + kSessionColumns +
                       " FROM sessions WHERE id = ? AND owner = ?");
  s.bind(1, id).bind(2, owner);
  if (!s.step()) session_not_found(id);
  return read_session(s);
}

// The session's next seq and its running turn, for appending events of `turn_id`.
std::int64_t next_seq_for(Db& db, const std::string& session_id, const std::string& turn_id) {
  auto& s = db.prepare("SELECT next_seq, running_turn FROM sessions WHERE id = ?");
  s.bind(1, session_id);
  if (!s.step()) session_not_found(session_id);
  if (s.is_null(1) || s.text(1) != turn_id) {
    throw StoreError(ErrorCode::kInvalidArgument,
                     "turn '" + turn_id + "' of chat session '" + session_id + "' is not running");
  }
  return s.int64(0);
}

EventRecord insert_event(Db& db, const std::string& session_id, const std::string& turn_id,
                         std::int64_t seq, bj::object event, const std::string& ts) {
  event["seq"] = seq;
  event["turn_id"] = turn_id;
  event["ts"] = ts;
  auto json = std::make_shared<const std::string>(bj::serialize(event));
  db.prepare("INSERT INTO events (session_id, seq, turn_id, body) VALUES (?, ?, ?, ?)")
      .bind(1, session_id)
      .bind(2, seq)
      .bind(3, turn_id)
      .bind(4, *json)
      .run();
  return EventRecord{seq, turn_id, std::move(event), std::move(json)};
}

void insert_message(Db& db, const std::string& session_id, std::int64_t position,
                    const MessageRecord& m) {
  db.prepare(
        "INSERT INTO messages (id, session_id, position, role, text, turn_id, status, "
        "structured, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .bind(1, m.id)
      .bind(2, session_id)
      .bind(3, position)
      .bind(4, m.role)
      .bind(5, m.text)
      .bind(6, m.turn_id)
      .bind(7, m.status)
      .bind_opt(8, object_to_text(m.structured))
      .bind(9, to_ms(m.created_at))
      .run();
}

// Creates the file with mode 0600 before SQLite opens it (SQLite would use 0644), so the
// journal files, which SQLite creates with the database's mode, are private too.
Result<void> create_private(const std::string& path) {
  std::error_code ec;
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty() && !std::filesystem::exists(parent, ec)) {
    std::filesystem::create_directories(parent, ec);
    if (ec) {
      return make_error(ErrorCode::kInvalidArgument, "cannot create the folder " + parent.string() +
                                                         " for the store: " + ec.message());
    }
    ::chmod(parent.c_str(), 0700);
  }
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return make_error(ErrorCode::kInvalidArgument,
                      "cannot open the store " + path + ": " + std::strerror(errno));
  }
  ::close(fd);
  return {};
}

}  // namespace

SqliteStore::SqliteStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteStore::~SqliteStore() = default;

Result<std::shared_ptr<SqliteStore>> SqliteStore::open(const std::string& path,
                                                       SqliteOptions options) {
  if (auto made = create_private(path); !made) return std::unexpected(made.error());
  try {
    auto db = std::make_unique<Db>(path, options.busy_timeout_ms);
    {
      auto& s = db->prepare("PRAGMA journal_mode=WAL");
      std::string mode = s.step() ? s.text(0) : "";
      s.reset();
      if (mode != "wal") {
        return make_error(ErrorCode::kUnavailable,
                          "the store " + path + " cannot use write-ahead logging (journal mode '" +
                              mode + "'): put it on a local file system");
      }
    }
    db->exec(options.sync == SqliteOptions::Sync::kFull ? "PRAGMA synchronous=FULL"
                                                        : "PRAGMA synchronous=NORMAL");
    int version = migrate(*db, options.migrate_up_to);
    auto impl = std::make_unique<Impl>();
    impl->path = path;
    impl->version = version;
    impl->worker = std::make_unique<DbWorker>(std::move(db));
    return std::shared_ptr<SqliteStore>(new SqliteStore(std::move(impl)));
  } catch (const StoreError& e) {
    return std::unexpected(e.error());
  } catch (const SqliteError& e) {
    return make_error(ErrorCode::kUnavailable, std::string("cannot open the store ") + path + ": " +
                                                   e.what() +
                                                   " (is it a SQLite file of idp-agents?)");
  }
}

int SqliteStore::schema_version() const { return impl_->version; }
const std::string& SqliteStore::path() const { return impl_->path; }
std::size_t SqliteStore::batches() const { return impl_->worker->stats().batches; }
std::size_t SqliteStore::operations() const { return impl_->worker->stats().operations; }

awaitable<Result<void>> SqliteStore::ping() {
  return impl_->worker->run<void>([](Db& db) {
    auto& s = db.prepare("SELECT COUNT(*) FROM schema_version");
    s.step();
    s.reset();
  });
}

awaitable<Result<void>> SqliteStore::create_session(SessionRecord r, std::int64_t max_per_owner) {
  return impl_->worker->run<void>([r = std::move(r), max_per_owner](Db& db) {
    std::int64_t n = count_for_owner(db, "SELECT COUNT(*) FROM sessions WHERE owner = ?", r.owner);
    if (n >= max_per_owner) {
      throw StoreError(ErrorCode::kResourceExhausted,
                       "you have " + std::to_string(n) + " chat sessions; the limit is " +
                           std::to_string(max_per_owner) + " per user: delete old ones in History");
    }
    db.prepare(
          "INSERT INTO sessions (id, owner, title, agent_ids, created_at, updated_at, "
          "message_count, last_message, running_turn, last_status, next_seq) "
          "VALUES (?, ?, ?, ?, ?, ?, 0, '', NULL, '', 1)")
        .bind(1, r.id)
        .bind(2, r.owner)
        .bind(3, r.title)
        .bind(4, strings_to_text(r.agent_ids))
        .bind(5, to_ms(r.created_at))
        .bind(6, to_ms(r.updated_at))
        .run();
  });
}

awaitable<Result<std::vector<SessionRecord>>> SqliteStore::list_sessions(std::string owner) {
  return impl_->worker->run<std::vector<SessionRecord>>([owner = std::move(owner)](Db& db) {
    auto& s = db.prepare(std::string("SELECT ") + kSessionColumns +
                         " FROM sessions WHERE owner = ? ORDER BY updated_at DESC, id");
    s.bind(1, owner);
    std::vector<SessionRecord> out;
    while (s.step()) out.push_back(read_session(s));
    return out;
  });
}

awaitable<Result<SessionRecord>> SqliteStore::get_session(std::string owner, std::string id) {
  return impl_->worker->run<SessionRecord>([owner = std::move(owner), id = std::move(id)](Db& db) {
    return load_session(db, owner, id);
  });
}

awaitable<Result<SessionDetail>> SqliteStore::session_detail(std::string owner, std::string id) {
  return impl_->worker->run<SessionDetail>([owner = std::move(owner), id = std::move(id)](Db& db) {
    SessionDetail d;
    d.session = load_session(db, owner, id);
    auto& m = db.prepare(
        "SELECT id, role, text, turn_id, status, structured, created_at FROM messages "
        "WHERE session_id = ? ORDER BY position");
    m.bind(1, id);
    while (m.step()) {
      d.messages.push_back(MessageRecord{m.text(0), m.text(1), m.text(2), m.text(3), m.text(4),
                                         text_to_object(m.text_or_null(5)), from_ms(m.int64(6))});
    }
    auto& e = db.prepare("SELECT seq, turn_id, body FROM events WHERE session_id = ? ORDER BY seq");
    e.bind(1, id);
    while (e.step()) d.events.push_back(EventRecord{e.int64(0), e.text(1), parse_event(e.text(2))});
    return d;
  });
}

awaitable<Result<void>> SqliteStore::delete_session(std::string owner, std::string id) {
  return impl_->worker->run<void>([owner = std::move(owner), id = std::move(id)](Db& db) {
    load_session(db, owner, id);  // 404 for another owner's session
    delete_session_rows(db, id);
  });
}

awaitable<Result<TurnBegun>> SqliteStore::begin_turn(TurnStart t) {
  return impl_->worker->run<TurnBegun>([t = std::move(t)](Db& db) {
    TurnBegun out;
    SessionRecord s = load_session(db, t.owner, t.session_id);
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
    db.prepare(
          "UPDATE sessions SET running_turn = ?, title = CASE WHEN title = '' THEN ? ELSE title "
          "END, agent_ids = ?, updated_at = ?, message_count = message_count + 2, "
          "last_message = ?, last_status = 'running' WHERE id = ?")
        .bind(1, t.turn_id)
        .bind(2, t.title)
        .bind(3, strings_to_text(out.agent_ids))
        .bind(4, to_ms(now))
        .bind(5, t.preview)
        .bind(6, t.session_id)
        .run();
    auto& h = db.prepare("SELECT body FROM history WHERE session_id = ? ORDER BY position");
    h.bind(1, t.session_id);
    while (h.step()) {
      auto v = ::idp::json::parse(h.text(0));
      if (v) out.history.push_back(std::move(*v));
    }
    if (t.on_written) t.on_written(out);
    return out;
  });
}

awaitable<Result<std::vector<EventRecord>>> SqliteStore::append_events(
    std::string session_id, std::string turn_id, std::string assistant_message_id,
    std::vector<bj::object> events, std::string text_append) {
  return impl_->worker->run<std::vector<EventRecord>>(
      [session_id = std::move(session_id), turn_id = std::move(turn_id),
       message_id = std::move(assistant_message_id), events = std::move(events),
       text_append = std::move(text_append)](Db& db) mutable {
        std::int64_t seq = next_seq_for(db, session_id, turn_id);
        const auto now = std::chrono::system_clock::now();
        const std::string ts = format_utc(now);
        std::vector<EventRecord> out;
        out.reserve(events.size());
        for (auto& e : events)
          out.push_back(insert_event(db, session_id, turn_id, seq++, std::move(e), ts));
        db.prepare("UPDATE sessions SET next_seq = ?, updated_at = ? WHERE id = ?")
            .bind(1, seq)
            .bind(2, to_ms(now))
            .bind(3, session_id)
            .run();
        if (!text_append.empty()) {
          db.prepare("UPDATE messages SET text = text || ? WHERE id = ?")
              .bind(1, text_append)
              .bind(2, message_id)
              .run();
        }
        return out;
      });
}

awaitable<Result<TurnEnded>> SqliteStore::finish_turn(TurnEnd t) {
  return impl_->worker->run<TurnEnded>([t = std::move(t)](Db& db) mutable {
    std::int64_t seq = next_seq_for(db, t.session_id, t.turn_id);
    const auto now = std::chrono::system_clock::now();
    const std::string ts = format_utc(now);
    TurnEnded out;
    out.events.reserve(t.events.size());
    for (auto& e : t.events)
      out.events.push_back(insert_event(db, t.session_id, t.turn_id, seq++, std::move(e), ts));
    out.terminal = insert_event(db, t.session_id, t.turn_id, seq, std::move(t.terminal_event), ts);
    db.prepare("UPDATE messages SET text = ?, status = ?, structured = ? WHERE id = ?")
        .bind(1, t.text)
        .bind(2, t.status)
        .bind_opt(3, object_to_text(t.structured))
        .bind(4, t.assistant_message_id)
        .run();
    auto& last = db.prepare("SELECT MAX(position) FROM history WHERE session_id = ?");
    last.bind(1, t.session_id);
    std::int64_t position = last.step() && !last.is_null(0) ? last.int64(0) + 1 : 0;
    last.reset();
    for (const auto& m : t.new_messages) {
      db.prepare("INSERT INTO history (session_id, position, turn_id, body) VALUES (?, ?, ?, ?)")
          .bind(1, t.session_id)
          .bind(2, position++)
          .bind(3, t.turn_id)
          .bind(4, bj::serialize(m))
          .run();
    }
    db.prepare(
          "UPDATE sessions SET running_turn = NULL, last_status = ?, next_seq = ?, "
          "updated_at = ?, last_message = ? WHERE id = ?")
        .bind(1, t.status)
        .bind(2, seq + 1)
        .bind(3, to_ms(now))
        .bind(4, t.preview)
        .bind(5, t.session_id)
        .run();
    return out;
  });
}

awaitable<Result<TurnEvents>> SqliteStore::turn_events(std::string owner, std::string session_id,
                                                       std::string turn_id, std::int64_t after) {
  return impl_->worker->run<TurnEvents>([owner = std::move(owner),
                                         session_id = std::move(session_id),
                                         turn_id = std::move(turn_id), after](Db& db) {
    load_session(db, owner, session_id);
    TurnEvents out;
    if (turn_id.empty()) {
      auto& s = db.prepare(
          "SELECT turn_id, status FROM messages WHERE session_id = ? AND role = 'assistant' "
          "ORDER BY position DESC LIMIT 1");
      s.bind(1, session_id);
      if (!s.step()) return out;  // no turn yet
      out.turn_id = s.text(0);
      out.status = s.text(1);
      s.reset();
    } else {
      auto& s = db.prepare(
          "SELECT status FROM messages WHERE session_id = ? AND turn_id = ? AND role = "
          "'assistant'");
      s.bind(1, session_id).bind(2, turn_id);
      if (!s.step()) {
        throw StoreError(ErrorCode::kNotFound,
                         "chat session '" + session_id + "' has no turn '" + turn_id + "'");
      }
      out.turn_id = turn_id;
      out.status = s.text(0);
      s.reset();
    }
    auto& e = db.prepare(
        "SELECT seq, body FROM events WHERE session_id = ? AND turn_id = ? AND seq > ? "
        "ORDER BY seq");
    e.bind(1, session_id).bind(2, out.turn_id).bind(3, after);
    while (e.step())
      out.events.push_back(EventRecord{e.int64(0), out.turn_id, parse_event(e.text(1))});
    return out;
  });
}

awaitable<Result<std::int64_t>> SqliteStore::interrupt_running_turns(bj::object terminal) {
  return impl_->worker->run<std::int64_t>([terminal = std::move(terminal)](Db& db) {
    struct Running {
      std::string session_id, turn_id;
      std::int64_t next_seq;
    };
    std::vector<Running> running;
    auto& s = db.prepare(
        "SELECT id, running_turn, next_seq FROM sessions WHERE running_turn IS NOT NULL");
    while (s.step()) running.push_back({s.text(0), s.text(1), s.int64(2)});
    s.reset();
    const auto now = std::chrono::system_clock::now();
    for (const auto& r : running) {
      insert_event(db, r.session_id, r.turn_id, r.next_seq, terminal, format_utc(now));
      db.prepare(
            "UPDATE messages SET status = 'interrupted' WHERE session_id = ? AND turn_id = ? "
            "AND role = 'assistant'")
          .bind(1, r.session_id)
          .bind(2, r.turn_id)
          .run();
      db.prepare(
            "UPDATE sessions SET running_turn = NULL, last_status = 'interrupted', next_seq = ?, "
            "updated_at = ? WHERE id = ?")
          .bind(1, r.next_seq + 1)
          .bind(2, to_ms(now))
          .bind(3, r.session_id)
          .run();
    }
    return static_cast<std::int64_t>(running.size());
  });
}

}  // namespace idp::service
