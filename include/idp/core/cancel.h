// idp::CancelSignal cancels one operation (an MCP call, a model stream, an agent turn) from
// anywhere. It is a one-way flag plus callbacks: cancel() sets it once and runs every callback
// registered at that moment; a callback registered after cancel() runs at once. Callbacks are
// removed when their Subscription is destroyed, so a long-lived signal shared by many short
// operations does not grow. Thread-safe: cancel(), cancelled() and subscribe() may be called
// from any thread; callbacks run on the thread that calls cancel() (or subscribe()), without the
// internal lock held, so they should only post work to an executor.
//
// wait_cancelled() (in idp/core/cancel_wait.h) turns the signal into an awaitable for
// `co_await (operation || wait_cancelled(...))`.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

namespace idp {

class CancelSignal {
 public:
  CancelSignal();
  ~CancelSignal();
  CancelSignal(const CancelSignal&) = delete;
  CancelSignal& operator=(const CancelSignal&) = delete;

  void cancel();
  bool cancelled() const;

  // Unregisters its callback when destroyed (or reset()); movable, not copyable.
  class Subscription {
   public:
    Subscription() = default;
    Subscription(Subscription&& other) noexcept;
    Subscription& operator=(Subscription&& other) noexcept;
    ~Subscription();
    void reset();

   private:
    friend class CancelSignal;
    struct Shared;
    std::weak_ptr<Shared> state_;
    std::uint64_t id_ = 0;
  };
  // Runs `callback` once on cancel() (at once when already cancelled).
  [[nodiscard]] Subscription subscribe(std::function<void()> callback);
  // Number of live callbacks (tests).
  std::size_t subscriber_count() const;

 private:
  std::shared_ptr<Subscription::Shared> state_;
};

}  // namespace idp
