// The HTTP client's routes and pool: where a URL goes (the origin or a proxy, by the proxy
// options and NO_PROXY), the last URL's parse kept, and the idle keep-alive connections per
// origin (a stale one is dropped when taken).
#include <sys/socket.h>

#include <cerrno>

#include "client_impl.h"
#include "idp/http/url_policy.h"

namespace idp::http {

using namespace client_detail;

void Conn::close() {
  watch->detach();
  beast::error_code ignored;
  lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
  lowest().socket().close(ignored);
}

bool Conn::looks_alive() {
  auto& s = lowest().socket();
  if (!s.is_open() || buffer.size() != 0) return false;
  char c;
  ssize_t n = ::recv(s.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

namespace {

// A connection back in the pool for less than this is taken without the look (a recv with
// MSG_PEEK, one syscall): a server closes an idle keep-alive connection after its idle timeout
// (seconds), not within a millisecond of its last answer, and when it closes one right after
// answering it says so (Connection: close: that connection never came back to the pool). A
// connection reused back to back, as by a client calling tool after tool, skips the syscall.
constexpr auto kFreshIdle = std::chrono::milliseconds(1);

}  // namespace

std::unique_ptr<Conn> Client::Impl::take_idle(const std::string& key) {
  const auto now = Clock::now();
  std::lock_guard lock(mutex);
  auto it = idle.find(key);
  if (it == idle.end()) return nullptr;
  auto& v = it->second;
  while (!v.empty()) {
    auto c = std::move(v.back());
    v.pop_back();
    if ((now - c->idle_since < kFreshIdle && c->buffer.size() == 0) || c->looks_alive()) {
      return c;
    }
    c->close();
  }
  return nullptr;
}

void Client::Impl::give_back(std::unique_ptr<Conn> c) {
  // (The tcp_stream's timers are off: open() ends with expires_never(), and an exchange keeps
  // its deadlines on the connection's watch.)
  c->idle_since = Clock::now();
  std::lock_guard lock(mutex);
  auto& v = idle[c->key];
  if (v.size() >= opt.max_idle_per_origin) {
    c->close();
    return;
  }
  v.push_back(std::move(c));
}

void Client::Impl::close_idle() {
  std::lock_guard lock(mutex);
  for (auto& [key, conns] : idle) {
    for (auto& c : conns) c->close();
  }
  idle.clear();
}

Result<Route> Client::Impl::route_for(const Url& u) const {
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

Result<std::shared_ptr<const Target>> Client::Impl::target_for(const std::string& text) {
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

}  // namespace idp::http
