// Time for the modules: UTC text for logs, JSON and AWS signing (format_utc), and TimeSource (the
// design's "Clock" interface; named so that it never clashes with the many local
// `using Clock = std::chrono::steady_clock;`) for components whose rules depend on time (caches,
// back-off, expiry), so that tests drive them with a ManualTime instead of sleeping. format_utc is
// pure; every TimeSource is thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

namespace idp {

// `time` in UTC with an strftime format; the default is RFC 3339 ("2026-11-28T17:05:00Z").
std::string format_utc(std::chrono::system_clock::time_point time, const char* format = "%Y-%m-%dT%H:%M:%SZ");

class TimeSource {
 public:
  virtual ~TimeSource() = default;
  // Wall time: for token expiry (`exp`, `iat`).
  virtual std::chrono::system_clock::time_point now() const = 0;
  // Monotonic time: for intervals (cache ages, back-off).
  virtual std::chrono::steady_clock::time_point steady_now() const = 0;
};

// The process's real clocks; one shared instance.
std::shared_ptr<const TimeSource> real_time();

// A clock that moves only when told to: both readings advance together. Starts at the real
// time of its construction.
class ManualTime final : public TimeSource {
 public:
  ManualTime();
  std::chrono::system_clock::time_point now() const override;
  std::chrono::steady_clock::time_point steady_now() const override;
  void advance(std::chrono::steady_clock::duration by);

 private:
  mutable std::mutex mu_;
  std::chrono::system_clock::time_point wall_;
  std::chrono::steady_clock::time_point steady_;
};

}  // namespace idp
