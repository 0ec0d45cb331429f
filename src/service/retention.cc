#include "retention.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>

#include "idp/core/log.h"

namespace idp::service {

namespace net = boost::asio;

struct RetentionSweeper::State : std::enable_shared_from_this<RetentionSweeper::State> {
  State(net::any_io_executor ex) : strand(net::make_strand(ex)), timer(strand) {}
  net::strand<net::any_io_executor> strand;
  net::steady_timer timer;
  std::shared_ptr<Store> store;
  int days = 30;
  std::chrono::milliseconds interval{std::chrono::hours(1)};
  std::atomic<bool> stopped{false};

  net::awaitable<void> loop() {
    auto self = shared_from_this();
    while (!stopped) {
      auto cutoff = std::chrono::system_clock::now() - std::chrono::hours(24) * days;
      auto swept = co_await store->delete_expired(cutoff);
      if (!swept) {
        log::warn("retention: the sweep failed: {}", swept.error().message());
      } else if (swept->sessions || swept->jobs) {
        log::info("retention: deleted {} sessions and {} jobs not updated for {} days",
                  swept->sessions, swept->jobs, days);
      }
      timer.expires_after(interval);
      co_await timer.async_wait(net::as_tuple(net::use_awaitable));
    }
  }
};

RetentionSweeper::RetentionSweeper(net::any_io_executor executor, std::shared_ptr<Store> store,
                                   int days, std::chrono::milliseconds interval)
    : state_(std::make_shared<State>(executor)) {
  state_->store = std::move(store);
  state_->days = days;
  state_->interval = interval;
}

RetentionSweeper::~RetentionSweeper() { stop(); }

void RetentionSweeper::start() {
  auto s = state_;
  net::co_spawn(s->strand, s->loop(), net::detached);
}

void RetentionSweeper::stop() {
  auto s = state_;
  s->stopped = true;
  net::post(s->strand, [s] { s->timer.cancel(); });
}

}  // namespace idp::service
