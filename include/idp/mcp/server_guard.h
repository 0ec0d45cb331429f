// idp::mcp::ServerGuard gives an MCP server the operational features a customer's server needs,
// each off until given: rate limits per principal (and per tool), input validation beyond types
// (JSON Schema "format", see formats.h), an audit line per tool call, refusal and rate-limited
// request (audit.h), Prometheus metrics on /metrics (idp/core/metrics.h) and /healthz. A few lines
// turn it on:
//
//   mcp::ServerGuard guard(server, {.rate_limiter = limiter, .audit = audit, .metrics = metrics});
//   guard.add_tool(tool, handler);                              // instead of server.add_tool
//   transport_options.authenticate = guard.authenticator(bearer.authenticator());
//   guard.serve(http);                                          // GET /metrics, GET /healthz
//
// The authenticator wraps the real one (which may be empty: anonymous callers, principal = the
// peer address): refused requests are audited as `denied`; then the rate limits apply (HTTP 429,
// Retry-After, and a JSON-RPC error naming the limit and when to retry, audited as
// `rate_limited`); then tools/call arguments are validated against the tool's schema and formats
// (a failure is audited as `invalid` and answered by the server as a tool error naming the field
// and the rule). Tools added through the guard are timed and audited as `ok` or `tool_error`.
//
// This works with today's transport through its Authenticator hook; docs/mcp-server-guide.md
// lists the per-request observer and pre-dispatch hooks that will replace the body peek.
// Thread-safe: every member may be called from any server thread; add tools before serving.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "idp/core/error.h"
#include "idp/core/metrics.h"
#include "idp/http/server.h"
#include "idp/mcp/audit.h"
#include "idp/mcp/rate_limit.h"
#include "idp/mcp/server.h"
#include "idp/mcp/streamable_http_server.h"

namespace idp::mcp {

struct ServerGuardOptions {
  std::shared_ptr<RateLimiter> rate_limiter;  // null: no limits
  std::shared_ptr<AuditLog> audit;            // null: no audit lines
  std::shared_ptr<MetricsRegistry> metrics;   // null: no metrics (the guard registers its own)
  bool enforce_formats = true;                // email, uri, date-time, date, uuid, ipv4
  std::string metrics_path = "/metrics";
  std::string health_path = "/healthz";
};

// JSON-RPC error code of a rate-limited request (the implementation-defined server range).
inline constexpr int kRateLimitedError = -32029;

class ServerGuard {
 public:
  ServerGuard(Server& server, ServerGuardOptions options);
  ~ServerGuard();
  ServerGuard(const ServerGuard&) = delete;
  ServerGuard& operator=(const ServerGuard&) = delete;

  // Server::add_tool with a handler that enforces formats, times the call, counts it and writes
  // its audit line. Fails as Server::add_tool does.
  Result<void> add_tool(Tool tool, ToolHandler handler);

  // The pre-dispatch hook for StreamableHttpOptions::authenticate (see above). Keeps the guard's
  // state alive.
  Authenticator authenticator(Authenticator inner = {});

  // GET <metrics_path> (Prometheus text) and GET <health_path> ({"status":"ok"}, 503
  // {"status":"stopping"} once the server stops) on `http`, before http.start(). The gauge of
  // active sessions reads `sessions` when given (e.g. the transport's session_count).
  void serve(http::Server& http, std::function<std::size_t()> sessions = {});

  std::size_t in_flight() const;  // tool calls running now

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace idp::mcp
