// A new connection of the HTTP client: the name resolved (with a deadline), the link-local and
// metadata addresses refused, TCP connected, a CONNECT tunnel through an http:// proxy for
// https, then the TLS handshake with hostname (or IP) verification.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "client_impl.h"
#include "idp/core/random.h"
#include "idp/http/url_policy.h"

namespace idp::http {

using namespace client_detail;
using net::awaitable;

namespace {

constexpr auto kUseTuple = net::as_tuple(net::use_awaitable);

}  // namespace

net::ssl::context& Client::Impl::tls_context() {
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

awaitable<Result<std::vector<tcp::endpoint>>> Client::Impl::resolve(const Url& where,
                                                                   Deadline& dl) {
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

std::optional<Error> Client::Impl::link_local_refusal(const std::string& host,
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

awaitable<Result<std::unique_ptr<Conn>>> Client::Impl::open(const Url& u, const Route& route,
                                                          Deadline& dl) {
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

}  // namespace idp::http
