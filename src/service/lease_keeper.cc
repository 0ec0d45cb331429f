#include "lease_keeper.h"

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
namespace bj = boost::json;

struct LeaseKeeper::State : std::enable_shared_from_this<LeaseKeeper::State> {
  State(net::any_io_executor ex) : strand(net::make_strand(ex)), timer(strand) {}
  net::strand<net::any_io_executor> strand;
  net::steady_timer timer;
  std::shared_ptr<Store> store;
  std::chrono::milliseconds lease{10'000};
  std::function<void(const std::string&)> cancel;
  std::atomic<bool> stopped{false};

  net::awaitable<void> loop() {
    auto self = shared_from_this();
    bool failing = false;
    while (!stopped) {
      bj::object interrupted{
          {"type", "error"},
          {"code", "interrupted"},
          {"message", "the service replica writing this answer stopped (no sign of life for " +
                          std::to_string(lease.count() / 1000) + " s); ask again"}};
      std::string job_error = "interrupted: the service replica running this job stopped";
      auto swept = co_await store->keep_leases(std::move(interrupted), std::move(job_error));
      if (!swept) {
        if (!failing) log::warn("leases: cannot renew or check them: {}", swept.error().message());
        failing = true;
      } else {
        if (failing) log::info("leases: the store answers again");
        failing = false;
        for (const auto& id : swept->cancel_requested) cancel(id);
        if (swept->turns_interrupted || swept->jobs_failed) {
          log::warn("leases: {} turns and {} jobs of a stopped replica ended (interrupted)",
                    swept->turns_interrupted, swept->jobs_failed);
        }
      }
      timer.expires_after(std::max(std::chrono::milliseconds(50), lease / 3));
      co_await timer.async_wait(net::as_tuple(net::use_awaitable));
    }
  }
};

LeaseKeeper::LeaseKeeper(net::any_io_executor executor, std::shared_ptr<Store> store,
                         std::chrono::milliseconds lease,
                         std::function<void(const std::string&)> cancel)
    : state_(std::make_shared<State>(executor)) {
  state_->store = std::move(store);
  state_->lease = lease;
  state_->cancel = std::move(cancel);
}

LeaseKeeper::~LeaseKeeper() { stop(); }

void LeaseKeeper::start() {
  auto s = state_;
  net::co_spawn(s->strand, s->loop(), net::detached);
}

void LeaseKeeper::stop() {
  auto s = state_;
  s->stopped = true;
  net::post(s->strand, [s] { s->timer.cancel(); });
}

}  // namespace idp::service
