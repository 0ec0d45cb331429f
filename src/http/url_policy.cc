#include "idp/http/url_policy.h"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <cctype>

namespace idp::http {

namespace {

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

// Dotted-quad IPv4 with decimal octets 0-255 and no leading zeros (what inet_pton accepts).
bool loopback_ipv4(std::string_view s) {
  int octets = 0;
  int first = -1;
  std::size_t i = 0;
  while (i <= s.size()) {
    std::size_t start = i;
    int value = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      value = value * 10 + (s[i] - '0');
      if (value > 255) return false;
      ++i;
    }
    std::size_t len = i - start;
    if (len == 0 || len > 3 || (len > 1 && s[start] == '0')) return false;
    if (octets == 0) first = value;
    ++octets;
    if (i == s.size()) break;
    if (s[i] != '.') return false;
    ++i;
  }
  return octets == 4 && first == 127;
}

// ::1 in any valid spelling ("::1", "0:0:0:0:0:0:0:1", "::0:1"), but not IPv4-mapped forms.
bool loopback_ipv6(std::string_view s) {
  if (s.find('.') != std::string_view::npos) return false;  // ::ffff:127.0.0.1 and friends
  auto parsed = boost::urls::parse_ipv6_address(s);
  if (!parsed) return false;
  return parsed->is_loopback();
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// At most 64 printable ASCII characters of `s`, for an error message.
std::string printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 64)) {
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  return out;
}

}  // namespace

bool is_loopback_host(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    return loopback_ipv6(host.substr(1, host.size() - 2));
  }
  if (host.find(':') != std::string_view::npos) return loopback_ipv6(host);
  return iequal(host, "localhost") || loopback_ipv4(host);
}

std::string_view authority_host(std::string_view authority) {
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return {};
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return {};
    return authority.substr(0, close + 1);
  }
  auto colon = authority.find(':');
  if (colon != std::string_view::npos && authority.find(':', colon + 1) != std::string_view::npos)
    return {};  // a bare IPv6 address is not a valid authority
  return colon == std::string_view::npos ? authority : authority.substr(0, colon);
}

Result<CheckedUrl> check_url(std::string_view url, std::string_view what,
                             std::span<const std::string_view> also_plain_http) {
  // The messages never repeat the URL: its query or user info may hold a credential, and the
  // caller names the setting in `what`.
  const std::string name(what);
  auto fail = [&](std::string problem) {
    return make_error(ErrorCode::kInvalidArgument, name + " " + problem);
  };
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) return fail("is not a valid absolute URL (expected https://host/path)");
  const boost::urls::url_view& u = *parsed;
  CheckedUrl out;
  out.scheme = lower(u.scheme());
  if (out.scheme != "http" && out.scheme != "https") {
    return fail("must use https:// (got " + printable(out.scheme) + "://)");
  }
  if (u.has_userinfo()) {
    return fail(
        "must not contain user info (a user name or password before '@'); put credentials in "
        "the auth settings or headers instead");
  }
  if (!u.has_authority() || u.encoded_host().empty()) return fail("has no host");
  // Boost.URL 1.81 stops an IPv4 host early and leaves the rest in the path:
  // "http://127.0.0.1.nip.io/x" parses as host 127.0.0.1, path ".nip.io/x". A path after an
  // authority must be empty or start with '/', so anything else is a host we did not read whole.
  if (!u.encoded_path().empty() && u.encoded_path().front() != '/') {
    return fail(
        "has a host name that is not valid (use https:// with a DNS name, or http:// with "
        "localhost, 127.0.0.0/8 or [::1])");
  }
  out.host = std::string(u.encoded_host());
  if (u.host_type() == boost::urls::host_type::ipv6 && !out.host.starts_with("["))
    out.host = "[" + out.host + "]";
  if (u.has_port()) {
    if (u.port().empty() || u.port_number() == 0) {
      return fail("has an invalid port '" + printable(u.port()) + "'");
    }
    out.port = u.port_number();
  } else {
    out.port = out.scheme == "https" ? 443 : 80;
  }
  out.loopback = is_loopback_host(out.host);
  if (out.scheme == "http" && !out.loopback) {
    const std::string host = lower(out.host);
    for (std::string_view extra : also_plain_http) {
      if (host == lower(extra)) return out;
    }
    return fail("must use https:// (got http:// to " + printable(out.host) +
                "; plain http:// is allowed only for loopback hosts: localhost, 127.0.0.0/8, "
                "[::1])");
  }
  return out;
}

bool is_loopback_origin(std::string_view origin) {
  auto parsed = boost::urls::parse_absolute_uri(origin);
  if (!parsed || parsed->has_userinfo() || !parsed->has_authority()) return false;
  if (!parsed->encoded_path().empty() && parsed->encoded_path().front() != '/') return false;
  std::string host(parsed->encoded_host());
  if (parsed->host_type() == boost::urls::host_type::ipv6 && !host.starts_with("["))
    host = "[" + host + "]";
  return is_loopback_host(host);
}

}  // namespace idp::http
