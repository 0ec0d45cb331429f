#include "store.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <ctime>

#include "idp/core/clock.h"
#include "idp/core/random.h"

namespace example {

namespace {

// A prepared statement for one call; finalized on scope exit.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) != SQLITE_OK) s_ = nullptr;
  }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool ok() const { return s_ != nullptr; }
  Stmt& bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  int step() { return sqlite3_step(s_); }
  std::string text(int col) const {
    const auto* p = sqlite3_column_text(s_, col);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<std::size_t>(sqlite3_column_bytes(s_, col)))
             : std::string();
  }
  std::int64_t integer(int col) const { return sqlite3_column_int64(s_, col); }
  bool null(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
  std::string error() const { return sqlite3_errmsg(db_); }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
};

std::unexpected<std::string> db_error(sqlite3* db, std::string_view what) {
  return std::unexpected(fmt::format("database: {} failed: {}", what, sqlite3_errmsg(db)));
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

constexpr const char* kSchema = R"sql(
PRAGMA journal_mode = WAL;
PRAGMA synchronous = FULL;
CREATE TABLE IF NOT EXISTS clients (
  client_id   TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  street      TEXT NOT NULL,
  city        TEXT NOT NULL,
  postal_code TEXT NOT NULL,
  country     TEXT NOT NULL,
  email       TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
  message_id      TEXT PRIMARY KEY,
  owner           TEXT NOT NULL,
  idempotency_key TEXT,
  request_digest  TEXT NOT NULL,
  client_id       TEXT NOT NULL DEFAULT '',
  to_addr         TEXT NOT NULL,
  subject         TEXT NOT NULL,
  body            TEXT NOT NULL,
  status          TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  last_error      TEXT NOT NULL DEFAULT '',
  next_attempt_ms INTEGER NOT NULL,
  created_at      TEXT NOT NULL,
  UNIQUE (owner, idempotency_key)
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (status, next_attempt_ms);
)sql";

// Sample clients (fictional people and addresses; the e-mail domains are reserved for examples).
constexpr const char* kSeed = R"sql(
INSERT INTO clients VALUES
 ('C-1001', 'Ada Lovelace', '12 St James''s Square', 'London', 'SW1Y 4JH', 'GB', 'ada@example.com'),
 ('C-1002', 'Alan Turing', '78 High Street', 'Wilmslow', 'SK9 1AB', 'GB', 'alan@example.org'),
 ('C-1003', 'Grace Hopper', '1200 Pennsylvania Ave', 'Arlington', '22202', 'US', 'grace@example.net'),
 ('C-1004', 'Emmy Noether', 'Bunsenstrasse 3', 'Göttingen', '37073', 'DE', 'emmy@example.com'),
 ('C-1005', 'Katherine Johnson', '40 Langley Blvd', 'Hampton', '23681', 'US', 'katherine@example.org'),
 ('C-1006', 'Édouard Lucas', '5 Rue Descartes', 'Paris', '75005', 'FR', 'edouard@example.net');
)sql";

OutboxMessage read_message(const Stmt& s) {
  OutboxMessage m;
  m.message_id = s.text(0);
  m.owner = s.text(1);
  m.client_id = s.text(2);
  m.to = s.text(3);
  m.subject = s.text(4);
  m.body = s.text(5);
  m.status = s.text(6);
  m.attempts = static_cast<int>(s.integer(7));
  m.last_error = s.text(8);
  m.created_at = s.text(9);
  return m;
}

constexpr const char* kColumns =
    "message_id, owner, client_id, to_addr, subject, body, status, attempts, last_error, "
    "created_at";

}  // namespace

std::expected<std::unique_ptr<Store>, std::string> Store::open(const std::string& path) {
  std::unique_ptr<Store> s(new Store());
  int rc =
      sqlite3_open_v2(path.c_str(), &s->db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string why = s->db_ ? sqlite3_errmsg(s->db_) : sqlite3_errstr(rc);
    return std::unexpected(fmt::format("cannot open database {}: {}", path, why));
  }
  sqlite3_busy_timeout(s->db_, 5000);
  char* err = nullptr;
  if (sqlite3_exec(s->db_, kSchema, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string why = err ? err : "unknown error";
    sqlite3_free(err);
    return std::unexpected(fmt::format("cannot set up database {}: {}", path, why));
  }
  Stmt count(s->db_, "SELECT COUNT(*) FROM clients");
  if (!count.ok() || count.step() != SQLITE_ROW) return db_error(s->db_, "counting clients");
  if (count.integer(0) == 0 && sqlite3_exec(s->db_, kSeed, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string why = err ? err : "unknown error";
    sqlite3_free(err);
    return std::unexpected(fmt::format("cannot seed database {}: {}", path, why));
  }
  if (sqlite3_prepare_v3(s->db_,
                         "SELECT client_id, name, street, city, postal_code, country, email "
                         "FROM clients WHERE client_id = ?1",
                         -1, SQLITE_PREPARE_PERSISTENT, &s->find_client_, nullptr) != SQLITE_OK) {
    return db_error(s->db_, "preparing the client query");
  }
  return s;
}

Store::~Store() {
  sqlite3_finalize(find_client_);
  sqlite3_close_v2(db_);
}

std::expected<std::optional<ClientRecord>, std::string> Store::find_client(
    const std::string& client_id) {
  std::lock_guard lock(mu_);
  // The hot query keeps its prepared statement (reset and rebound per call).
  sqlite3_stmt* s = find_client_;
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  sqlite3_bind_text(s, 1, client_id.data(), static_cast<int>(client_id.size()), SQLITE_STATIC);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_DONE) return std::optional<ClientRecord>();
  if (rc != SQLITE_ROW) return db_error(db_, "reading a client");
  auto col = [&](int i) {
    const auto* p = sqlite3_column_text(s, i);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<std::size_t>(sqlite3_column_bytes(s, i)))
             : std::string();
  };
  ClientRecord r{col(0), col(1), col(2), col(3), col(4), col(5), col(6)};
  sqlite3_reset(s);
  return r;
}

std::expected<Store::Queued, std::string> Store::enqueue(const NewMessage& m) {
  std::lock_guard lock(mu_);
  if (!m.idempotency_key.empty()) {
    Stmt s(db_, fmt::format("SELECT {}, request_digest FROM outbox WHERE owner = ?1 AND "
                            "idempotency_key = ?2",
                            kColumns)
                    .c_str());
    if (!s.ok()) return db_error(db_, "preparing the idempotency lookup");
    s.bind(1, m.owner).bind(2, m.idempotency_key);
    int rc = s.step();
    if (rc == SQLITE_ROW) {
      if (s.text(10) != m.request_digest) {
        return std::unexpected(
            std::string("idempotency_key was already used for a different message; use a new key"));
      }
      return Queued{read_message(s), false};
    }
    if (rc != SQLITE_DONE) return db_error(db_, "looking up the idempotency key");
  }
  OutboxMessage out;
  out.message_id = "msg-" + idp::random_token(12);
  out.owner = m.owner;
  out.client_id = m.client_id;
  out.to = m.to;
  out.subject = m.subject;
  out.body = m.body;
  out.status = "queued";
  out.created_at = idp::format_utc(std::chrono::system_clock::now());
  Stmt s(db_,
         "INSERT INTO outbox (message_id, owner, idempotency_key, request_digest, client_id, "
         "to_addr, subject, body, status, next_attempt_ms, created_at) "
         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'queued', ?9, ?10)");
  if (!s.ok()) return db_error(db_, "preparing the outbox insert");
  s.bind(1, out.message_id).bind(2, m.owner);
  if (!m.idempotency_key.empty()) s.bind(3, m.idempotency_key);  // NULL otherwise: no uniqueness
  s.bind(4, m.request_digest).bind(5, m.client_id).bind(6, m.to).bind(7, m.subject).bind(8, m.body);
  s.bind(9, now_ms()).bind(10, out.created_at);
  if (s.step() != SQLITE_DONE) return db_error(db_, "queueing the message");
  return Queued{std::move(out), true};
}

std::expected<std::vector<OutboxMessage>, std::string> Store::list(const std::string& owner,
                                                                   const std::string& status,
                                                                   int limit) {
  std::lock_guard lock(mu_);
  Stmt s(db_, fmt::format("SELECT {} FROM outbox WHERE owner = ?1 AND (?2 = '' OR status = ?2) "
                          "ORDER BY created_at DESC, rowid DESC LIMIT ?3",
                          kColumns)
                  .c_str());
  if (!s.ok()) return db_error(db_, "preparing the outbox listing");
  s.bind(1, owner).bind(2, status).bind(3, static_cast<std::int64_t>(limit));
  std::vector<OutboxMessage> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(read_message(s));
  if (rc != SQLITE_DONE) return db_error(db_, "listing the outbox");
  return out;
}

std::expected<std::vector<OutboxMessage>, std::string> Store::due(std::int64_t now, int limit) {
  std::lock_guard lock(mu_);
  Stmt s(db_, fmt::format("SELECT {} FROM outbox WHERE status = 'queued' AND next_attempt_ms <= ?1 "
                          "ORDER BY next_attempt_ms, rowid LIMIT ?2",
                          kColumns)
                  .c_str());
  if (!s.ok()) return db_error(db_, "preparing the due query");
  s.bind(1, now).bind(2, static_cast<std::int64_t>(limit));
  std::vector<OutboxMessage> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(read_message(s));
  if (rc != SQLITE_DONE) return db_error(db_, "reading due messages");
  return out;
}

std::expected<void, std::string> Store::mark_sent(const std::string& message_id) {
  std::lock_guard lock(mu_);
  Stmt s(db_,
         "UPDATE outbox SET status = 'sent', attempts = attempts + 1, last_error = '' "
         "WHERE message_id = ?1");
  if (!s.ok()) return db_error(db_, "preparing the sent update");
  s.bind(1, message_id);
  if (s.step() != SQLITE_DONE) return db_error(db_, "marking a message sent");
  return {};
}

std::expected<void, std::string> Store::mark_attempt_failed(const std::string& message_id,
                                                            const std::string& error,
                                                            std::int64_t next_attempt,
                                                            bool give_up) {
  std::lock_guard lock(mu_);
  Stmt s(db_,
         "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, next_attempt_ms = ?3, "
         "status = CASE WHEN ?4 THEN 'failed' ELSE 'queued' END WHERE message_id = ?1");
  if (!s.ok()) return db_error(db_, "preparing the retry update");
  s.bind(1, message_id).bind(2, error).bind(3, next_attempt).bind(4, std::int64_t{give_up ? 1 : 0});
  if (s.step() != SQLITE_DONE) return db_error(db_, "recording a failed attempt");
  return {};
}

std::optional<std::int64_t> Store::next_due() {
  std::lock_guard lock(mu_);
  Stmt s(db_, "SELECT MIN(next_attempt_ms) FROM outbox WHERE status = 'queued'");
  if (!s.ok() || s.step() != SQLITE_ROW || s.null(0)) return std::nullopt;
  return s.integer(0);
}

}  // namespace example
