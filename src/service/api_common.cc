#include "api_common.h"

#include <boost/json/serialize.hpp>
#include <boost/url/parse_query.hpp>

#include <charconv>
#include <set>

#include "idp/core/json_util.h"

namespace idp::service {

namespace bj = boost::json;

void add_api_headers(http::Response& r) {
  r.headers.set("Cache-Control", "no-store");
  r.headers.set("X-Content-Type-Options", "nosniff");
}

http::Response json_response(int status, const bj::value& body) {
  http::Response r = http::Response::json(status, bj::serialize(body));
  add_api_headers(r);
  return r;
}

http::Response error_response(int status, std::string_view code, std::string_view message) {
  return json_response(status,
                       bj::object{{"error", bj::object{{"code", code}, {"message", message}}}});
}

int http_status(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return 400;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kPermissionDenied:
      return 403;
    case ErrorCode::kUnauthenticated:
      return 401;
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kTimeout:
      return 504;
    case ErrorCode::kProtocol:
      return 502;
    case ErrorCode::kResourceExhausted:
      return 429;
    case ErrorCode::kCancelled:
      return 409;
    case ErrorCode::kInternal:
      return 500;
  }
  return 500;
}

http::Response error_response(const Error& e) {
  return error_response(http_status(e.code()), to_string(e.code()), e.message());
}

std::expected<bj::object, http::Response> parse_body(const http::Request& request,
                                                     bool allow_empty) {
  std::string_view body = request.body();
  auto blank = body.find_first_not_of(" \t\r\n") == std::string_view::npos;
  if (blank) {
    if (allow_empty) return bj::object{};
    return std::unexpected(
        error_response(400, "invalid_argument", "the request body is empty; send a JSON object"));
  }
  if (auto type = request.header("Content-Type");
      type && type->find("json") == std::string_view::npos) {
    return std::unexpected(
        error_response(415, "invalid_argument",
                       "the request body must be JSON (Content-Type: application/json), not " +
                           std::string(*type)));
  }
  auto v = ::idp::json::parse(body);
  if (!v) {
    return std::unexpected(error_response(400, "invalid_argument",
                                          "the request body is not JSON: " + v.error().message()));
  }
  if (!v->is_object()) {
    return std::unexpected(error_response(
        400, "invalid_argument",
        std::string("the request body must be a JSON object, not ") + ::idp::json::kind_name(*v)));
  }
  return std::move(v->get_object());
}

std::expected<std::string, http::Response> required_string(const bj::object& body,
                                                           std::string_view field) {
  auto it = body.find(field);
  if (it == body.end() || it->value().is_null()) {
    return std::unexpected(
        error_response(400, "invalid_argument", std::string(field) + " is required"));
  }
  if (!it->value().is_string()) {
    return std::unexpected(error_response(
        400, "invalid_argument",
        std::string(field) + " must be a string, not " + ::idp::json::kind_name(it->value())));
  }
  return std::string(it->value().get_string());
}

std::expected<std::optional<std::vector<std::string>>, http::Response> agent_ids_field(
    const bj::object& body, std::size_t max_items) {
  auto it = body.find("agent_ids");
  if (it == body.end() || it->value().is_null()) return std::optional<std::vector<std::string>>();
  auto bad = [](std::string message) {
    return std::unexpected(error_response(400, "invalid_argument", message));
  };
  if (!it->value().is_array()) {
    return bad(std::string("agent_ids must be an array of agent ids, not ") +
               ::idp::json::kind_name(it->value()));
  }
  const auto& a = it->value().get_array();
  if (a.size() > max_items) {
    return bad("agent_ids has " + std::to_string(a.size()) + " items; the limit is " +
               std::to_string(max_items));
  }
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < a.size(); ++i) {
    std::string where = "agent_ids[" + std::to_string(i) + "]";
    if (!a[i].is_string()) {
      return bad(where + " must be a string, not " + ::idp::json::kind_name(a[i]));
    }
    std::string id(a[i].get_string());
    if (!is_plain_id(id, 64))
      return bad(where + " is not an agent id ([A-Za-z0-9_-], 1 to 64 characters)");
    if (!seen.insert(id).second) return bad(where + ": '" + id + "' is listed twice");
    out.push_back(std::move(id));
  }
  return std::optional<std::vector<std::string>>(std::move(out));
}

bool is_plain_id(std::string_view id, std::size_t max_chars) {
  if (id.empty() || id.size() > max_chars) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::optional<std::string> query_param(std::string_view query, std::string_view name) {
  if (query.empty()) return std::nullopt;
  // A NUL-terminated copy: Boost.URL 1.81's parse_query reads its argument up to a NUL, whatever
  // the view's size (a request target is not NUL-terminated).
  const std::string text(query);
  auto params = boost::urls::parse_query(text);
  if (!params) return std::nullopt;
  for (auto p : *params) {
    if (p.key.decode() == name) return p.has_value ? p.value.decode() : std::string();
  }
  return std::nullopt;
}

std::optional<std::int64_t> parse_count(std::string_view text) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v < 0 || text.empty())
    return std::nullopt;
  return v;
}

std::vector<std::string_view> path_segments(std::string_view rest) {
  std::vector<std::string_view> out;
  while (!rest.empty()) {
    auto slash = rest.find('/');
    out.push_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) break;
    rest = rest.substr(slash + 1);
    if (rest.empty()) out.emplace_back();  // a trailing slash is an empty segment
  }
  return out;
}

void RecordingResponder::noted(int status) {
  status_ = status;
  if (record_) record_(route_, status);
}

boost::asio::awaitable<void> RecordingResponder::send(http::Response response) {
  noted(response.status);
  co_await inner_.send(std::move(response));
}

boost::asio::awaitable<bool> RecordingResponder::start_stream(http::Response head) {
  noted(head.status);
  co_return co_await inner_.start_stream(std::move(head));
}

boost::asio::awaitable<bool> RecordingResponder::write(std::string_view data) {
  co_return co_await inner_.write(data);
}

boost::asio::awaitable<void> RecordingResponder::finish() { co_await inner_.finish(); }

}  // namespace idp::service
