// The request as the HTTP client puts it on the wire: the head (request line and fields) written
// straight into one string, and the body's framing (Content-Length, or chunks when the caller
// asked for Transfer-Encoding: chunked). The fields are the caller's, in order (its fixed ones,
// checked and rendered once by FixedFields::make, first), after Host, User-Agent and
// Proxy-Authorization when the caller gave none of those.
#include <charconv>

#include "client_impl.h"
#include "idp/core/random.h"
#include "idp/core/text.h"

namespace idp::http::client_detail {

namespace {

bool has_line_break(std::string_view v) {
  for (char c : v) {
    if (c == '\r' || c == '\n' || c == '\0') return true;
  }
  return false;
}

// The last transfer coding of a Transfer-Encoding value is "chunked".
bool ends_chunked(std::string_view te) {
  auto comma = te.rfind(',');
  std::string_view last = comma == std::string_view::npos ? te : te.substr(comma + 1);
  while (!last.empty() && (last.front() == ' ' || last.front() == '\t')) last.remove_prefix(1);
  while (!last.empty() && (last.back() == ' ' || last.back() == '\t')) last.remove_suffix(1);
  return iequals(last, "chunked");
}

void field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

// What the framing depends on among a set of fields, and whether they can be written at all.
struct Scan {
  bool has_host = false, has_agent = false, has_length = false, has_te = false;
  bool chunked = false;
  // kInvalidArgument when a field would break the message's framing.
  Result<void> add(const Headers& h) {
    for (const auto& [name, value] : h.items()) {
      if (!is_http_token(name)) {
        return make_error(ErrorCode::kInvalidArgument,
                          "invalid header name '" + std::string(utf8_prefix(name, 40)) + "'");
      }
      if (has_line_break(value)) {
        return make_error(ErrorCode::kInvalidArgument,
                          "the value of header " + name + " contains a line break or NUL");
      }
      // The length first: most fields are none of these four.
      switch (name.size()) {
        case 4:
          has_host = has_host || iequals(name, "Host");
          break;
        case 10:
          has_agent = has_agent || iequals(name, "User-Agent");
          break;
        case 14:
          has_length = has_length || iequals(name, "Content-Length");
          break;
        case 17:
          if (iequals(name, "Transfer-Encoding")) {
            has_te = true;
            chunked = ends_chunked(value);
          }
          break;
        default:
          break;
      }
    }
    return {};
  }
};

}  // namespace

Result<void> WireRequest::build(const ClientRequest& in, const Url& u, const Route& route,
                                const ClientOptions& opt) {
  if (!is_http_token(in.method)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "invalid HTTP method '" + std::string(utf8_prefix(in.method, 40)) + "'");
  }
  // The fixed fields were checked when they were made: only their flags are taken here.
  Scan scan;
  if (in.fixed) {
    scan.has_host = in.fixed->has_host();
    scan.has_agent = in.fixed->has_user_agent();
    scan.has_length = in.fixed->has_content_length();
    scan.has_te = in.fixed->has_transfer_encoding();
    scan.chunked = in.fixed->chunked();
  }
  if (auto checked = scan.add(in.headers); !checked) return checked;
  chunked = scan.chunked;
  if (in.method == "TRACE" && !in.body.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "a TRACE request cannot have a body");
  }
  const bool absolute = route.proxy && !route.tunnel;
  head.clear();
  head.reserve(256 + (in.fixed ? in.fixed->text().size() : 0) + in.body.size() / 64);
  head.append(in.method);
  head.push_back(' ');
  if (absolute) {
    head.append(u.scheme).append("://").append(u.authority);
  }
  head.append(u.target);
  head.append(" HTTP/1.1\r\n");
  if (!scan.has_host) field(head, "Host", u.authority);
  if (!scan.has_agent && !opt.user_agent.empty()) field(head, "User-Agent", opt.user_agent);
  if (absolute && !route.proxy->userinfo.empty()) {
    field(head, "Proxy-Authorization", "Basic " + base64_encode(route.proxy->userinfo));
  }
  if (in.fixed) head.append(in.fixed->text());
  for (const auto& [name, value] : in.headers.items()) field(head, name, value);
  // As Beast's prepare_payload: a length for a body, and for an empty one where the method
  // usually carries one.
  if (!scan.has_length && !scan.has_te &&
      (!in.body.empty() || in.method == "POST" || in.method == "PUT" || in.method == "OPTIONS")) {
    char digits[24];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, in.body.size());
    field(head, "Content-Length", std::string_view(digits, static_cast<std::size_t>(end - digits)));
  }
  head.append("\r\n");
  if (chunked) {
    char digits[24];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, in.body.size(), 16);
    chunk_size.assign(digits, end);
    chunk_size.append("\r\n");
  }
  return {};
}

std::size_t WireRequest::buffers(std::string_view body,
                                 std::array<boost::asio::const_buffer, 4>& out) const {
  std::size_t n = 0;
  out[n++] = boost::asio::buffer(head);
  if (!chunked) {
    if (!body.empty()) out[n++] = boost::asio::buffer(body.data(), body.size());
    return n;
  }
  static constexpr std::string_view kLast = "\r\n0\r\n\r\n";
  if (body.empty()) {
    out[n++] = boost::asio::buffer(kLast.data() + 2, kLast.size() - 2);
    return n;
  }
  out[n++] = boost::asio::buffer(chunk_size);
  out[n++] = boost::asio::buffer(body.data(), body.size());
  out[n++] = boost::asio::buffer(kLast.data(), kLast.size());
  return n;
}

}  // namespace idp::http::client_detail

namespace idp::http {

Result<std::shared_ptr<const FixedFields>> FixedFields::make(const Headers& fields) {
  client_detail::Scan scan;
  if (auto checked = scan.add(fields); !checked) return std::unexpected(checked.error());
  auto f = std::make_shared<FixedFields>();
  f->fields_ = fields;
  for (const auto& [name, value] : fields.items()) client_detail::field(f->text_, name, value);
  f->has_host_ = scan.has_host;
  f->has_agent_ = scan.has_agent;
  f->has_length_ = scan.has_length;
  f->has_te_ = scan.has_te;
  f->chunked_ = scan.chunked;
  return f;
}

}  // namespace idp::http
