// Private to the HTTP client: a parsed http(s) URL and the NO_PROXY match (client_url.cc).
// Free of Beast and Asio.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "idp/core/error.h"

namespace idp::http::client_detail {

// One parsed http(s) URL.
struct Url {
  bool tls = false;
  std::string scheme;
  std::string host;       // without brackets
  bool host_is_ip = false;
  std::uint16_t port = 0;
  std::string target;     // origin-form: "/path?query"
  std::string authority;  // for the Host header: "host" or "host:port", IPv6 bracketed
  std::string userinfo;   // decoded "user:password", proxies only
  std::string absolute() const { return scheme + "://" + authority + target; }
  std::string host_port() const {
    return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
           std::to_string(port);
  }
};

Result<Url> parse_url(std::string_view text);

// NO_PROXY: comma/space separated; "*" matches all; "example.com" and ".example.com" match the
// host and its subdomains; an entry may carry ":port".
bool no_proxy_matches(std::string_view list, const Url& u);

// The first of the two environment variables that is set and not empty, else "".
std::string env(const char* lower_name, const char* upper_name);

}  // namespace idp::http::client_detail
