// idp::mcp::RateLimiter limits how often each caller (principal) may call an MCP server: token
// buckets per principal for tool calls, for every other method, and optionally per tool. A
// bucket holds up to `burst` tokens and refills at `count` per `period`; a request takes one
// token or is refused with the time after which one will be there (sent as HTTP 429 with
// Retry-After by the transport, through ServerGuard's limiter hook). The principal is the
// token's `sub`, else its `client_id`, else the peer address (principal_of). A bucket that has refilled completely is the same as a new one,
// so it is dropped: memory follows the callers active in the last period, and a hard cap evicts
// the least recently used bucket beyond it. Limits are set in code or read from a JSON file.
// Thread-safe: check() may run on every server thread at once (buckets live in locked shards).
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "idp/core/error.h"
#include "idp/mcp/tool_context.h"

namespace idp::mcp {

struct Rate {
  double count = 0;  // tokens per period (> 0)
  std::chrono::milliseconds period{60'000};
  double burst = 0;          // bucket size; 0: same as count
  std::string text() const;  // "5/min", "2/s", "100/h", "10/30s"
};

// "N/s", "N/sec", "N/second", "N/min", "N/minute", "N/h", "N/hour", "N/<k>s" (N > 0, at most
// 1e9). The error names the text and the expected form.
Result<Rate> parse_rate(std::string_view text);

struct RateLimits {
  std::optional<Rate> tool_calls;     // tools/call, all tools together, per principal
  std::optional<Rate> other_methods;  // every other request (initialize, tools/list, GET, ...)
  std::map<std::string, Rate, std::less<>> per_tool;  // one tool, per principal, on top
  std::size_t max_buckets = 100'000;  // hard cap over all buckets (least recently used evicted)
};

// Reads {"tool_calls": "5/min", "other_methods": "600/min", "tools": {"calculator": "2/s"},
// "max_buckets": 100000} (every key optional; unknown keys are errors). Errors name the file and
// the key.
Result<RateLimits> load_rate_limits(const std::string& path);

// The verified `sub`, else `client_id`, else "peer:<address>".
std::string principal_of(const Identity& identity, std::string_view peer_address);

struct RateDecision {
  bool allowed = true;
  std::string limit;  // which limit refused: "tool_calls", "tool:<name>", ...
  std::string rate;   // its rate as text ("5/min")
  std::chrono::milliseconds retry_after{0};
  // Retry-After in whole seconds (rounded up, at least 1).
  long retry_after_seconds() const;
};

class RateLimiter {
 public:
  explicit RateLimiter(RateLimits limits);
  ~RateLimiter();
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // Takes a token from each bucket that applies to this request (tool == "" unless the method
  // is tools/call). A refused request takes nothing.
  RateDecision check(std::string_view principal, std::string_view method, std::string_view tool,
                     std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

  const RateLimits& limits() const;
  std::size_t bucket_count() const;  // for tests and metrics

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace idp::mcp
