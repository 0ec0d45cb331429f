// Private: the inside of idp::http::Client, shared by the files that implement it:
//
//   client.cc           the public facade: request(), stream(), close_idle(), stats()
//   client_request.cc   the request's head and body framing as written on the wire
//   client_url.cc       the URL parse and the NO_PROXY match (no Beast)
//   client_pool.cc      where a URL goes (origin or proxy), the last URL's parse kept, and the
//                       pool of idle keep-alive connections per origin
//   client_connect.cc   a new connection: resolve, the link-local check, TCP, a CONNECT tunnel
//                       through a proxy, the TLS handshake
//   client_exchange.cc  one request: its deadline, the exchange on one connection (write, read
//                       the response, stream its body), the retry of a stale pooled connection
//   client_watch.cc     the exchange steps' deadlines on one long-lived timer per connection
//
// Beast and Asio SSL stay in these files (and this header), never in public headers.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "client_url.h"
#include "client_watch.h"
#include "idp/http/client.h"

namespace idp::http {

namespace client_detail {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = net::ip::tcp;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// One keep-alive connection: plain TCP or TLS over TCP.
struct Conn {
  explicit Conn(const net::any_io_executor& ex) : tcp(ex), watch(std::make_shared<Watch>(ex)) {}
  ~Conn() { watch->detach(); }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  beast::tcp_stream tcp;  // the stream unless TLS; then moved into `tls`
  // The deadline of the exchange's steps. The tcp_stream's own timeouts serve only while the
  // connection is set up (client_connect.cc).
  std::shared_ptr<Watch> watch;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  std::string key;
  Clock::time_point idle_since;  // when it went back to the pool
  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : tcp; }
  void close();
  // False when the peer closed the idle connection (or sent something unexpected).
  bool looks_alive();
};

// A deadline for the whole request plus a per-step limit; remembers which one was armed.
struct Deadline {
  std::optional<Clock::time_point> at;
  milliseconds total{0};
  bool total_armed = false;
  // The limit of a step starting at `now`: `step`, or what is left of the total when less.
  milliseconds limit(milliseconds step, Clock::time_point now);
  milliseconds arm(beast::tcp_stream& s, milliseconds step);
  // The same for an exchange step on `c`, through its watch.
  milliseconds arm(Conn& c, milliseconds step);
};

// The outcome of one attempt on one connection.
struct Attempt {
  std::optional<Error> error;
  bool retryable = false;  // a stale pooled connection: try once more on a fresh one
  bool reusable = false;
  ClientResponse response;
};

// Where to connect for a URL: the origin itself or a proxy.
struct Route {
  std::optional<Url> proxy;
  bool tunnel = false;  // CONNECT through the proxy (https)
  std::string key;      // pool key
};

// A URL parsed, with its route.
struct Target {
  std::string text;
  Url url;
  Route route;
};

// A request's head and its body's framing, ready to write (client_request.cc).
struct WireRequest {
  std::string head;        // request line and fields, up to the empty line
  std::string chunk_size;  // "<hex>\r\n" of the one chunk when chunked
  bool chunked = false;    // the caller asked for Transfer-Encoding: chunked
  // kInvalidArgument when the method or a field would break the message's framing.
  Result<void> build(const ClientRequest& in, const Url& u, const Route& route,
                     const ClientOptions& opt);
  // The buffers to write: the head, then the body as framed; returns how many.
  std::size_t buffers(std::string_view body, std::array<net::const_buffer, 4>& out) const;
};

using OnHead = std::function<void(const ClientResponse&)>;
using OnChunk = std::function<bool(std::string_view)>;

}  // namespace client_detail

struct Client::Impl : std::enable_shared_from_this<Client::Impl> {
  using Conn = client_detail::Conn;
  using Deadline = client_detail::Deadline;
  using Attempt = client_detail::Attempt;
  using Route = client_detail::Route;
  using Target = client_detail::Target;
  using Url = client_detail::Url;
  using milliseconds = std::chrono::milliseconds;

  Impl(boost::asio::any_io_executor ex, ClientOptions o);

  boost::asio::any_io_executor executor;
  ClientOptions opt;

  // ---- client_connect.cc ----
  // The TLS context is built on the first https:// connection: loading the system CA store
  // costs ~17 ms and ~5 MB, which a client of plain loopback URLs should not pay.
  std::once_flag ssl_once;
  std::optional<boost::asio::ssl::context> ssl;
  std::string tls_setup_error;
  boost::asio::ssl::context& tls_context();
  boost::asio::awaitable<Result<std::vector<client_detail::tcp::endpoint>>> resolve(
      const Url& where, Deadline& dl);
  // Why connecting to `address` (what `host` names) is refused, if it is.
  std::optional<Error> link_local_refusal(const std::string& host,
                                          const std::string& address) const;
  // A new connection to the origin of `u` (TCP, proxy tunnel, TLS), ready for a request.
  boost::asio::awaitable<Result<std::unique_ptr<Conn>>> open(const Url& u, const Route& route,
                                                             Deadline& dl);

  // ---- client_pool.cc ----
  mutable std::mutex mutex;
  std::unordered_map<std::string, std::vector<std::unique_ptr<Conn>>> idle;
  std::atomic<std::size_t> opened{0}, reused{0}, retries{0};
  std::unique_ptr<Conn> take_idle(const std::string& key);
  void give_back(std::unique_ptr<Conn> c);
  void close_idle();
  Result<Route> route_for(const Url& u) const;
  // The options the route depends on never change, so the last URL's parse and route are kept:
  // a client (an MCP client above all) sends request after request to one URL, and parsing it
  // and building the pool key cost several allocations each time.
  std::mutex target_mutex;
  std::shared_ptr<const Target> last_target;  // under target_mutex
  Result<std::shared_ptr<const Target>> target_for(const std::string& text);

  // ---- client_exchange.cc ----
  Error step_error(std::string_view step, const boost::beast::error_code& ec, const Deadline& dl,
                   milliseconds armed) const;
  // Writes the request and reads the response on `s`; with on_chunk the body is streamed.
  template <class Stream>
  boost::asio::awaitable<Attempt> exchange(Stream& s, Conn& c, const client_detail::WireRequest& w,
                                           std::string_view body, bool head_only, bool reused,
                                           bool idempotent, Deadline& dl, milliseconds read_timeout,
                                           const client_detail::OnHead* on_head,
                                           const client_detail::OnChunk* on_chunk);
  // One request: its URL's route, its deadline (the total one of request(); none for a stream
  // unless the request sets one), a pooled or new connection, the exchange, one retry. Out is
  // what the public function returns (request(): the response; stream(): the status): they
  // return this coroutine, with no frame of their own. A stream has on_chunk.
  template <class Out>
  boost::asio::awaitable<Out> run(ClientRequest in, bool streaming, client_detail::OnHead on_head,
                                  client_detail::OnChunk on_chunk);
};

}  // namespace idp::http
