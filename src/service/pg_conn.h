// A thin RAII layer over libpq for the PostgreSQL store: a connection (PgConn) that prepares
// each statement once (named by its text) and runs it with text parameters, and its results
// (PgResult). Failures throw PgError with PostgreSQL's SQLSTATE, so that the pool can tell a
// serialization failure or a deadlock (retried) from the rest; the store turns it into an
// idp::Error at its boundary, so exceptions never leave the module.
//
// Not thread-safe: a PgConn belongs to one thread at a time (a pool thread, the listener).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

struct pg_conn;
struct pg_result;

namespace idp::service {

class PgError : public std::runtime_error {
 public:
  PgError(std::string message, std::string sqlstate, bool connection_lost)
      : std::runtime_error(std::move(message)),
        sqlstate_(std::move(sqlstate)),
        connection_lost_(connection_lost) {}
  const std::string& sqlstate() const { return sqlstate_; }  // "" when none (connection)
  bool connection_lost() const { return connection_lost_; }
  // 40001 (serialization failure) or 40P01 (deadlock): the transaction may simply run again.
  bool retryable() const { return sqlstate_ == "40001" || sqlstate_ == "40P01"; }

 private:
  std::string sqlstate_;
  bool connection_lost_;
};

// One statement parameter in text form; nullopt is SQL NULL.
class PgParam {
 public:
  PgParam(std::string_view text) : value_(std::string(text)) {}
  PgParam(const std::string& text) : value_(text) {}
  PgParam(const char* text) : value_(std::string(text)) {}
  PgParam(std::int64_t n) : value_(std::to_string(n)) {}
  PgParam(int n) : value_(std::to_string(n)) {}
  PgParam(std::optional<std::string> text) : value_(std::move(text)) {}
  const std::optional<std::string>& value() const { return value_; }

 private:
  std::optional<std::string> value_;
};

class PgResult {
 public:
  explicit PgResult(pg_result* r) : r_(r) {}
  ~PgResult();
  PgResult(PgResult&& o) noexcept : r_(std::exchange(o.r_, nullptr)) {}
  PgResult& operator=(PgResult&&) = delete;
  PgResult(const PgResult&) = delete;

  int rows() const;
  std::int64_t affected() const;                // rows changed by INSERT/UPDATE/DELETE
  std::string text(int row, int column) const;  // "" for NULL
  std::optional<std::string> text_or_null(int row, int column) const;
  std::int64_t int64(int row, int column) const;
  bool is_null(int row, int column) const;

 private:
  pg_result* r_;
};

class PgConn {
 public:
  // Connects (blocking). `conninfo`: a postgresql:// URL or key=value pairs. Errors name the
  // server, never a password.
  explicit PgConn(const std::string& conninfo);
  ~PgConn();
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  // Runs statements without parameters (BEGIN, COMMIT, LISTEN, migrations).
  PgResult exec(std::string_view sql);
  // Runs one statement with parameters, prepared on first use.
  PgResult query(const std::string& sql, std::initializer_list<PgParam> params = {});
  PgResult query(const std::string& sql, const std::vector<PgParam>& params);

  bool healthy() const;
  // Reconnects a broken connection (prepared statements are prepared again on use).
  void reset();

  // Notifications (LISTEN): the connection's socket, reading what arrived, taking one.
  int socket() const;
  void consume_input();
  std::optional<std::pair<std::string, std::string>> notification();  // channel, payload

 private:
  PgResult check(pg_result* r, std::string_view what);
  pg_conn* conn_ = nullptr;
  std::unordered_map<std::string, std::string> prepared_;  // sql -> statement name
};

// `url` without its password ("postgresql://user@host:5432/db"): what logs and errors show.
std::string redact_conninfo(std::string_view url);

}  // namespace idp::service
