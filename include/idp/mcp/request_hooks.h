// The hooks a transport offers around each JSON-RPC request (StreamableHttpOptions::limit and
// ::observe): a limiter asked after authentication and parsing, before dispatch, and an
// observer told once how the request ended. ServerGuard builds rate limits, audit lines and
// metrics on them; a server may set its own.
//
// The observer hears of every JSON-RPC request the transport parsed (not of notifications or
// responses a client posts), and of every request that authentication refused; it runs on a server
// thread before the answer is sent, so it must be quick and thread-safe, and the pointers and
// views of a RequestEvent are valid only during the call.
#pragma once

#include <boost/json/value.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "idp/mcp/tool_context.h"

namespace idp::mcp {

// JSON-RPC error code of a rate-limited request (the implementation-defined server range).
inline constexpr int kRateLimitedError = -32029;

enum class RequestOutcome {
  kOk,           // a result (for tools/call: one without isError)
  kToolError,    // tools/call: the tool answered isError, threw, or broke its outputSchema
  kInvalid,      // tools/call: the arguments failed the inputSchema (types, pattern, format, ...)
  kDenied,       // authentication refused the request
  kRateLimited,  // the limiter refused it
  kError,        // a JSON-RPC error, a refusal of the transport, or a cancelled request
};
// "ok", "tool_error", "invalid", "denied", "rate_limited", "error".
const char* to_string(RequestOutcome outcome);

// What the limiter sees of a request.
struct RequestInfo {
  const Identity& identity;  // as the authenticator returned it (unauthenticated: empty)
  std::string_view peer;     // remote address
  std::string_view method;   // "tools/call", "initialize", ...
  std::string_view tool;     // tools/call: params.name; else empty
};

// Why the limiter refused a request. The transport answers HTTP 429 with Retry-After and the
// JSON-RPC error kRateLimitedError: "Rate limit exceeded: <limit> allows <rate>; retry after
// <n> s", data {"limit", "rate", "retryAfterSeconds"}.
struct RateRefusal {
  std::string limit;  // which limit ("tool_calls", "tool:calculator", ...)
  std::string rate;   // its rate as text ("5/min")
  std::chrono::seconds retry_after{1};
};

// nullopt lets the request through.
using RequestLimiter = std::function<std::optional<RateRefusal>(const RequestInfo& request)>;

struct RequestEvent {
  std::string_view trace_id;  // of the HTTP request, as in the server's log
  std::string_view peer;
  std::string_view session_id;         // the Mcp-Session-Id header as sent (empty: none)
  const Identity* identity = nullptr;  // null when authentication refused the request
  // The JSON-RPC method; "GET" or "DELETE" for a refused stream request; empty when a refused
  // POST held no JSON-RPC request.
  std::string_view method;
  std::string_view tool;                          // tools/call: params.name
  const boost::json::value* arguments = nullptr;  // tools/call: params.arguments, if any
  RequestOutcome outcome = RequestOutcome::kOk;
  int rpc_error = 0;    // the JSON-RPC error code of the answer; 0 when none
  int http_status = 0;  // of the answer (200 for a stream; 202 when a cancelled request got none)
  // A word from a fixed vocabulary, never text from the request: kDenied: the OAuth error of
  // the challenge ("invalid_token", "insufficient_scope", "missing_token", ...); kRateLimited:
  // "<limit> <rate>"; kInvalid: "schema" or "format"; kError: "cancelled" or "timeout" or empty.
  std::string_view detail;
  std::chrono::microseconds duration{0};  // from the request's arrival to its answer
};

using RequestObserver = std::function<void(const RequestEvent& event)>;

}  // namespace idp::mcp
