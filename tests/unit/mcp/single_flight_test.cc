// The client's renewals: many coroutines on several threads that fail for one reason at once
// get one renewal between them, those that arrive while it runs wait for its result, and a
// caller whose failure predates a finished renewal does not start another.
#include <gtest/gtest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <atomic>
#include <future>
#include <thread>

#include "single_flight.h"

namespace idp::mcp {
namespace {

namespace net = boost::asio;
using net::awaitable;

struct Renewer {
  std::atomic<int> runs{0};
  std::atomic<std::uint64_t> generation{0};
  bool fail = false;

  // A renewal that takes a round trip (a timer), so that callers overlap with it.
  awaitable<Result<void>> renew() {
    ++runs;
    auto ex = co_await net::this_coro::executor;
    net::steady_timer round_trip(ex, std::chrono::milliseconds(30));
    co_await round_trip.async_wait(net::as_tuple(net::use_awaitable));
    if (fail) co_return make_error(ErrorCode::kUnavailable, "the identity provider is down");
    ++generation;
    co_return Result<void>{};
  }
};

awaitable<Result<void>> caller(SingleFlight& flight, Renewer& r, std::uint64_t seen) {
  SingleFlight::Stale stale = [&r, seen] { return r.generation.load() != seen; };
  SingleFlight::Renew renew = [&r] { return r.renew(); };
  auto result = co_await flight.run(std::move(stale), std::move(renew));
  co_return result;
}

TEST(SingleFlight, ConcurrentCallersShareOneRenewal) {
  net::io_context ioc;
  auto work = net::make_work_guard(ioc);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back([&] { ioc.run(); });
  SingleFlight flight;
  Renewer renewer;
  std::vector<std::future<Result<void>>> results;
  for (int i = 0; i < 32; ++i) {
    auto ex = i % 2 ? net::any_io_executor(net::make_strand(ioc))
                    : net::any_io_executor(ioc.get_executor());
    results.push_back(net::co_spawn(ex, caller(flight, renewer, 0), net::use_future));
  }
  for (auto& r : results) EXPECT_TRUE(r.get());
  EXPECT_EQ(renewer.runs.load(), 1);
  EXPECT_EQ(renewer.generation.load(), 1u);

  // Failures that predate the renewal start no other; a failure of the new generation does.
  EXPECT_TRUE(net::co_spawn(ioc, caller(flight, renewer, 0), net::use_future).get());
  EXPECT_EQ(renewer.runs.load(), 1);
  EXPECT_TRUE(net::co_spawn(ioc, caller(flight, renewer, 1), net::use_future).get());
  EXPECT_EQ(renewer.runs.load(), 2);
  work.reset();
  for (auto& t : threads) t.join();
}

TEST(SingleFlight, WaitersShareAFailureAndWaitIdleWaits) {
  net::io_context ioc;
  SingleFlight flight;
  Renewer renewer;
  renewer.fail = true;
  std::vector<std::future<Result<void>>> results;
  for (int i = 0; i < 5; ++i)
    results.push_back(net::co_spawn(ioc, caller(flight, renewer, 0), net::use_future));
  // Started after the renewal: returns only once it is over.
  auto idle = net::co_spawn(
      ioc,
      [&]() -> awaitable<bool> {
        co_await flight.wait_idle();
        co_return !flight.running() && renewer.runs.load() == 1;
      },
      net::use_future);
  ioc.run();
  for (auto& r : results) {
    auto v = r.get();
    ASSERT_FALSE(v);
    EXPECT_EQ(v.error().message(), "the identity provider is down");
  }
  EXPECT_EQ(renewer.runs.load(), 1);
  EXPECT_TRUE(idle.get());
}

}  // namespace
}  // namespace idp::mcp
