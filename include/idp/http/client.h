// idp::http::Client is an async HTTP/1.1 client on Asio C++20 coroutines: a keep-alive
// connection pool per origin, TLS 1.2+ with the system CA store (or a CA file) and hostname
// verification, HTTP(S)_PROXY / NO_PROXY (CONNECT for https), connect/read/total timeouts and a
// response size cap. Redirects are not followed: a 3xx comes back as is. Errors name the method,
// the URL and the failing step ("POST https://x/mcp: connect to x:443 failed: Connection
// refused"). Thread-safe: one Client may serve concurrent requests from any thread; it must
// outlive the requests it runs. Beast stays in the .cc file.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "idp/core/error.h"
#include "idp/http/message.h"

namespace idp::http {

struct ClientOptions {
  std::chrono::milliseconds connect_timeout{10'000};  // resolve + connect + proxy + TLS handshake
  std::chrono::milliseconds read_timeout{60'000};     // longest wait for any response bytes
  std::chrono::milliseconds total_timeout{300'000};   // a whole request() (not stream())
  std::size_t max_response_bytes = 16 * 1024 * 1024;  // body cap of request()
  std::size_t max_idle_per_origin = 8;
  std::string ca_file;     // PEM; empty: the system CA store
  bool verify_tls = true;  // false only for tests
  // Link-local and cloud metadata destinations (url_policy.h, link_local_reason) are refused
  // at connect time: the URL's host and every address a name resolves to, so a name that
  // resolves (or rebinds) to 169.254.169.254 is caught where the address is used. True only for
  // the AWS credential sources and secret entries with "allow_link_local": true.
  bool allow_link_local = false;
  std::string user_agent = "idp-agents/0.1";
  // Proxies: explicit values win; otherwise, with use_env_proxy, HTTPS_PROXY / HTTP_PROXY /
  // NO_PROXY (lowercase first). Loopback hosts never go through a proxy.
  bool use_env_proxy = true;
  std::string https_proxy;  // "http://proxy:3128"
  std::string http_proxy;
  std::string no_proxy;  // "a.example.com,.corp,10.0.0.1" or "*"
};

// Header fields that go out with many requests, checked and rendered once: a caller that sends
// the same fields request after request (the MCP client's Content-Type, Accept, protocol version
// and session) builds them once instead of per request. Immutable; share it.
class FixedFields {
 public:
  // kInvalidArgument when a name is not an HTTP token or a value holds CR, LF or NUL.
  static Result<std::shared_ptr<const FixedFields>> make(const Headers& fields);
  const Headers& fields() const { return fields_; }
  // The fields as written on the wire: "Name: value\r\n" each, in order.
  const std::string& text() const { return text_; }
  bool has_host() const { return has_host_; }
  bool has_user_agent() const { return has_agent_; }
  bool has_content_length() const { return has_length_; }
  bool has_transfer_encoding() const { return has_te_; }
  bool chunked() const { return chunked_; }  // the last Transfer-Encoding ends with chunked

 private:
  Headers fields_;
  std::string text_;
  bool has_host_ = false, has_agent_ = false, has_length_ = false, has_te_ = false;
  bool chunked_ = false;
};

struct ClientRequest {
  std::string method = "GET";
  std::string url;  // http:// or https://
  // Sent first, then `headers` (a field in both goes out twice: keep them apart).
  std::shared_ptr<const FixedFields> fixed;
  Headers headers;  // Host, User-Agent and Content-Length are added unless given
  std::string body;
  // Overrides: the total deadline (request(); for stream() there is none unless set) and the
  // longest wait for bytes (for example a long SSE stream with rare keep-alives).
  std::optional<std::chrono::milliseconds> timeout;
  std::optional<std::chrono::milliseconds> read_timeout;
};

struct ClientResponse {
  int status = 0;
  Headers headers;
  std::string body;
};

// Counters, mostly for tests and benchmarks.
struct ClientStats {
  std::size_t connections_opened = 0;
  std::size_t connections_reused = 0;
  std::size_t retries = 0;  // stale pooled connections retried on a fresh one
};

class Client {
 public:
  explicit Client(boost::asio::any_io_executor executor, ClientOptions options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends the request and reads the whole response; the body is capped at max_response_bytes
  // (kResourceExhausted). Error codes: kInvalidArgument (bad URL), kUnavailable (resolve,
  // connect, proxy, TLS, connection lost), kTimeout, kProtocol (bad HTTP), kResourceExhausted.
  boost::asio::awaitable<Result<ClientResponse>> request(ClientRequest request);

  // Sends the request, calls on_head with the status and headers, then on_chunk with body bytes
  // as they arrive until the body ends, on_chunk returns false (the connection is then closed),
  // or a timeout. Returns the status.
  boost::asio::awaitable<Result<int>> stream(
      ClientRequest request, std::function<void(const ClientResponse& head)> on_head,
      std::function<bool(std::string_view chunk)> on_chunk);

  // Closes every idle pooled connection.
  void close_idle();
  ClientStats stats() const;
  const ClientOptions& options() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace idp::http
