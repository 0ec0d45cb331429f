// StreamableHttpServer serves an idp::mcp::Server over the Streamable HTTP transport on one
// endpoint of an idp::http::Server, for both protocol eras at once, chosen per request:
//
// - 2025-11-25 (also 2025-06-18 and 2025-03-26): an initialize opens a session. POST for client
//   messages (answered with JSON, or with an SSE stream as soon as the request sends
//   notifications or server-to-client requests), GET for the standalone server-to-client stream,
//   DELETE to end a session. Sessions have unguessable ids and belong to the identity that
//   opened them; SSE events carry ids and can be replayed with Last-Event-ID from a bounded
//   buffer. A stateless mode issues no sessions.
// - 2026-07-28: a request with MCP-Protocol-Version 2026-07-28 (or a _meta protocolVersion) and
//   no session id stands alone. Headers must mirror the body (MCP-Protocol-Version, Mcp-Method,
//   Mcp-Name, Mcp-Param-*: 400 / -32020 otherwise), _meta must carry the version and client
//   capabilities (400 / -32602), unknown versions get 400 / -32022 with the supported ones,
//   unknown or removed methods 404 / -32601, GET and DELETE 405. subscriptions/listen opens a
//   notification stream; closing a response stream cancels its request.
//
// Host and Origin are validated against DNS rebinding in both eras. Handlers run under the
// Server's handler deadline (ServerOptions::handler_timeout). The limit and observe hooks see
// every JSON-RPC request (request_hooks.h).
// Thread-safety: attach() before the HTTP server starts; session_count() from any thread.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "idp/http/message.h"
#include "idp/http/server.h"
#include "idp/mcp/request_hooks.h"
#include "idp/mcp/server.h"

namespace idp::mcp {

// Authenticates an HTTP request before any MCP processing. Return the caller's identity (an
// Identity, or a SharedIdentity to hand every request of a known caller the same one without a
// copy), or the HTTP response to send instead (401 with WWW-Authenticate, 403, ...).
using AuthResult = std::expected<SharedIdentity, http::Response>;
using Authenticator =
    std::function<boost::asio::awaitable<AuthResult>(const http::Request& request)>;

struct StreamableHttpOptions {
  std::string path = "/mcp";
  bool stateless = false;  // no Mcp-Session-Id; every POST stands alone; GET/DELETE give 405

  enum class ResponseMode {
    kAuto,  // JSON, switching to SSE when the request streams something before its result
    kJson,  // always JSON; notifications tied to a request are dropped
    kSse,   // always SSE
  };
  ResponseMode response_mode = ResponseMode::kAuto;

  // Accepted Host values (host or host:port). Empty: the loopback names (localhost, 127.0.0.1,
  // [::1]) when the HTTP server listens on loopback, anything otherwise.
  std::vector<std::string> allowed_hosts;
  // Accepted Origin values ("https://app.example.com"). Empty: loopback origins only. A request
  // without Origin (not from a browser) is accepted.
  std::vector<std::string> allowed_origins;

  std::chrono::milliseconds sse_retry{1000};             // "retry:" of the priming event
  std::chrono::milliseconds keepalive_interval{15'000};  // SSE comment when idle
  std::size_t max_sessions = 10'000;
  std::chrono::seconds session_idle_timeout{30 * 60};
  std::size_t replay_events = 256;    // per stream, for Last-Event-ID
  std::size_t retained_streams = 64;  // finished POST streams kept for replay, per session
  // resources/subscribe URIs per session; one more is refused with -32602 naming the limit.
  std::size_t max_subscriptions_per_session = 1000;

  // Optional. A session belongs to the identity that initialized it (its subject and client
  // id): a POST, GET or DELETE from another identity with that session id gets 404, exactly as
  // for an unknown session.
  Authenticator authenticate;
  // Optional (request_hooks.h): asked before each JSON-RPC request is dispatched, after
  // authentication and parsing; a refusal is answered with HTTP 429, Retry-After and the
  // JSON-RPC error -32029, in both protocol eras.
  RequestLimiter limit;
  // Optional (request_hooks.h): told once how each JSON-RPC request, and each request that
  // authentication refused, ended; before its answer is sent.
  RequestObserver observe;
};

class StreamableHttpServer {
 public:
  StreamableHttpServer(Server& server, StreamableHttpOptions options = {});
  ~StreamableHttpServer();
  StreamableHttpServer(const StreamableHttpServer&) = delete;
  StreamableHttpServer& operator=(const StreamableHttpServer&) = delete;

  // Registers the endpoint on `http` (before http.start()) and a stop hook that ends streams.
  void attach(http::Server& http);

  std::size_t session_count() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace idp::mcp
