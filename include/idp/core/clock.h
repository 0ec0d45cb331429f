// Time formatting shared by the modules: UTC text for logs, JSON and AWS signing.
// Pure functions; thread-safe.
#pragma once

#include <chrono>
#include <string>

namespace idp {

// `time` in UTC with an strftime format; the default is RFC 3339 ("2026-11-28T17:05:00Z").
std::string format_utc(std::chrono::system_clock::time_point time, const char* format = "%Y-%m-%dT%H:%M:%SZ");

}  // namespace idp
