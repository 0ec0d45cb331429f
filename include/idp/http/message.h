// HTTP request and response types of idp::http, free of Beast so that modules above (mcp, auth)
// and applications include only these small headers. A Request is a read-only view of a message
// owned by the server for the duration of one handler call; do not keep it past the handler.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace idp::http {

// Case-insensitive ASCII comparison, as HTTP field names need.
bool iequals(std::string_view a, std::string_view b);

class Headers {
 public:
  void add(std::string name, std::string value) {
    items_.emplace_back(std::move(name), std::move(value));
  }
  // Replaces every field of that name with one.
  void set(std::string_view name, std::string value);
  void erase(std::string_view name);
  std::optional<std::string_view> get(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

struct RequestImpl;  // defined by the server; holds the parsed message

// Field names that a handler looks up together (Request::find_headers), distinct. Build it once
// (a static), not per request: the names are classified ahead of time, so that one pass over a
// request's fields finds them all.
class HeaderNames {
 public:
  HeaderNames(std::initializer_list<std::string_view> names);
  std::size_t size() const { return names_.size(); }

 private:
  friend class Request;
  std::vector<std::string_view> names_;
  std::vector<unsigned> codes_;      // the parser's code of each registered name; 0: none
  std::uint64_t other_lengths_ = 0;  // bit n: some name without a code has n characters
};

class Request {
 public:
  explicit Request(const RequestImpl& impl) : impl_(&impl) {}

  std::string_view method() const;  // "GET", "POST", ...
  std::string_view target() const;  // path and query as sent: "/mcp?x=1"
  std::string_view path() const;    // target without the query
  std::string_view query() const;   // after '?', or empty
  // First field of that name (case-insensitive), or nullopt.
  std::optional<std::string_view> header(std::string_view name) const;
  // Several fields in one pass over the request: out[i] is the first field named by the i-th
  // of `names` (case-insensitive), or nullopt. Cheaper than header() per name.
  void find_headers(const HeaderNames& names, std::span<std::optional<std::string_view>> out) const;
  // Every field as (name, value), in order.
  std::vector<std::pair<std::string_view, std::string_view>> headers() const;
  std::string_view body() const;
  unsigned version() const;                  // 11 for HTTP/1.1
  std::string_view remote_address() const;  // "127.0.0.1"
  const std::string& trace_id() const;       // per-request id for logs
  bool is_tls() const;

 private:
  const RequestImpl* impl_;
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;

  static Response json(int status, std::string body);
  static Response text(int status, std::string body);
  // An empty body with only a status.
  static Response empty(int status);
};

// Standard reason phrase ("Not Found"); "Unknown" for codes we never send.
std::string_view reason(int status);

}  // namespace idp::http
