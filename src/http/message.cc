#include "idp/http/message.h"

#include "request_impl.h"

#include <algorithm>

namespace idp::http {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
    if (x == y) continue;
    // Only an ASCII letter may differ, and only in case (bit 0x20).
    if ((x ^ y) != 0x20) return false;
    x |= 0x20;
    if (x < 'a' || x > 'z') return false;
  }
  return true;
}

void Headers::set(std::string_view name, std::string value) {
  std::erase_if(items_, [&](const auto& kv) { return iequals(kv.first, name); });
  items_.emplace_back(std::string(name), std::move(value));
}

void Headers::erase(std::string_view name) {
  std::erase_if(items_, [&](const auto& kv) { return iequals(kv.first, name); });
}

std::optional<std::string_view> Headers::get(std::string_view name) const {
  for (const auto& [k, v] : items_) {
    if (iequals(k, name)) return v;
  }
  return std::nullopt;
}

std::string_view Request::method() const { return impl_->message.method_string(); }
std::string_view Request::target() const { return impl_->message.target(); }

std::string_view Request::path() const {
  std::string_view t = target();
  auto q = t.find('?');
  return q == std::string_view::npos ? t : t.substr(0, q);
}

std::string_view Request::query() const {
  std::string_view t = target();
  auto q = t.find('?');
  return q == std::string_view::npos ? std::string_view{} : t.substr(q + 1);
}

// A scan of the fields in arrival order, the length compared first: a request has a handful of
// fields, and this costs less than Beast's case-insensitive ordered lookup.
std::optional<std::string_view> Request::header(std::string_view name) const {
  for (const auto& f : impl_->message) {
    std::string_view n = f.name_string();
    if (n.size() == name.size() && iequals(n, name)) return f.value();
  }
  return std::nullopt;
}

HeaderNames::HeaderNames(std::initializer_list<std::string_view> names) : names_(names) {
  for (auto name : names_) {
    // Beast parses registered names (Host, Accept, ...) into a code: compared as a number.
    const auto code = static_cast<unsigned>(boost::beast::http::string_to_field(name));
    codes_.push_back(code);
    if (code == 0 && name.size() < 64) other_lengths_ |= std::uint64_t{1} << name.size();
  }
}

void Request::find_headers(const HeaderNames& names,
                           std::span<std::optional<std::string_view>> out) const {
  const std::size_t n = std::min(names.size(), out.size());
  for (std::size_t i = 0; i < n; ++i) out[i].reset();
  for (const auto& f : impl_->message) {
    const auto code = static_cast<unsigned>(f.name());
    if (code != 0) {
      for (std::size_t i = 0; i < n; ++i) {
        if (names.codes_[i] != code) continue;
        if (!out[i]) out[i] = f.value();
        break;
      }
      continue;
    }
    const std::string_view field = f.name_string();
    if (field.size() >= 64 || ((names.other_lengths_ >> field.size()) & 1) == 0) continue;
    for (std::size_t i = 0; i < n; ++i) {
      // Clients mostly send a name as it is written: a plain comparison first.
      if (names.codes_[i] != 0 ||
          (field != names.names_[i] && !iequals(field, names.names_[i]))) {
        continue;
      }
      if (!out[i]) out[i] = f.value();
      break;
    }
  }
}

std::vector<std::pair<std::string_view, std::string_view>> Request::headers() const {
  std::vector<std::pair<std::string_view, std::string_view>> out;
  for (const auto& f : impl_->message) out.emplace_back(f.name_string(), f.value());
  return out;
}

std::string_view Request::body() const { return impl_->message.body(); }
unsigned Request::version() const { return impl_->message.version(); }
std::string_view Request::remote_address() const { return impl_->remote_address; }
const std::string& Request::trace_id() const { return impl_->trace_id; }
bool Request::is_tls() const { return impl_->tls; }

Response Response::json(int status, std::string body) {
  Response r;
  r.status = status;
  r.headers.add("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

Response Response::text(int status, std::string body) {
  Response r;
  r.status = status;
  r.headers.add("Content-Type", "text/plain; charset=utf-8");
  r.body = std::move(body);
  return r;
}

Response Response::empty(int status) {
  Response r;
  r.status = status;
  return r;
}

std::string_view reason(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
  }
  return "Unknown";
}

}  // namespace idp::http
