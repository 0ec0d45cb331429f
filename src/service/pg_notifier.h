// PgNotifier listens, on a connection of its own, for what the replicas of a PostgreSQL store
// tell each other with NOTIFY: `idp_events` (payload: a session id; events of it were
// committed) wakes the followers of that session on this replica, and `idp_cancel` (payload: a
// session id) hands a cancel request to the handler (the turn manager, which cancels the turn if
// it runs here). Notifications only wake: the store stays the truth, and a follower that misses
// one still polls. After a lost connection it reconnects and wakes every follower.
//
// Thread-safety: every member may be called from any thread; the handler and the wake-ups run on
// the listener's thread (they post, never block).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "wakeup.h"

namespace idp::service {

inline constexpr const char* kEventsChannel = "idp_events";
inline constexpr const char* kCancelChannel = "idp_cancel";

class PgNotifier {
 public:
  explicit PgNotifier(std::string conninfo);
  ~PgNotifier();
  PgNotifier(const PgNotifier&) = delete;
  PgNotifier& operator=(const PgNotifier&) = delete;

  std::shared_ptr<Wakeup> watch(const std::string& session_id);
  void on_cancel(std::function<void(const std::string& session_id)> handler);

 private:
  void loop();
  void wake(const std::string& session_id);
  void wake_all();

  std::string conninfo_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::unordered_multimap<std::string, std::weak_ptr<Wakeup>> watches_;
  std::function<void(const std::string&)> cancel_handler_;
  std::thread thread_;
};

}  // namespace idp::service
