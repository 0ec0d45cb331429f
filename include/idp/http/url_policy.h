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
//
// Link-local and cloud metadata destinations are refused unless the caller allows them: a
// request there reaches the machine's own cloud control plane (instance credentials, user data),
// never a customer's server. The list and the reasons are in docs/threat-model.md; a name that
// only resolves to such an address is caught where the address is known, in http::Client's
// connect (ClientOptions::allow_link_local).
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
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

// Why `host` is a link-local or cloud metadata destination, or nullopt when it is neither.
// `host` is a URL host or an address as the resolver returns it, in any spelling the system
// resolver reads as a number ("169.254.169.254", "2852039166", "0xa9.0xfe.43518",
// "[::ffff:169.254.169.254]", "[fe80::1%25eth0]", "64:ff9b::a9fe:a9fe"), or one of the metadata
// host names ("metadata.google.internal", any letter case, one trailing dot). The answer names
// the address in dotted form: "169.254.169.254, the cloud instance metadata address (AWS,
// Azure, Google Cloud, Oracle Cloud, OpenStack)".
std::optional<std::string> link_local_reason(std::string_view host);

struct CheckedUrl {
  std::string scheme;  // "http" | "https"
  std::string host;    // as written, IPv6 with brackets
  std::uint16_t port = 0;
  bool loopback = false;
};

struct UrlRules {
  // Hosts, exactly as written in a URL (IPv6 bracketed), that may use http:// too and may be
  // link-local: the AWS container credentials agents (169.254.170.2, [fd00:ec2::23]).
  std::span<const std::string_view> also_plain_http = {};
  // Link-local and metadata hosts (link_local_reason) pass; a secret entry's
  // "allow_link_local": true.
  bool allow_link_local = false;
};

// https://, or http:// to a loopback host; no userinfo; a host is present; not a link-local or
// cloud metadata host unless `rules` allow it (kPermissionDenied: "mcp_url points at
// 169.254.169.254, the cloud instance metadata address (...); link-local and cloud metadata
// addresses are refused ..."; every other refusal is kInvalidArgument). `what` names the URL in
// the error, which never repeats the URL itself (its query or user info may hold a
// credential): "JWKS URL must use https:// (got http:// to idp.example; plain http:// is allowed
// only for loopback hosts: localhost, 127.0.0.0/8, [::1])".
Result<CheckedUrl> check_url(std::string_view url, std::string_view what, const UrlRules& rules);
// The same with UrlRules{also_plain_http}.
Result<CheckedUrl> check_url(std::string_view url, std::string_view what = "URL",
                             std::span<const std::string_view> also_plain_http = {});

// An Origin header value ("http://localhost:3000") whose host is loopback.
bool is_loopback_origin(std::string_view origin);

}  // namespace idp::http
