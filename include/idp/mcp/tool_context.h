// ToolContext is what a tool, resource or prompt handler gets besides its arguments: the caller's
// identity and capabilities, progress and log notifications tied to the request, cancellation,
// and server-to-client requests (sampling, elicitation, ping). One context per request; it is
// valid for the duration of the handler. Its methods may be called from the handler's coroutine
// only.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "idp/core/error.h"
#include "idp/mcp/types.h"

namespace idp::mcp {

// Who called: filled by the transport's authenticator (see StreamableHttpOptions).
struct Identity {
  bool authenticated = false;
  std::string subject;        // "sub" of a verified token
  json::object claims;        // all verified claims
};

namespace detail {
struct RequestState;
}

class ToolContext {
 public:
  explicit ToolContext(std::shared_ptr<detail::RequestState> state);
  ~ToolContext();

  // notifications/progress to the caller; a no-op unless the request carried a progressToken.
  void progress(double progress, std::optional<double> total = std::nullopt,
                std::string_view message = {});
  // notifications/message, filtered by the level the client set with logging/setLevel.
  void log(LogLevel level, json::value data, std::string_view logger = {});

  // True once the client sent notifications/cancelled for this request, or the session ended.
  bool cancelled() const;
  // Sleeps, waking early on cancellation. Returns false if cancelled.
  boost::asio::awaitable<bool> sleep(std::chrono::milliseconds duration);

  // A request to the client on this request's stream; waits for its answer or the timeout.
  // Errors: kUnavailable when the session cannot carry it, kTimeout, kProtocol for a JSON-RPC
  // error answer, kCancelled.
  boost::asio::awaitable<Result<json::value>> request(
      std::string_view method, json::object params,
      std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // sampling/createMessage; fails with kUnavailable if the client did not declare sampling.
  boost::asio::awaitable<Result<json::value>> create_message(json::object params);
  // elicitation/create; fails with kUnavailable if the client did not declare elicitation.
  boost::asio::awaitable<Result<json::value>> elicit(json::object params);

  // Ends this request's SSE stream now, keeping the request running; the client resumes with
  // GET and Last-Event-ID and receives what follows (SEP-1699 polling). No-op without sessions.
  void close_stream();

  const Identity& identity() const;
  const json::object& client_capabilities() const;
  const json::object& client_info() const;
  std::string_view protocol_version() const;
  std::string_view session_id() const;  // empty in stateless mode
  const json::value& request_id() const;
  const json::object& meta() const;     // the request's "_meta" (empty if none)

 private:
  std::shared_ptr<detail::RequestState> state_;
};

}  // namespace idp::mcp
