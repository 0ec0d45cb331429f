// The HTTP client in one file, past the usual ~600 lines on purpose: Beast and Asio SSL stay
// confined to this one translation unit (each one that includes them costs ~17 s to build).
#include "idp/http/client.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "idp/core/random.h"
#include "idp/http/url_policy.h"

namespace idp::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = net::ip::tcp;
using net::awaitable;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kUseTuple = net::as_tuple(net::use_awaitable);
constexpr std::size_t kMaxHeaderBytes = 64 * 1024;
constexpr std::size_t kChunkBytes = 16 * 1024;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

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

// NO_PROXY: comma/space separated; "*" matches all; "example.com" and ".example.com" match the
// host and its subdomains; an entry may carry ":port".
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

bool is_idempotent(std::string_view m) {
  return m == "GET" || m == "HEAD" || m == "PUT" || m == "DELETE" || m == "OPTIONS" ||
         m == "TRACE";
}

// Errors that mean a pooled connection had gone stale.
bool is_connection_lost(const beast::error_code& ec) {
  return ec == net::error::eof || ec == bhttp::error::end_of_stream ||
         ec == net::error::connection_reset || ec == net::error::broken_pipe ||
         ec == net::error::connection_aborted || ec == net::ssl::error::stream_truncated ||
         ec == bhttp::error::partial_message;
}

// A parse error of Beast's HTTP parser: the peer does not speak HTTP properly.
bool is_http_error(const beast::error_code& ec) {
  return ec.category() == beast::error_code(bhttp::error::bad_version).category();
}

struct Conn {
  explicit Conn(const net::any_io_executor& ex) : tcp(ex) {}
  beast::tcp_stream tcp;  // the stream unless TLS; then moved into `tls`
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  std::string key;
  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : tcp; }
  void close() {
    beast::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().socket().close(ignored);
  }
  // False when the peer closed the idle connection (or sent something unexpected).
  bool looks_alive() {
    auto& s = lowest().socket();
    if (!s.is_open() || buffer.size() != 0) return false;
    char c;
    ssize_t n = ::recv(s.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }
};

// A deadline for the whole request plus a per-step limit; remembers which one was armed.
struct Deadline {
  std::optional<Clock::time_point> at;
  milliseconds total{0};
  bool total_armed = false;
  milliseconds arm(beast::tcp_stream& s, milliseconds step) {
    total_armed = false;
    milliseconds d = step;
    if (at) {
      auto left = std::chrono::duration_cast<milliseconds>(*at - Clock::now());
      if (left < milliseconds(1)) left = milliseconds(1);
      if (left <= step) {
        d = left;
        total_armed = true;
      }
    }
    s.expires_after(d);
    return d;
  }
};

// The outcome of one attempt on one connection.
struct Attempt {
  std::optional<Error> error;
  bool retryable = false;  // a stale pooled connection: try once more on a fresh one
  bool reusable = false;
  ClientResponse response;
};

}  // namespace

struct Client::Impl : std::enable_shared_from_this<Client::Impl> {
  Impl(net::any_io_executor ex, ClientOptions o) : executor(std::move(ex)), opt(std::move(o)) {
    if (opt.use_env_proxy) {
      if (opt.https_proxy.empty()) opt.https_proxy = env("https_proxy", "HTTPS_PROXY");
      if (opt.http_proxy.empty()) opt.http_proxy = env("http_proxy", "HTTP_PROXY");
      if (opt.no_proxy.empty()) opt.no_proxy = env("no_proxy", "NO_PROXY");
    }
  }

  // The TLS context is built on the first https:// connection: loading the system CA store
  // costs ~17 ms and ~5 MB, which a client of plain loopback URLs should not pay.
  net::ssl::context& tls_context() {
    std::call_once(ssl_once, [this] {
      ssl.emplace(net::ssl::context::tls_client);
      SSL_CTX_set_min_proto_version(ssl->native_handle(), TLS1_2_VERSION);
      ssl->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                       net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                       net::ssl::context::no_tlsv1_1);
      beast::error_code ec;
      if (!opt.ca_file.empty()) {
        ssl->load_verify_file(opt.ca_file, ec);
        if (ec) tls_setup_error = "cannot load the CA file " + opt.ca_file + ": " + ec.message();
      } else {
        ssl->set_default_verify_paths(ec);
        if (ec) tls_setup_error = "cannot load the system CA store: " + ec.message();
      }
      ssl->set_verify_mode(opt.verify_tls ? net::ssl::verify_peer : net::ssl::verify_none);
    });
    return *ssl;
  }

  net::any_io_executor executor;
  ClientOptions opt;
  std::once_flag ssl_once;
  std::optional<net::ssl::context> ssl;
  std::string tls_setup_error;

  mutable std::mutex mutex;
  std::unordered_map<std::string, std::vector<std::unique_ptr<Conn>>> idle;
  std::atomic<std::size_t> opened{0}, reused{0}, retries{0};

  std::unique_ptr<Conn> take_idle(const std::string& key) {
    std::lock_guard lock(mutex);
    auto it = idle.find(key);
    if (it == idle.end()) return nullptr;
    auto& v = it->second;
    while (!v.empty()) {
      auto c = std::move(v.back());
      v.pop_back();
      if (c->looks_alive()) return c;
      c->close();
    }
    return nullptr;
  }

  void give_back(std::unique_ptr<Conn> c) {
    c->lowest().expires_never();
    std::lock_guard lock(mutex);
    auto& v = idle[c->key];
    if (v.size() >= opt.max_idle_per_origin) {
      c->close();
      return;
    }
    v.push_back(std::move(c));
  }

  // Where to connect for `u`: the origin itself or a proxy.
  struct Route {
    std::optional<Url> proxy;
    bool tunnel = false;  // CONNECT through the proxy (https)
    std::string key;      // pool key
  };

  Result<Route> route_for(const Url& u) const {
    Route r;
    const std::string& proxy = u.tls ? opt.https_proxy : opt.http_proxy;
    if (!proxy.empty() && !is_loopback_host(u.host) && !no_proxy_matches(opt.no_proxy, u)) {
      std::string text = proxy.find("://") == std::string::npos ? "http://" + proxy : proxy;
      auto p = parse_url(text);
      if (!p) return std::unexpected(p.error().with_context("proxy " + proxy));
      if (p->tls) {
        return make_error(ErrorCode::kInvalidArgument,
                          "proxy " + proxy + ": only http:// proxies are supported");
      }
      r.proxy = std::move(*p);
      r.tunnel = u.tls;
    }
    r.key = u.scheme + "://" + u.host_port();
    if (r.proxy) r.key += " via " + r.proxy->host_port();
    return r;
  }

  // A URL parsed, with its route. The options the route depends on never change, so the last
  // one is kept: a client (an MCP client above all) sends request after request to one URL, and
  // parsing it and building the pool key cost several allocations each time.
  struct Target {
    std::string text;
    Url url;
    Route route;
  };
  std::mutex target_mutex;
  std::shared_ptr<const Target> last_target;  // under target_mutex

  Result<std::shared_ptr<const Target>> target_for(const std::string& text) {
    {
      std::lock_guard lock(target_mutex);
      if (last_target && last_target->text == text) return last_target;
    }
    auto u = parse_url(text);
    if (!u) return std::unexpected(u.error());
    auto route = route_for(*u);
    if (!route) return std::unexpected(route.error());
    auto t = std::make_shared<const Target>(Target{text, std::move(*u), std::move(*route)});
    std::lock_guard lock(target_mutex);
    last_target = t;
    return t;
  }

  awaitable<Result<std::vector<tcp::endpoint>>> resolve(const Url& where, Deadline& dl) {
    std::vector<tcp::endpoint> eps;
    beast::error_code ec;
    if (where.host == "localhost") {
      // 127.0.0.1 first: servers on loopback usually bind IPv4 only.
      eps.emplace_back(net::ip::make_address_v4("127.0.0.1"), where.port);
      eps.emplace_back(net::ip::make_address_v6("::1"), where.port);
      co_return eps;
    }
    auto addr = net::ip::make_address(where.host, ec);
    if (!ec) {
      eps.emplace_back(addr, where.port);
      co_return eps;
    }
    // The timer's handler may run after this coroutine ended: it shares the resolver.
    struct Lookup {
      explicit Lookup(const net::any_io_executor& ex) : resolver(ex) {}
      tcp::resolver resolver;
      std::atomic<bool> timed_out{false};
    };
    auto lookup = std::make_shared<Lookup>(executor);
    net::steady_timer timer(executor);
    milliseconds limit = opt.connect_timeout;
    if (dl.at) {
      auto left = std::chrono::duration_cast<milliseconds>(*dl.at - Clock::now());
      if (left < limit) limit = std::max(left, milliseconds(1));
    }
    timer.expires_after(limit);
    timer.async_wait([lookup](const beast::error_code& e) {
      if (e) return;
      lookup->timed_out = true;
      lookup->resolver.cancel();
    });
    std::string port = std::to_string(where.port);
    auto [rec, results] = co_await lookup->resolver.async_resolve(where.host, port, kUseTuple);
    timer.cancel();
    if (lookup->timed_out) {
      co_return make_error(ErrorCode::kTimeout, "resolving " + where.host + " timed out after " +
                                                    std::to_string(limit.count()) + " ms");
    }
    if (rec) {
      co_return make_error(ErrorCode::kUnavailable,
                           "resolve " + where.host + " failed: " + rec.message());
    }
    for (const auto& e : results) eps.push_back(e.endpoint());
    co_return eps;
  }

  // Why connecting to `address` (what `host` names) is refused, if it is.
  std::optional<Error> link_local_refusal(const std::string& host,
                                          const std::string& address) const {
    if (opt.allow_link_local) return std::nullopt;
    auto why = link_local_reason(address);
    if (!why) return std::nullopt;
    std::string what = host == address ? *why : host + " resolves to " + *why;
    return Error(ErrorCode::kPermissionDenied,
                 "connect to " + host + " refused: " + what +
                     "; link-local and cloud metadata addresses are refused unless allowed (a "
                     "secret entry's \"allow_link_local\": true)");
  }

  Error step_error(std::string_view step, const beast::error_code& ec, const Deadline& dl,
                   milliseconds armed) const {
    if (ec == beast::error::timeout) {
      if (dl.total_armed) {
        return Error(ErrorCode::kTimeout, std::string(step) + " failed: the total timeout of " +
                                              std::to_string(dl.total.count()) + " ms passed");
      }
      return Error(ErrorCode::kTimeout, std::string(step) + " timed out after " +
                                            std::to_string(armed.count()) + " ms");
    }
    return Error(ErrorCode::kUnavailable, std::string(step) + " failed: " + ec.message());
  }

  // A new connection to the origin of `u` (TCP, proxy tunnel, TLS), ready for a request.
  awaitable<Result<std::unique_ptr<Conn>>> open(const Url& u, const Route& route, Deadline& dl) {
    if (u.tls) tls_context();
    if (u.tls && !tls_setup_error.empty()) {
      co_return make_error(ErrorCode::kInvalidArgument, "TLS setup failed: " + tls_setup_error);
    }
    const Url& hop = route.proxy ? *route.proxy : u;
    // Through a proxy the proxy resolves the name: only what the URL itself says can be checked.
    if (route.proxy) {
      if (auto refused = link_local_refusal(u.host, u.host)) co_return std::unexpected(*refused);
    }
    auto eps = co_await resolve(hop, dl);
    if (!eps) co_return std::unexpected(eps.error());
    // The addresses checked are the ones connected to: no second lookup a rebinding DNS server
    // could answer differently.
    for (const auto& ep : *eps) {
      if (auto refused = link_local_refusal(hop.host, ep.address().to_string())) {
        co_return std::unexpected(*refused);
      }
    }
    auto c = std::make_unique<Conn>(executor);
    c->key = route.key;
    std::string what = "connect to " + hop.host_port();
    if (route.proxy) what = "connect to proxy " + hop.host_port();
    milliseconds armed = dl.arm(c->tcp, opt.connect_timeout);
    auto [ec, ep] = co_await c->tcp.async_connect(*eps, kUseTuple);
    if (ec) co_return std::unexpected(step_error(what, ec, dl, armed));
    ++opened;
    beast::error_code ignored;
    c->tcp.socket().set_option(tcp::no_delay(true), ignored);

    if (route.tunnel) {
      bhttp::request<bhttp::empty_body> req{bhttp::verb::connect, u.host_port(), 11};
      req.set(bhttp::field::host, u.host_port());
      req.set(bhttp::field::user_agent, opt.user_agent);
      if (!route.proxy->userinfo.empty()) {
        req.set(bhttp::field::proxy_authorization, "Basic " + base64_encode(route.proxy->userinfo));
      }
      std::string step = "CONNECT " + u.host_port() + " through proxy " + hop.host_port();
      armed = dl.arm(c->tcp, opt.connect_timeout);
      auto [wec, wn] = co_await bhttp::async_write(c->tcp, req, kUseTuple);
      if (wec) co_return std::unexpected(step_error(step, wec, dl, armed));
      bhttp::response_parser<bhttp::empty_body> p;
      p.skip(true);  // a 2xx answer to CONNECT has no body: the tunnel starts right after
      auto [rec, rn] = co_await bhttp::async_read_header(c->tcp, c->buffer, p, kUseTuple);
      if (rec) co_return std::unexpected(step_error(step, rec, dl, armed));
      int status = p.get().result_int();
      if (status < 200 || status > 299) {
        co_return make_error(ErrorCode::kUnavailable,
                             step + " failed: HTTP " + std::to_string(status));
      }
      c->buffer.clear();
    }

    if (u.tls) {
      c->tls.emplace(std::move(c->tcp), tls_context());
      SSL* h = c->tls->native_handle();
      if (!u.host_is_ip) {
        SSL_set_tlsext_host_name(h, u.host.c_str());
        SSL_set1_host(h, u.host.c_str());
      } else {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(h), u.host.c_str());
      }
      std::string step = "TLS handshake with " + u.host_port();
      armed = dl.arm(c->lowest(), opt.connect_timeout);
      auto [hec] = co_await c->tls->async_handshake(net::ssl::stream_base::client, kUseTuple);
      if (hec) {
        Error e = step_error(step, hec, dl, armed);
        long v = SSL_get_verify_result(h);
        if (v != X509_V_OK && hec != beast::error::timeout) {
          e = Error(ErrorCode::kUnavailable, step + " failed: " + hec.message() + ": " +
                                                 X509_verify_cert_error_string(v));
        }
        co_return std::unexpected(e);
      }
    }
    c->lowest().expires_never();
    co_return c;
  }

  // Writes the request and reads the response on `s`; with on_chunk the body is streamed.
  template <class Stream>
  awaitable<Attempt> exchange(Stream& s, Conn& c, const bhttp::request<bhttp::string_body>& req,
                              bool head_only, bool reused, bool idempotent, Deadline& dl,
                              milliseconds read_timeout,
                              const std::function<void(const ClientResponse&)>* on_head,
                              const std::function<bool(std::string_view)>* on_chunk) {
    Attempt a;
    milliseconds armed = dl.arm(c.lowest(), read_timeout);
    auto [wec, wn] = co_await bhttp::async_write(s, req, kUseTuple);
    if (wec) {
      a.error = step_error("sending the request", wec, dl, armed);
      a.retryable = reused && wec != beast::error::timeout && (idempotent || wn == 0);
      co_return a;
    }

    std::optional<bhttp::response_parser<bhttp::buffer_body>> p;
    for (;;) {
      p.emplace();
      p->header_limit(kMaxHeaderBytes);
      if (on_chunk) {
        p->body_limit(std::numeric_limits<std::uint64_t>::max());
      } else {
        p->body_limit(opt.max_response_bytes);
      }
      if (head_only) p->skip(true);
      armed = dl.arm(c.lowest(), read_timeout);
      auto [ec, n] = co_await bhttp::async_read_header(s, c.buffer, *p, kUseTuple);
      if (ec) {
        bool nothing = !p->got_some();
        if (ec == bhttp::error::body_limit) {
          a.error = Error(ErrorCode::kResourceExhausted,
                          "response body exceeds the limit of " +
                              std::to_string(opt.max_response_bytes) + " bytes");
        } else if (ec == bhttp::error::header_limit) {
          a.error = Error(ErrorCode::kResourceExhausted,
                          "response header exceeds " + std::to_string(kMaxHeaderBytes) + " bytes");
        } else if (ec == beast::error::timeout) {
          a.error = step_error("waiting for the response", ec, dl, armed);
        } else if (is_connection_lost(ec)) {
          a.error = Error(ErrorCode::kUnavailable,
                          "the connection was closed before a response: " + ec.message());
          a.retryable = reused && nothing && idempotent;
        } else if (is_http_error(ec)) {
          a.error = Error(ErrorCode::kProtocol, "malformed HTTP response: " + ec.message());
        } else {
          a.error = step_error("reading the response", ec, dl, armed);
        }
        co_return a;
      }
      int status = p->get().result_int();
      if (status < 100) {  // Beast reads any three digits: "000" (found by fuzz-http_client)
        a.error = Error(ErrorCode::kProtocol,
                        "malformed HTTP response: status " + std::to_string(status));
        co_return a;
      }
      if (status >= 100 && status < 200 && status != 101) continue;  // 100 Continue and such
      break;
    }

    a.response.status = p->get().result_int();
    for (const auto& f : p->get()) {
      a.response.headers.add(std::string(f.name_string()), std::string(f.value()));
    }
    if (on_head) (*on_head)(a.response);

    std::array<char, kChunkBytes> buf;
    bool stopped = false;
    while (!p->is_done()) {
      p->get().body().data = buf.data();
      p->get().body().size = buf.size();
      armed = dl.arm(c.lowest(), read_timeout);
      auto [ec, n] = co_await bhttp::async_read_some(s, c.buffer, *p, kUseTuple);
      if (ec == bhttp::error::need_buffer) ec = {};
      std::size_t got = buf.size() - p->get().body().size;
      if (got) {
        std::string_view chunk(buf.data(), got);
        if (on_chunk) {
          if (!(*on_chunk)(chunk)) {
            stopped = true;
            break;
          }
        } else {
          a.response.body.append(chunk);
        }
      }
      if (ec) {
        if (ec == bhttp::error::body_limit) {
          a.error = Error(ErrorCode::kResourceExhausted,
                          "response body exceeds the limit of " +
                              std::to_string(opt.max_response_bytes) + " bytes");
        } else if (is_connection_lost(ec)) {  // (a timeout is neither this nor the next)
          a.error = Error(ErrorCode::kUnavailable,
                          "the connection was closed in the middle of the response: " +
                              ec.message());
        } else if (is_http_error(ec)) {
          a.error = Error(ErrorCode::kProtocol, "malformed HTTP response body: " + ec.message());
        } else {
          a.error = step_error("reading the response body", ec, dl, armed);
        }
        co_return a;
      }
    }
    a.reusable = !stopped && p->is_done() && p->get().keep_alive() && c.buffer.size() == 0;
    co_return a;
  }

  awaitable<Attempt> run(const Url& u, const Route& route, const ClientRequest& in,
                         Deadline& dl, milliseconds read_timeout,
                         const std::function<void(const ClientResponse&)>* on_head,
                         const std::function<bool(std::string_view)>* on_chunk) {
    bhttp::request<bhttp::string_body> req;
    req.version(11);
    bhttp::verb verb = bhttp::string_to_verb(in.method);
    if (verb == bhttp::verb::unknown) {
      req.method_string(in.method);
    } else {
      req.method(verb);
    }
    bool absolute = route.proxy && !route.tunnel;
    req.target(absolute ? u.absolute() : u.target);
    if (!in.headers.get("Host")) req.set(bhttp::field::host, u.authority);
    if (!in.headers.get("User-Agent") && !opt.user_agent.empty()) {
      req.set(bhttp::field::user_agent, opt.user_agent);
    }
    if (absolute && !route.proxy->userinfo.empty()) {
      req.set(bhttp::field::proxy_authorization, "Basic " + base64_encode(route.proxy->userinfo));
    }
    for (const auto& [k, v] : in.headers.items()) req.insert(k, v);
    req.body() = in.body;
    if (!in.headers.get("Content-Length") && !in.headers.get("Transfer-Encoding")) {
      req.prepare_payload();
    }
    req.keep_alive(true);
    bool head_only = in.method == "HEAD";
    bool idempotent = is_idempotent(in.method);

    Attempt a;
    for (int attempt = 0; attempt < 2; ++attempt) {
      std::unique_ptr<Conn> c;
      if (attempt == 0) c = take_idle(route.key);
      bool is_reused = c != nullptr;
      if (is_reused) {
        ++reused;
      } else {
        auto opened_conn = co_await open(u, route, dl);
        if (!opened_conn) {
          a.error = opened_conn.error();
          a.retryable = false;
          co_return a;
        }
        c = std::move(*opened_conn);
      }
      if (c->tls) {
        a = co_await exchange(*c->tls, *c, req, head_only, is_reused, idempotent, dl,
                              read_timeout, on_head, on_chunk);
      } else {
        a = co_await exchange(c->tcp, *c, req, head_only, is_reused, idempotent, dl,
                              read_timeout, on_head, on_chunk);
      }
      if (a.reusable) {
        give_back(std::move(c));
      } else {
        c->close();
      }
      if (!a.error || !a.retryable) break;
      ++retries;
    }
    co_return a;
  }

  awaitable<Attempt> perform(const ClientRequest& in, bool streaming,
                             const std::function<void(const ClientResponse&)>* on_head,
                             const std::function<bool(std::string_view)>* on_chunk) {
    Attempt a;
    auto target = target_for(in.url);
    if (!target) {
      a.error = target.error();
      co_return a;
    }
    const Url& u = (*target)->url;
    const Route& route = (*target)->route;
    Deadline dl;
    if (in.timeout) {
      dl.total = *in.timeout;
    } else if (!streaming) {
      dl.total = opt.total_timeout;
    }
    if (dl.total.count() > 0) dl.at = Clock::now() + dl.total;
    milliseconds read_timeout = in.read_timeout ? *in.read_timeout : opt.read_timeout;
    a = co_await run(u, route, in, dl, read_timeout, on_head, on_chunk);
    co_return a;
  }
};

Client::Client(net::any_io_executor executor, ClientOptions options)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(options))) {}

Client::~Client() { close_idle(); }

awaitable<Result<ClientResponse>> Client::request(ClientRequest request) {
  auto self = impl_;
  Attempt a = co_await self->perform(request, false, nullptr, nullptr);
  if (a.error) co_return std::unexpected(a.error->with_context(request.method + " " + request.url));
  co_return std::move(a.response);
}

awaitable<Result<int>> Client::stream(ClientRequest request,
                                      std::function<void(const ClientResponse&)> on_head,
                                      std::function<bool(std::string_view)> on_chunk) {
  auto self = impl_;
  if (!on_chunk) on_chunk = [](std::string_view) { return true; };
  const std::function<void(const ClientResponse&)>* head = on_head ? &on_head : nullptr;
  Attempt a = co_await self->perform(request, true, head, &on_chunk);
  if (a.error) co_return std::unexpected(a.error->with_context(request.method + " " + request.url));
  co_return a.response.status;
}

void Client::close_idle() {
  std::lock_guard lock(impl_->mutex);
  for (auto& [key, conns] : impl_->idle) {
    for (auto& c : conns) c->close();
  }
  impl_->idle.clear();
}

ClientStats Client::stats() const {
  return ClientStats{impl_->opened.load(), impl_->reused.load(), impl_->retries.load()};
}

const ClientOptions& Client::options() const { return impl_->opt; }

}  // namespace idp::http
