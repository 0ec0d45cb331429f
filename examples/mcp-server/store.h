// The example server's data: client records (seeded with sample clients on first use) and the
// e-mail outbox, in one SQLite database file. Every query is a prepared statement with bound
// parameters: argument strings are data and never become SQL. The outbox is durable (WAL,
// synchronous=FULL): a queued message survives a crash or restart, and an idempotency key
// (unique per caller) makes a retried send return the first message instead of queueing another.
// Thread-safe: one connection behind a mutex (calls are short; the database is local).
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace example {

struct ClientRecord {
  std::string client_id, name, street, city, postal_code, country, email;
};

struct OutboxMessage {
  std::string message_id;
  std::string owner;  // the principal that queued it
  std::string client_id;
  std::string to, subject, body;
  std::string status;  // queued | sent | failed
  int attempts = 0;
  std::string last_error;
  std::string created_at;  // RFC 3339 UTC
};

struct NewMessage {
  std::string owner, client_id, to, subject, body;
  std::string idempotency_key;  // empty: none
  std::string request_digest;   // what the key stands for; a reuse with other arguments fails
};

class Store {
 public:
  // Opens or creates the database, creates the tables and seeds the sample clients when the
  // clients table is empty. The error names the path and SQLite's reason.
  static std::expected<std::unique_ptr<Store>, std::string> open(const std::string& path);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  std::expected<std::optional<ClientRecord>, std::string> find_client(const std::string& client_id);

  // Queues a message, or returns the one queued before under the same owner and key
  // (`created` false). A key reused with other arguments is an error.
  struct Queued {
    OutboxMessage message;
    bool created = true;
  };
  std::expected<Queued, std::string> enqueue(const NewMessage& m);

  std::expected<std::vector<OutboxMessage>, std::string> list(const std::string& owner,
                                                              const std::string& status, int limit);

  // For the mailer: queued messages whose next attempt is due (oldest first).
  std::expected<std::vector<OutboxMessage>, std::string> due(std::int64_t now_ms, int limit);
  std::expected<void, std::string> mark_sent(const std::string& message_id);
  // Records a failed attempt: queued again at `next_attempt_ms`, or failed when `give_up`.
  std::expected<void, std::string> mark_attempt_failed(const std::string& message_id,
                                                       const std::string& error,
                                                       std::int64_t next_attempt_ms, bool give_up);
  // The earliest next attempt of a queued message, if any.
  std::optional<std::int64_t> next_due();

 private:
  Store() = default;
  std::mutex mu_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* find_client_ = nullptr;
};

}  // namespace example
