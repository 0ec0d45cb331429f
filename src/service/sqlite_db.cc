#include "sqlite_db.h"

#include <sqlite3.h>

#include <memory>
#include <unordered_map>

namespace idp::service {

namespace {

[[noreturn]] void fail(sqlite3* db, int rc, std::string_view what) {
  std::string message(what);
  message += ": ";
  message += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  throw SqliteError(std::move(message), rc);
}

// The first words of a statement, for messages ("INSERT INTO events").
std::string describe(std::string_view sql) {
  std::string out;
  int words = 0;
  bool in_word = false;
  for (char c : sql) {
    bool space = c == ' ' || c == '\n' || c == '\t';
    if (space) {
      if (in_word && ++words == 3) break;
      in_word = false;
      if (!out.empty() && out.back() != ' ') out += ' ';
      continue;
    }
    in_word = true;
    out += c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace

struct Db::Cache {
  std::unordered_map<std::string, std::unique_ptr<Stmt>> statements;
};

Db::Db(const std::string& path, int busy_timeout_ms) : path_(path), cache_(new Cache) {
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string message =
        "cannot open the store " + path + ": " + (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
    sqlite3_close(db_);
    db_ = nullptr;
    delete cache_;
    throw SqliteError(std::move(message), rc);
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, busy_timeout_ms);
}

Db::~Db() {
  delete cache_;  // statements first: sqlite3_close fails while any is open
  sqlite3_close(db_);
}

void Db::exec(std::string_view sql) {
  std::string text(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string message = describe(sql) + ": " + (err ? err : sqlite3_errstr(rc));
    sqlite3_free(err);
    throw SqliteError(std::move(message), rc);
  }
}

Stmt& Db::prepare(std::string_view sql) {
  auto it = cache_->statements.find(std::string(sql));
  if (it == cache_->statements.end()) {
    it = cache_->statements.emplace(std::string(sql), std::make_unique<Stmt>(*this, sql)).first;
  }
  return it->second->reset();
}

std::int64_t Db::changes() const { return sqlite3_changes64(db_); }

Stmt::Stmt(Db& db, std::string_view sql) : db_(db), sql_(sql) {
  int rc = sqlite3_prepare_v3(db_.handle(), sql_.data(), static_cast<int>(sql_.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
  if (rc != SQLITE_OK) fail(db_.handle(), rc, "prepare " + describe(sql_));
}

Stmt::~Stmt() { sqlite3_finalize(stmt_); }

Stmt& Stmt::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  return *this;
}

Stmt& Stmt::bind(int index, std::string_view text) {
  int rc =
      sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK) fail(db_.handle(), rc, "bind " + describe(sql_));
  return *this;
}

Stmt& Stmt::bind(int index, std::int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) fail(db_.handle(), rc, "bind " + describe(sql_));
  return *this;
}

Stmt& Stmt::bind_null(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK) fail(db_.handle(), rc, "bind " + describe(sql_));
  return *this;
}

Stmt& Stmt::bind_opt(int index, const std::optional<std::string>& text) {
  return text ? bind(index, std::string_view(*text)) : bind_null(index);
}

bool Stmt::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  fail(db_.handle(), rc, describe(sql_));
}

void Stmt::run() {
  while (step()) {
  }
}

std::string Stmt::text(int column) const {
  const auto* p = sqlite3_column_text(stmt_, column);
  if (!p) return {};
  return std::string(reinterpret_cast<const char*>(p),
                     static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
}

std::optional<std::string> Stmt::text_or_null(int column) const {
  if (is_null(column)) return std::nullopt;
  return text(column);
}

std::int64_t Stmt::int64(int column) const { return sqlite3_column_int64(stmt_, column); }

bool Stmt::is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

Savepoint::Savepoint(Db& db, std::string name) : db_(db), name_(std::move(name)) {
  db_.exec("SAVEPOINT " + name_);
}

Savepoint::~Savepoint() {
  if (done_) return;
  try {
    db_.exec("ROLLBACK TO " + name_);
    db_.exec("RELEASE " + name_);
  } catch (const SqliteError&) {
    // The enclosing transaction is gone already (SQLite rolled it back); nothing to undo.
  }
}

void Savepoint::release() {
  db_.exec("RELEASE " + name_);
  done_ = true;
}

}  // namespace idp::service
