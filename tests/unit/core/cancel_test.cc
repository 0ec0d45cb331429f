#include "idp/core/cancel.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <thread>

#include "idp/core/cancel_wait.h"

namespace idp {
namespace {

namespace net = boost::asio;
using namespace net::experimental::awaitable_operators;

TEST(CancelSignal, CallbacksRunOnceAndLateSubscribersRunAtOnce) {
  CancelSignal sig;
  int calls = 0;
  auto sub = sig.subscribe([&] { ++calls; });
  EXPECT_EQ(sig.subscriber_count(), 1u);
  sig.cancel();
  sig.cancel();
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(sig.cancelled());
  auto late = sig.subscribe([&] { ++calls; });
  EXPECT_EQ(calls, 2);
}

TEST(CancelSignal, DroppedSubscriptionsDoNotAccumulate) {
  CancelSignal sig;
  int calls = 0;
  for (int i = 0; i < 1000; ++i) {
    auto sub = sig.subscribe([&] { ++calls; });
  }
  EXPECT_EQ(sig.subscriber_count(), 0u);
  sig.cancel();
  EXPECT_EQ(calls, 0);
}

TEST(CancelSignal, SubscriptionOutlivingSignalIsHarmless) {
  CancelSignal::Subscription sub;
  {
    CancelSignal sig;
    sub = sig.subscribe([] {});
  }
  sub.reset();
  SUCCEED();
}

TEST(CancelSignal, WaitCancelledEndsTheOtherBranchWhenCancelledFromAnotherThread) {
  net::io_context io;
  auto sig = std::make_shared<CancelSignal>();
  std::atomic<int> outcome{-1};
  net::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        net::steady_timer forever(io, net::steady_timer::time_point::max());
        auto r = co_await (forever.async_wait(net::use_awaitable) || wait_cancelled(sig));
        outcome = static_cast<int>(r.index());
      },
      net::detached);
  std::thread canceller([&] {
    // Cancel once the coroutine is waiting: it has subscribed by then.
    while (sig->subscriber_count() == 0) std::this_thread::yield();
    sig->cancel();
  });
  io.run();
  canceller.join();
  EXPECT_EQ(outcome, 1);
}

TEST(CancelSignal, WaitCancelledLosesQuietlyAndUnsubscribes) {
  net::io_context io;
  auto sig = std::make_shared<CancelSignal>();
  int outcome = -1;
  net::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        net::steady_timer soon(io, std::chrono::milliseconds(1));
        auto r = co_await (soon.async_wait(net::use_awaitable) || wait_cancelled(sig));
        outcome = static_cast<int>(r.index());
      },
      net::detached);
  io.run();
  EXPECT_EQ(outcome, 0);
  EXPECT_EQ(sig->subscriber_count(), 0u);
}

}  // namespace
}  // namespace idp
