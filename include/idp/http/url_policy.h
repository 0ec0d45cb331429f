// The one URL policy of the project. Every component that accepts a URL from configuration or
// from the network (MCP client, the secret's mcp_url, JWKS and token URLs, Host and Origin
// checks) asks here, so "is this loopback?" has exactly one answer:
//
//   loopback host = exactly "localhost" (any letter case), an IPv4 literal in 127.0.0.0/8 in
//                   dotted-quad form, or the IPv6 literal ::1.
//
// Everything else is remote: "127.attacker.example", "localhost.attacker.example",
// "localhost." (a trailing dot asks DNS), "2130706433" / "0x7f000001" (other IPv4 spellings),
// "[::ffff:127.0.0.1]" (an IPv4-mapped address) and "127.0.0.1.nip.io". URLs are parsed with
// Boost.URL, never by prefix; userinfo in an http(s) URL is refused outright (it hides the real
// host from a reader: http://127.0.0.1@attacker.example/), and so is a host that Boost.URL
// 1.81 reads only in part ("127.0.0.1.nip.io" parses as 127.0.0.1 with the rest in the path).
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "idp/core/error.h"

namespace idp::http {

// `host` as it appears in a URL or a Host header, without port: "localhost", "127.0.0.1",
// "[::1]" (brackets optional).
bool is_loopback_host(std::string_view host);

// The host of a "host[:port]" or "[v6][:port]" authority ("" when malformed).
std::string_view authority_host(std::string_view authority);

struct CheckedUrl {
  std::string scheme;  // "http" | "https"
  std::string host;    // as written, IPv6 with brackets
  std::uint16_t port = 0;
  bool loopback = false;
};

// https://, or http:// to a loopback host; no userinfo; a host is present. `what` names the
// URL in the error, which never repeats the URL itself (its query or user info may hold a
// credential): "JWKS URL must use https:// (got http:// to idp.example; plain http:// is allowed
// only for loopback hosts: localhost, 127.0.0.0/8, [::1])". `also_plain_http` lists further
// hosts, exactly as written in a URL (IPv6 bracketed), that may use http:// too: the AWS
// container credentials agents (169.254.170.2, [fd00:ec2::23]) are link-local.
Result<CheckedUrl> check_url(std::string_view url, std::string_view what = "URL",
                             std::span<const std::string_view> also_plain_http = {});

// An Origin header value ("http://localhost:3000") whose host is loopback.
bool is_loopback_origin(std::string_view origin);

}  // namespace idp::http
