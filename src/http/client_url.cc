// The URL parse and the NO_PROXY match of the HTTP client (client_url.h).
#include "client_url.h"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <cstdlib>

namespace idp::http::client_detail {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

Result<Url> parse_url(std::string_view text) {
  auto r = boost::urls::parse_uri(text);
  if (!r) return make_error(ErrorCode::kInvalidArgument, "invalid URL: " + r.error().message());
  boost::urls::url_view u = *r;
  Url out;
  out.scheme = lower(u.scheme());
  if (out.scheme == "https") {
    out.tls = true;
  } else if (out.scheme != "http") {
    return make_error(ErrorCode::kInvalidArgument,
                      "unsupported URL scheme '" + out.scheme + "' (http or https)");
  }
  out.host = u.host_address();
  if (out.host.empty()) return make_error(ErrorCode::kInvalidArgument, "URL has no host");
  // Boost.URL 1.81 reads "http://127.0.0.1.nip.io/x" as host 127.0.0.1 and path ".nip.io/x": a
  // path after an authority that does not start with '/' is a host it did not read whole, and
  // connecting to the part it did read would reach another machine than the URL names.
  if (!u.encoded_path().empty() && u.encoded_path().front() != '/') {
    return make_error(ErrorCode::kInvalidArgument,
                      "the URL's host name is not valid (a host must be a DNS name, an IPv4 "
                      "address or a bracketed IPv6 address)");
  }
  auto ht = u.host_type();
  out.host_is_ip = ht == boost::urls::host_type::ipv4 || ht == boost::urls::host_type::ipv6;
  if (!out.host_is_ip) out.host = lower(out.host);
  std::uint16_t default_port = out.tls ? 443 : 80;
  out.port = default_port;
  if (u.has_port()) {
    if (u.port().empty() || u.port_number() == 0) {
      return make_error(ErrorCode::kInvalidArgument, "invalid port in URL");
    }
    out.port = u.port_number();
  }
  out.target = std::string(u.encoded_target());
  if (out.target.empty() || out.target.front() != '/') out.target.insert(0, "/");
  out.authority = ht == boost::urls::host_type::ipv6 ? "[" + out.host + "]" : out.host;
  if (out.port != default_port) out.authority += ":" + std::to_string(out.port);
  if (u.has_userinfo()) out.userinfo = u.userinfo();
  return out;
}

bool no_proxy_matches(std::string_view list, const Url& u) {
  std::size_t pos = 0;
  while (pos <= list.size()) {
    std::size_t end = list.find_first_of(", ", pos);
    if (end == std::string_view::npos) end = list.size();
    std::string entry = lower(list.substr(pos, end - pos));
    pos = end + 1;
    if (entry.empty()) continue;
    if (entry == "*") return true;
    if (auto colon = entry.rfind(':');
        colon != std::string::npos && entry.find(':') == colon && colon + 1 < entry.size()) {
      if (entry.substr(colon + 1) != std::to_string(u.port)) continue;
      entry.resize(colon);
    }
    if (entry.front() == '.') entry.erase(0, 1);
    if (u.host == entry) return true;
    if (u.host.size() > entry.size() && u.host.ends_with(entry) &&
        u.host[u.host.size() - entry.size() - 1] == '.') {
      return true;
    }
  }
  return false;
}

std::string env(const char* lower_name, const char* upper_name) {
  if (const char* v = std::getenv(lower_name); v && *v) return v;
  if (const char* v = std::getenv(upper_name); v && *v) return v;
  return {};
}

}  // namespace idp::http::client_detail
