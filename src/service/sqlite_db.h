// A thin RAII layer over the SQLite C API for the service's store: a connection (Db) and
// prepared statements (Stmt) with typed binds and columns. Failures throw SqliteError, which
// names the statement's purpose and SQLite's message; the store turns it into an idp::Error at
// its boundary, so exceptions never leave the module.
//
// Not thread-safe: a Db and its statements belong to one thread (the store's database thread).
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace idp::service {

class SqliteError : public std::runtime_error {
 public:
  SqliteError(std::string message, int code)
      : std::runtime_error(std::move(message)), code_(code) {}
  int code() const { return code_; }  // the SQLite result code

 private:
  int code_;
};

class Stmt;

class Db {
 public:
  // Opens (creating) the database file. `busy_timeout_ms`: how long a statement waits for a lock
  // held by another connection (another process) before failing.
  Db(const std::string& path, int busy_timeout_ms = 5000);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Runs one or more statements without results.
  void exec(std::string_view sql);
  // A prepared statement, cached by its text for the life of the connection.
  Stmt& prepare(std::string_view sql);
  std::int64_t changes() const;
  const std::string& path() const { return path_; }
  sqlite3* handle() { return db_; }

 private:
  struct Cache;
  std::string path_;
  sqlite3* db_ = nullptr;
  Cache* cache_ = nullptr;
};

// A prepared statement. reset() happens on each bind_all()/first bind after a step sequence.
class Stmt {
 public:
  Stmt(Db& db, std::string_view sql);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  // Resets the statement and clears its bindings; call before binding a new set.
  Stmt& reset();
  Stmt& bind(int index, std::string_view text);  // 1-based, as SQLite counts
  Stmt& bind(int index, std::int64_t value);
  Stmt& bind_null(int index);
  Stmt& bind_opt(int index, const std::optional<std::string>& text);  // NULL when empty

  // Steps once; true when a row is available.
  bool step();
  // Steps to the end (for statements without results).
  void run();

  std::string text(int column) const;  // 0-based; "" for NULL
  std::optional<std::string> text_or_null(int column) const;
  std::int64_t int64(int column) const;
  bool is_null(int column) const;

 private:
  Db& db_;
  sqlite3_stmt* stmt_ = nullptr;
  std::string sql_;
};

// A transaction savepoint: rolled back when destroyed without release().
class Savepoint {
 public:
  Savepoint(Db& db, std::string name);
  ~Savepoint();
  void release();

 private:
  Db& db_;
  std::string name_;
  bool done_ = false;
};

}  // namespace idp::service
