// idp::http::Server is an HTTP/1.1 server on Boost.Beast with one C++20 coroutine per
// connection: keep-alive, a method/path router, limits (header and body size, header/body/idle
// timeouts, maximum connections), optional TLS, streamed (chunked) responses for SSE, and a
// graceful stop. It binds 127.0.0.1 unless told otherwise. Shared-nothing threads: each of the
// `threads` runs its own io_context, and a connection stays on one thread for its whole life (its
// handlers never need a strand); handlers of different connections run at once on different
// threads, so anything they share must be synchronized, and a handler that blocks its thread
// stalls that thread's connections.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "idp/core/error.h"
#include "idp/http/message.h"

namespace idp::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0: pick a free port (see Server::port())
  int threads = 1;
  // How connections reach the threads: false, one acceptor (on the first thread) hands them out
  // in turn; true, every thread has its own SO_REUSEPORT acceptor on the port and the kernel
  // spreads them. Note that with true, another program of the same user may bind the same port
  // with SO_REUSEPORT and share the connections instead of failing with "Address already in use".
  bool reuse_port = false;
  std::size_t max_body_bytes = 4 * 1024 * 1024;
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_connections = 1024;
  std::chrono::milliseconds header_timeout{10'000};  // from first byte to end of headers
  std::chrono::milliseconds body_timeout{30'000};
  std::chrono::milliseconds idle_timeout{60'000};    // keep-alive wait for the next request
  std::chrono::milliseconds write_timeout{30'000};   // one write (a response or one chunk)
  std::chrono::milliseconds shutdown_grace{5'000};   // stop() waits this long for handlers
  // After stop(), connections idle in keep-alive stay open this long (at most shutdown_grace)
  // and a request arriving on one is still answered, with "Connection: close": a reverse proxy
  // that picked the connection just then loses nothing. 0: idle connections close at once.
  std::chrono::milliseconds drain_idle_linger{1'000};
  std::string tls_cert_file;  // PEM chain; TLS is on when both files are set
  std::string tls_key_file;
};

// What a handler uses to answer. Exactly one of: send(), or start_stream() + write()* + finish().
class Responder {
 public:
  virtual ~Responder() = default;
  virtual boost::asio::awaitable<void> send(Response response) = 0;
  // Sends the status and headers of `head` and starts a chunked body; false if the peer is gone.
  virtual boost::asio::awaitable<bool> start_stream(Response head) = 0;
  // Writes one chunk; false when the peer went away or the write timed out.
  virtual boost::asio::awaitable<bool> write(std::string_view data) = 0;
  virtual boost::asio::awaitable<void> finish() = 0;
  // True once stop() was called: long-lived streams should end.
  virtual bool stopping() const = 0;
};

using Handler = std::function<boost::asio::awaitable<void>(const Request&, Responder&)>;

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();  // stops and joins
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Routes `method` ("GET", ... or "*" for any) on an exact path ("/mcp"). Register before start().
  void route(std::string method, std::string path, Handler handler);
  // Routes every path under `prefix` ("/" for all) that no exact route matches; the longest
  // matching prefix wins.
  void route_prefix(std::string method, std::string prefix, Handler handler);
  // Called (once, on a server thread) when stop() begins, to wake long-lived handlers.
  void on_stop(std::function<void()> hook);

  // Binds, listens and starts the threads. Errors name the address: "cannot listen on
  // 127.0.0.1:8080: Address already in use".
  Result<std::uint16_t> start();
  std::uint16_t port() const;
  const ServerOptions& options() const;

  // Graceful stop: no new connections, idle ones closed (after drain_idle_linger), running
  // handlers get shutdown_grace.
  void stop();
  // Blocks until the server has stopped.
  void wait();
  // Blocks until SIGINT or SIGTERM, then stop()s and waits.
  void run_until_signal();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace idp::http
