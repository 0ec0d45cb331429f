// The Retry-After field (RFC 9110 10.2.3) as a client reads it, e.g. on an HTTP 429 or 503.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace idp::http {

// The wait from `now` that a Retry-After value asks for: delay-seconds ("120") or an HTTP-date
// in the IMF-fixdate form senders must use ("Sun, 06 Nov 1994 08:49:37 GMT"; a date in the past
// is a wait of 0). nullopt for anything else.
std::optional<std::chrono::seconds> parse_retry_after(
    std::string_view value,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

}  // namespace idp::http
