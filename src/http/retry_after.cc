#include "idp/http/retry_after.h"

#include <time.h>

#include <charconv>
#include <string>

namespace idp::http {

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (value.front() >= '0' && value.front() <= '9') {
    long long secs = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), secs);
    if (ec != std::errc() || p != value.data() + value.size()) return std::nullopt;
    return std::chrono::seconds(secs);
  }
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT", 29 characters.
  if (value.size() != 29 || value.substr(25) != " GMT") return std::nullopt;
  const std::string text(value);
  struct tm tm {};
  const char* end = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return std::nullopt;
  const auto at = std::chrono::system_clock::from_time_t(::timegm(&tm));
  if (at <= now) return std::chrono::seconds(0);
  return std::chrono::ceil<std::chrono::seconds>(at - now);
}

}  // namespace idp::http
