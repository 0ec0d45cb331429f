// Secret holds a sensitive string (password, token, client secret). Every way of printing it
// (operator<<, fmt) yields "***", so a secret cannot reach a log line by accident; the value is
// reachable only through the explicit reveal(). The buffer is wiped on destruction.
// Value type; not synchronized.
#pragma once

#include <fmt/format.h>

#include <ostream>
#include <string>
#include <string_view>

namespace idp {

class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}
  Secret(const Secret&) = default;
  Secret(Secret&& other) noexcept : value_(std::move(other.value_)) { other.wipe(); }
  Secret& operator=(const Secret& other) {
    if (this != &other) {
      wipe();
      value_ = other.value_;
    }
    return *this;
  }
  Secret& operator=(Secret&& other) noexcept {
    if (this != &other) {
      wipe();
      value_ = std::move(other.value_);
      other.wipe();
    }
    return *this;
  }
  ~Secret() { wipe(); }

  // The only way to the plain value. Grep for reveal() to audit every use.
  const std::string& reveal() const { return value_; }
  bool empty() const { return value_.empty(); }
  bool operator==(const Secret& other) const;  // constant time

 private:
  void wipe() noexcept;
  std::string value_;
};

inline std::ostream& operator<<(std::ostream& os, const Secret&) { return os << "***"; }

}  // namespace idp

template <>
struct fmt::formatter<idp::Secret> : fmt::formatter<std::string_view> {
  auto format(const idp::Secret&, format_context& ctx) const {
    return fmt::formatter<std::string_view>::format("***", ctx);
  }
};
