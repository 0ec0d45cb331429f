#include "pg_notifier.h"

#include <poll.h>

#include <chrono>

#include "idp/core/log.h"
#include "pg_conn.h"

namespace idp::service {

PgNotifier::PgNotifier(std::string conninfo) : conninfo_(std::move(conninfo)) {
  thread_ = std::thread([this] { loop(); });
}

PgNotifier::~PgNotifier() {
  stopping_ = true;
  thread_.join();
}

std::shared_ptr<Wakeup> PgNotifier::watch(const std::string& session_id) {
  auto w = std::make_shared<Wakeup>();
  std::lock_guard lock(mu_);
  std::erase_if(watches_, [](const auto& kv) { return kv.second.expired(); });
  watches_.emplace(session_id, w);
  return w;
}

void PgNotifier::on_cancel(std::function<void(const std::string&)> handler) {
  std::lock_guard lock(mu_);
  cancel_handler_ = std::move(handler);
}

void PgNotifier::wake(const std::string& session_id) {
  std::lock_guard lock(mu_);
  auto [from, to] = watches_.equal_range(session_id);
  for (auto it = from; it != to; ++it) {
    if (auto w = it->second.lock()) w->notify();
  }
}

void PgNotifier::wake_all() {
  std::lock_guard lock(mu_);
  for (auto& kv : watches_) {
    if (auto w = kv.second.lock()) w->notify();
  }
}

void PgNotifier::loop() {
  std::unique_ptr<PgConn> conn;
  bool warned = false;
  while (!stopping_) {
    try {
      if (!conn) {
        conn = std::make_unique<PgConn>(conninfo_);
        conn->exec(std::string("LISTEN ") + kEventsChannel);
        conn->exec(std::string("LISTEN ") + kCancelChannel);
        if (warned) log::info("store: listening for other replicas' notifications again");
        warned = false;
        wake_all();  // whatever was missed meanwhile: the followers look at the store
      }
      pollfd p{conn->socket(), POLLIN, 0};
      if (::poll(&p, 1, 200) > 0) {
        conn->consume_input();
        while (auto n = conn->notification()) {
          if (n->first == kEventsChannel) {
            wake(n->second);
          } else if (n->first == kCancelChannel) {
            std::function<void(const std::string&)> handler;
            {
              std::lock_guard lock(mu_);
              handler = cancel_handler_;
            }
            if (handler) handler(n->second);
          }
        }
      }
    } catch (const PgError& e) {
      if (!warned) log::warn("store: the notification connection failed ({}); retrying", e.what());
      warned = true;
      conn.reset();
      for (int i = 0; i < 10 && !stopping_; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

}  // namespace idp::service
