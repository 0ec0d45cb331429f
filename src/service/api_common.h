// What every API handler of the service shares: JSON answers and errors in the one shape of
// docs/api.md (`{"error":{"code","message"}}`), the mapping of idp::Error codes to HTTP
// statuses, request-body parsing with limits, query parameters, path segments, and the
// per-route wrapper that records each answer's status for the metrics.
// Pure functions and small value types; thread-safe.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <expected>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "idp/core/error.h"
#include "idp/http/message.h"
#include "idp/http/server.h"

namespace idp::service {

// Headers every API answer carries (no caching of user data, no sniffing).
void add_api_headers(http::Response& r);

http::Response json_response(int status, const boost::json::value& body);
http::Response error_response(int status, std::string_view code, std::string_view message);
// 400 invalid_argument, 404 not_found, 403 permission_denied, 401 unauthenticated,
// 503 unavailable, 504 timeout, 502 protocol, 429 resource_exhausted, 409 cancelled,
// 500 internal.
int http_status(ErrorCode code);
http::Response error_response(const Error& e);

// The body as a JSON object. An empty body is `{}` when `allow_empty`. Errors name the problem:
// "the request body is not JSON: invalid JSON at byte 17: ..." (400).
std::expected<boost::json::object, http::Response> parse_body(const http::Request& request,
                                                              bool allow_empty);

// Typed members of a request body; each error names the field and what was expected.
// A required string; absent, null or not a string is a 400.
std::expected<std::string, http::Response> required_string(const boost::json::object& body,
                                                           std::string_view field);
// An optional array of agent ids (strings of [A-Za-z0-9_-], at most 64 characters, at most
// `max_items` of them, no duplicates).
std::expected<std::optional<std::vector<std::string>>, http::Response> agent_ids_field(
    const boost::json::object& body, std::size_t max_items = 100);

// True when `id` is 1 to `max_chars` characters of [A-Za-z0-9_-] (agent, session, job and turn
// ids all are; anything else cannot name one).
bool is_plain_id(std::string_view id, std::size_t max_chars = 100);

// The value of `name` in a query string ("after=3&turn_id=x"), percent-decoded; nullopt when
// absent.
std::optional<std::string> query_param(std::string_view query, std::string_view name);
// A non-negative integer, or nullopt when `text` is not one.
std::optional<std::int64_t> parse_count(std::string_view text);

// "/api/chat/sessions/abc/events" minus "/api/chat/sessions/" -> {"abc", "events"}.
std::vector<std::string_view> path_segments(std::string_view rest);

// Hands the status of the answer sent through it to `record` (route pattern, status) as the
// answer goes out (before the peer can see it), to count requests by route for /metrics.
using RequestRecorder = std::function<void(std::string_view route, int status)>;
class RecordingResponder final : public http::Responder {
 public:
  RecordingResponder(http::Responder& inner, const RequestRecorder& record, std::string_view route)
      : inner_(inner), record_(record), route_(route) {}
  boost::asio::awaitable<void> send(http::Response response) override;
  boost::asio::awaitable<bool> start_stream(http::Response head) override;
  boost::asio::awaitable<bool> write(std::string_view data) override;
  boost::asio::awaitable<void> finish() override;
  bool stopping() const override { return inner_.stopping(); }
  int status() const { return status_; }

 private:
  void noted(int status);
  http::Responder& inner_;
  const RequestRecorder& record_;
  std::string_view route_;
  int status_ = 0;
};

}  // namespace idp::service
