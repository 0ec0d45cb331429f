// idp::mcp::ServerGuard gives an MCP server the operational features a customer's server needs,
// each off until given: rate limits per principal (and per tool), an audit line per tool call,
// refusal and rate-limited request (audit.h), Prometheus metrics on /metrics
// (idp/core/metrics.h) and /healthz. A few lines turn it on:
//
//   mcp::ServerGuard guard(server, {.rate_limiter = limiter, .audit = audit, .metrics = metrics});
//   guard.add_tool(tool, handler);         // server.add_tool, and the tool's argument names
//   transport_options.authenticate = bearer.authenticator();
//   guard.install(transport_options);      // the limit and observe hooks (request_hooks.h)
//   guard.serve(http);                     // GET /metrics, GET /healthz
//
// It works through the transport's request hooks: the limiter answers a request over a limit
// with HTTP 429, Retry-After and a JSON-RPC error naming the limit and when to retry (audited as
// `rate_limited`); the observer audits every tools/call (`ok`, `tool_error`, `invalid`), every
// request that authentication refused (`denied`) and every rate-limited one, and counts every
// request by method and status. Input validation beyond types (JSON Schema "format", see
// formats.h) is the schema validator's, for every tool of the server.
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
  std::string metrics_path = "/metrics";
  std::string health_path = "/healthz";
};

class ServerGuard {
 public:
  ServerGuard(Server& server, ServerGuardOptions options);
  ~ServerGuard();
  ServerGuard(const ServerGuard&) = delete;
  ServerGuard& operator=(const ServerGuard&) = delete;

  // Server::add_tool; the guard remembers the tool's declared argument names (the audit line
  // writes only those) and labels its metrics with the tool's name. Fails as Server::add_tool
  // does.
  Result<void> add_tool(Tool tool, ToolHandler handler);

  // Sets options.limit (when there is a rate limiter) and options.observe to the guard's hooks,
  // keeping an observer already there (it is called first). Keeps the guard's state alive.
  void install(StreamableHttpOptions& options);

  // GET <metrics_path> (Prometheus text) and GET <health_path> on `http`, before http.start().
  // The gauge of active sessions reads `sessions` when given (e.g. the transport's
  // session_count).
  void serve(http::Server& http, std::function<std::size_t()> sessions = {});

  // What GET <health_path> answers: 200 {"status":"ok"}; once the HTTP server stops, 503
  // {"status":"stopping","in_flight":N} with the requests still running.
  http::Response health() const;

  std::size_t in_flight() const;  // requests running now (Server::in_flight)

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace idp::mcp
