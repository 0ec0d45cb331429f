#include "idp/core/clock.h"

#include <ctime>

namespace idp {

std::string format_utc(std::chrono::system_clock::time_point time, const char* format) {
  std::time_t t = std::chrono::system_clock::to_time_t(time);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::size_t n = std::strftime(buf, sizeof buf, format, &tm);
  return std::string(buf, n);
}

namespace {

class RealTime final : public TimeSource {
 public:
  std::chrono::system_clock::time_point now() const override {
    return std::chrono::system_clock::now();
  }
  std::chrono::steady_clock::time_point steady_now() const override {
    return std::chrono::steady_clock::now();
  }
};

}  // namespace

std::shared_ptr<const TimeSource> real_time() {
  static const std::shared_ptr<const TimeSource> clock = std::make_shared<RealTime>();
  return clock;
}

ManualTime::ManualTime()
    : wall_(std::chrono::system_clock::now()), steady_(std::chrono::steady_clock::now()) {}

std::chrono::system_clock::time_point ManualTime::now() const {
  std::lock_guard lock(mu_);
  return wall_;
}

std::chrono::steady_clock::time_point ManualTime::steady_now() const {
  std::lock_guard lock(mu_);
  return steady_;
}

void ManualTime::advance(std::chrono::steady_clock::duration by) {
  std::lock_guard lock(mu_);
  steady_ += by;
  wall_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(by);
}

}  // namespace idp
