// Fuzz target: the URL policy (idp::http::check_url, is_loopback_host, authority_host,
// is_loopback_origin), which decides whether plain http:// may go to a host. Input: a URL on
// the first line, a host or authority on the second. Checks: http:// passes only to a loopback
// host (or a listed one), a host called loopback really is one (cross-checked with inet_pton),
// and an error never repeats a URL that carries a query or user info (either may hold a
// credential); a numeric host is link-local or metadata exactly when inet_aton (what the system
// resolver uses) reads it as one of those addresses.
#include <arpa/inet.h>

#include <array>
#include <cctype>
#include <cstring>
#include <string>

#include "fuzz_target.h"
#include "idp/http/url_policy.h"

namespace {

// The reference answer: "localhost" in any case, or an address that inet_pton reads as
// 127.0.0.0/8 or ::1 (IPv4-mapped forms excluded, as the policy promises).
bool really_loopback(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    if (host.find(':') == std::string_view::npos) return false;
  }
  std::string h(host);
  if (h.find('\0') != std::string::npos) return false;
  if (h.size() == 9) {
    std::string lower = h;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "localhost") return true;
  }
  unsigned char buf[16];
  if (inet_pton(AF_INET, h.c_str(), buf) == 1) return buf[0] == 127;
  if (h.find('.') == std::string::npos && inet_pton(AF_INET6, h.c_str(), buf) == 1) {
    static constexpr unsigned char kOne[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    return std::memcmp(buf, kOne, 16) == 0;
  }
  return false;
}

// The link-local rule for hosts made only of what a number can hold: inet_aton is the reference.
void check_numeric_link_local(std::string_view host) {
  if (host.empty() || host.size() > 40 || host.back() == '.') return;
  for (char c : host) {
    if (!std::isxdigit(static_cast<unsigned char>(c)) && c != '.' && c != 'x' && c != 'X') return;
  }
  std::string h(host);
  in_addr a{};
  bool expected = false;
  if (inet_aton(h.c_str(), &a) == 1) {
    const std::uint32_t v = ntohl(a.s_addr);
    expected = (v >> 16) == 0xa9fe || v == 0x646464c8 || v == 0xa83f8110;
  }
  IDP_FUZZ_CHECK(idp::http::link_local_reason(host).has_value() == expected);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto fields = idp::fuzz::split_fields(idp::fuzz::as_text(data, size), 2);
  const std::string_view url = fields[0], host = fields[1];

  static constexpr std::array<std::string_view, 2> kExtra = {"169.254.170.2", "[fd00:ec2::23]"};
  auto checked = idp::http::check_url(url, "MCP URL", kExtra);
  if (checked) {
    IDP_FUZZ_CHECK(checked->scheme == "http" || checked->scheme == "https");
    IDP_FUZZ_CHECK(!checked->host.empty());
    IDP_FUZZ_CHECK(checked->port != 0);
    IDP_FUZZ_CHECK(checked->loopback == idp::http::is_loopback_host(checked->host));
    if (checked->scheme == "http" && !checked->loopback) {
      IDP_FUZZ_CHECK(checked->host == "169.254.170.2" || checked->host == "[fd00:ec2::23]" ||
                     checked->host == "[FD00:EC2::23]" || checked->host.size() == 14);
    }
  } else if (url.size() >= 12 && (url.find('?') != std::string_view::npos ||
                                  url.find('@') != std::string_view::npos)) {
    IDP_FUZZ_CHECK(checked.error().message().find(url) == std::string::npos);
  }

  IDP_FUZZ_CHECK(idp::http::is_loopback_host(host) == really_loopback(host));
  check_numeric_link_local(host);
  std::string_view from_authority = idp::http::authority_host(host);
  IDP_FUZZ_CHECK(from_authority.empty() || host.starts_with(from_authority));
  (void)idp::http::is_loopback_origin(url);
  return 0;
}
