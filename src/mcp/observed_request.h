// Private: the Streamable HTTP transport's side of the request hooks (request_hooks.h): what it
// keeps of a JSON-RPC request for StreamableHttpOptions::observe, the events it reports (one per
// request, before the answer goes out), and the HTTP 429 answer of a limiter's refusal.
// Thread-safety: an ObservedRequest is shared by the POST's coroutine and the completion of its
// handler (both on the connection's strand); report() runs once, whoever comes first.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "idp/http/message.h"
#include "idp/mcp/jsonrpc.h"
#include "idp/mcp/request_hooks.h"
#include "idp/mcp/streamable_http_server.h"
#include "request_state.h"

namespace idp::mcp {

struct ObservedRequest {
  std::chrono::steady_clock::time_point start;
  std::string trace_id, peer, session_id, method, tool;
  json::value arguments;  // tools/call's, copied into the request's parse arena; null if none
  std::atomic<bool> streamed{false};  // the answer went out as an SSE stream (HTTP 200)
  std::atomic<int> answered{0};       // an HTTP status sent before the handler finished (503)
  std::atomic<bool> reported{false};

  // Calls the observer with these fields, once: later calls do nothing.
  void report(const RequestObserver& observer, const Identity* identity, RequestOutcome outcome,
              int rpc_error, int http_status, std::string_view detail = {});
};

// What the observer will need of a parsed request (method, tool, arguments, headers); null when
// the transport has no observer.
std::shared_ptr<ObservedRequest> observe_request(const StreamableHttpOptions& opt,
                                                 const http::Request& req,
                                                 std::optional<std::string_view> session_id,
                                                 const jsonrpc::Message& m,
                                                 std::chrono::steady_clock::time_point start);

// A request answered by the transport itself before dispatch (a bad version, an unknown
// session, ...): `error` with the JSON-RPC code of its body. No-op for a null `seen`.
void report_refusal(const RequestObserver& observer, ObservedRequest* seen,
                    const Identity* identity, const http::Response& answer);

// Authentication refused a request: `denied`, with the challenge's OAuth error; the body is parsed
// (for the method and tool) only for this event.
void report_denied(const RequestObserver& observer, const http::Request& req,
                   const http::Response& answer, std::chrono::steady_clock::time_point start);

// The handler finished (`response`, or nullopt when the request was cancelled): the outcome the
// dispatcher recorded in `rs`.
void report_finished(const RequestObserver& observer, ObservedRequest& seen, const RequestState& rs,
                     bool has_response);

// The limiter's verdict on a parsed request: the 429 answer to send instead, if refused (then
// also reported as `rate_limited`).
std::optional<http::Response> apply_limit(const StreamableHttpOptions& opt,
                                          const http::Request& req, const jsonrpc::Message& m,
                                          const Identity& identity, ObservedRequest* seen);

}  // namespace idp::mcp
