#include "idp/http/url_policy.h"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <array>
#include <cctype>
#include <cstdio>

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

// An IPv4 address as the system resolver reads a number (inet_aton): one to four parts split by
// '.', each decimal, octal (a leading 0) or hex (0x); the last part fills the bytes left
// ("169.254.43518", "2852039166"). getaddrinfo connects to these spellings without asking DNS.
std::optional<std::uint32_t> inet_aton_exact(std::string_view s) {
  std::array<std::uint64_t, 4> parts{};
  std::size_t n = 0, i = 0;
  while (true) {
    if (n == 4 || i >= s.size() || !std::isdigit(static_cast<unsigned char>(s[i]))) {
      return std::nullopt;
    }
    unsigned base = 10;
    if (s[i] == '0') {
      base = 8;
      ++i;
      if (i < s.size() && (s[i] == 'x' || s[i] == 'X')) {
        base = 16;
        ++i;
        if (i >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i]))) return std::nullopt;
      }
    }
    std::uint64_t value = 0;
    for (; i < s.size() && s[i] != '.'; ++i) {
      const auto c = static_cast<unsigned char>(s[i]);
      unsigned digit;
      if (std::isdigit(c)) {
        digit = c - '0';
      } else if (base == 16 && std::isxdigit(c)) {
        digit = static_cast<unsigned>(std::tolower(c) - 'a' + 10);
      } else {
        return std::nullopt;
      }
      if (digit >= base) return std::nullopt;
      value = value * base + digit;
      if (value > 0xffffffffULL) return std::nullopt;
    }
    parts[n++] = value;
    if (i == s.size()) break;
    ++i;  // the '.'
  }
  std::uint32_t addr = 0;
  for (std::size_t k = 0; k + 1 < n; ++k) {
    if (parts[k] > 0xff) return std::nullopt;
    addr |= static_cast<std::uint32_t>(parts[k]) << (24 - 8 * k);
  }
  const unsigned last_bits = 32 - 8 * static_cast<unsigned>(n - 1);
  if (last_bits < 32 && parts[n - 1] >> last_bits) return std::nullopt;
  addr |= static_cast<std::uint32_t>(parts[n - 1]);
  return addr;
}

std::string dotted(std::uint32_t a) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff,
                a & 0xff);
  return buf;
}

std::optional<std::string> ipv4_reason(std::uint32_t a) {
  const std::string at = dotted(a);
  if (a == 0xa9fea9fe) {
    return at + ", the cloud instance metadata address (AWS, Azure, Google Cloud, Oracle Cloud, "
                "OpenStack and others)";
  }
  if (a == 0xa9feaa02) return at + ", the AWS ECS container credentials agent";
  if (a == 0xa9feaa17) return at + ", the AWS EKS Pod Identity agent";
  if ((a >> 16) == 0xa9fe) return at + ", a link-local address (169.254.0.0/16)";
  if (a == 0x646464c8) return at + ", the Alibaba Cloud instance metadata address";
  if (a == 0xa83f8110) return at + ", the Azure platform address (WireServer)";
  return std::nullopt;
}

std::optional<std::string> ipv6_reason(std::string_view s) {
  if (auto zone = s.find('%'); zone != std::string_view::npos) s = s.substr(0, zone);
  auto parsed = boost::urls::parse_ipv6_address(s);
  if (!parsed) return std::nullopt;
  const auto b = parsed->to_bytes();
  auto zero = [&](std::size_t from, std::size_t to) {
    for (std::size_t i = from; i < to; ++i) {
      if (b[i] != 0) return false;
    }
    return true;
  };
  auto embedded_v4 = [&] {
    return static_cast<std::uint32_t>(b[12]) << 24 | static_cast<std::uint32_t>(b[13]) << 16 |
           static_cast<std::uint32_t>(b[14]) << 8 | static_cast<std::uint32_t>(b[15]);
  };
  // IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::a.b.c.d)
  // addresses reach the IPv4 address they carry.
  const bool mapped = zero(0, 10) && b[10] == 0xff && b[11] == 0xff;
  const bool compatible = zero(0, 12) && !zero(12, 16);
  const bool nat64 = b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && zero(4, 12);
  if (mapped || compatible || nat64) {
    if (auto r = ipv4_reason(embedded_v4())) return "[" + std::string(s) + "] (" + *r + ")";
    return std::nullopt;
  }
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) {
    return "[" + std::string(s) + "], a link-local IPv6 address (fe80::/10)";
  }
  // fd00:ec2::/32 is AWS's instance-local services on the Nitro system.
  const bool aws = b[0] == 0xfd && b[1] == 0x00 && b[2] == 0x0e && b[3] == 0xc2 && zero(4, 14);
  if (aws && b[14] == 0x02 && b[15] == 0x54) {
    return "[" + std::string(s) + "], the AWS instance metadata address (IPv6)";
  }
  if (aws && b[14] == 0x00 && b[15] == 0x23) {
    return "[" + std::string(s) + "], the AWS EKS Pod Identity agent (IPv6)";
  }
  return std::nullopt;
}

// Names of the metadata services, compared in lower case without one trailing dot.
constexpr std::string_view kMetadataNames[] = {
    "metadata.google.internal",    // Google Cloud
    "metadata.goog",               // Google Cloud
    "metadata",                    // Google Cloud, through the VM's search domain
    "instance-data",               // AWS EC2
    "instance-data.ec2.internal",  // AWS EC2
    "metadata.tencentyun.com",     // Tencent Cloud
};

}  // namespace

std::optional<std::string> link_local_reason(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    // A zone in a URL is percent-encoded: [fe80::1%25eth0].
    return ipv6_reason(host);
  }
  if (host.find(':') != std::string_view::npos) return ipv6_reason(host);
  std::string name = lower(host);
  if (name.ends_with('.')) name.pop_back();
  if (auto v4 = inet_aton_exact(name)) return ipv4_reason(*v4);
  for (std::string_view m : kMetadataNames) {
    if (name == m) return name + ", a cloud instance metadata host name";
  }
  return std::nullopt;
}

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
  return check_url(url, what, UrlRules{also_plain_http, false});
}

Result<CheckedUrl> check_url(std::string_view url, std::string_view what, const UrlRules& rules) {
  const std::span<const std::string_view> also_plain_http = rules.also_plain_http;
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
  const std::string host = lower(out.host);
  bool listed = false;
  for (std::string_view extra : also_plain_http) listed = listed || host == lower(extra);
  if (!rules.allow_link_local && !listed) {
    if (auto why = link_local_reason(out.host)) {
      return make_error(ErrorCode::kPermissionDenied,
                        name + " points at " + *why +
                            "; link-local and cloud metadata addresses are refused (they reach "
                            "the machine's own cloud credentials, not a server)");
    }
  }
  if (out.scheme == "http" && !out.loopback) {
    if (listed) return out;
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
