#include "idp/http/server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <time.h>

#include <array>
#include <algorithm>
#include <atomic>
#include <memory_resource>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "idp/core/log.h"
#include "idp/core/random.h"
#include "request_impl.h"
#include "server_conn.h"

namespace idp::http {

using namespace server_detail;  // the server's private parts (server_conn.h)

namespace {

struct Route {
  std::string method;
  Handler handler;
};

// How often a worker sweeps its connections for passed deadlines: an eighth of the shortest
// timeout, between 5 and 250 ms.
std::chrono::milliseconds sweep_period(const ServerOptions& o) {
  auto shortest = std::min({o.header_timeout, o.body_timeout, o.idle_timeout, o.write_timeout});
  return std::clamp(shortest / 8, std::chrono::milliseconds(5), std::chrono::milliseconds(250));
}

// One server thread: its own io_context (nothing of it is shared with the other threads: no
// scheduler lock, no strands) and, with reuse_port, its own acceptor on the shared port.
struct Worker {
  // The worker's open connections, for the timeout sweep (its thread only). Declared before the
  // io_context: a connection's coroutine destroyed with the io_context still unlists itself.
  std::vector<ConnControl*> live;
  net::io_context ioc{1};
  std::optional<tcp::acceptor> acceptor;
  // Keeps run() going while the thread has no connection yet; the drain stops the io_context.
  net::executor_work_guard<net::io_context::executor_type> guard{ioc.get_executor()};
  std::thread thread;
};

// SO_REUSEPORT: every worker's acceptor binds the same port and the kernel spreads connections.
using ReusePort = net::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  explicit Impl(ServerOptions o) : opt(std::move(o)) {
    int n = opt.threads > 0 ? opt.threads : 1;
    for (int i = 0; i < n; ++i) workers.push_back(std::make_unique<Worker>());
  }

  ServerOptions opt;
  // Worker 0 also runs the (single) acceptor, the signals, stop() and the drain.
  std::vector<std::unique_ptr<Worker>> workers;
  std::size_t next_worker = 0;  // round-robin hand-off of the single acceptor (worker 0 only)
  std::optional<net::ssl::context> ssl;
  std::optional<net::signal_set> signals;
  std::unordered_map<std::string, std::vector<Route>> routes;
  std::vector<std::function<void()>> stop_hooks;
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> connections{0};
  std::uint16_t bound_port = 0;
  bool started = false;

  std::mutex conns_mutex;
  std::uint64_t next_conn_id = 0;
  std::unordered_map<std::uint64_t, std::shared_ptr<ConnControl>> conns;

  std::mutex done_mutex;
  std::condition_variable done_cv;
  bool done = false;

  std::vector<std::pair<std::string, Route>> prefix_routes;  // longest prefix first

  const Handler* find(std::string_view method, std::string_view path, std::string* allow) const {
    auto it = routes.find(std::string(path));
    if (it == routes.end()) {
      for (const auto& [prefix, r] : prefix_routes) {
        if (path.starts_with(prefix) && (r.method == "*" || r.method == method)) return &r.handler;
      }
      return nullptr;
    }
    for (const auto& r : it->second) {
      if (r.method == "*" || r.method == method) return &r.handler;
    }
    for (const auto& r : it->second) {
      if (!allow->empty()) allow->append(", ");
      allow->append(r.method);
    }
    return nullptr;
  }

  template <class Stream>
  awaitable<void> serve(Stream stream, Worker& worker, std::shared_ptr<ConnControl> ctl,
                        std::string remote);
  net::io_context& main_ioc() { return workers.front()->ioc; }
  awaitable<void> listen(Worker& worker);
  awaitable<void> sweep(Worker& worker);
  awaitable<void> drain();
  void close_acceptors();
  void finish_stop();
};


template <class Stream>
awaitable<void> Server::Impl::serve(Stream stream, Worker& worker, std::shared_ptr<ConnControl> ctl,
                                    std::string remote) {
  ctl->close = [&stream] {
    beast::error_code ignored;
    lowest(stream).shutdown(tcp::socket::shutdown_both, ignored);
    lowest(stream).close(ignored);
  };
  // Listed for the worker's timeout sweep while this coroutine lives.
  ctl->slot = worker.live.size();
  worker.live.push_back(ctl.get());
  struct Unlist {
    Worker& w;
    ConnControl* c;
    ~Unlist() {
      ConnControl* last = w.live.back();
      w.live[c->slot] = last;
      last->slot = c->slot;
      w.live.pop_back();
    }
  } unlist{worker, ctl.get()};
  constexpr bool kTls = !std::is_same_v<Stream, Socket>;
  if constexpr (kTls) {
    arm(*ctl, opt.header_timeout);
    auto [ec] = co_await stream.async_handshake(net::ssl::stream_base::server, kUseTuple);
    if (ec) {
      log::debug("tls handshake from {} failed: {}", remote, ec.message());
      co_return;
    }
  }

  beast::flat_buffer buffer;
  bool first = true;
  bool close_gracefully = true;
  alignas(std::max_align_t) std::array<std::byte, 4096> arena_buffer;
  std::string head;  // response header block, reused
  for (;;) {
    // Idle again, also while stopping: the drain closes idle connections after its linger (a
    // proxy may already be sending the next request on this one).
    ctl->busy = false;
    // Per-request arena for header fields; declared before everything that uses it.
    std::pmr::monotonic_buffer_resource arena(arena_buffer.data(), arena_buffer.size());
    bhttp::request_parser<bhttp::string_body, std::pmr::polymorphic_allocator<char>> parser(
        std::piecewise_construct, std::make_tuple(),
        std::make_tuple(std::pmr::polymorphic_allocator<char>(&arena)));
    parser.header_limit(static_cast<std::uint32_t>(opt.max_header_bytes));
    parser.body_limit(opt.max_body_bytes);
    arm(*ctl, first ? opt.header_timeout : opt.idle_timeout);
    first = false;
    auto [ec, n] = co_await bhttp::async_read_header(stream, buffer, parser, kUseTuple);
    ctl->busy = true;
    if (ec) {
      // A named local around co_await: GCC 12 mishandles temporaries there.
      auto [status, text] = read_error_reply(ec, opt);
      if (status) co_await write_plain_error(stream, *ctl, opt, status, text);
      break;
    }
    if (auto it = parser.get().find(bhttp::field::expect);
        it != parser.get().end() && iequals(it->value(), "100-continue")) {
      bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
      arm(*ctl, opt.write_timeout);
      co_await bhttp::async_write(stream, cont, kUseTuple);
    }
    // Small bodies usually arrive with the header: then the parser takes them from the buffer
    // here, with no timer change and no second asynchronous read (whose completion Beast would
    // post even with nothing to read).
    auto length = parser.content_length();
    bool buffered = parser.is_done() || (length && buffer.size() >= *length);
    if (buffered) parse_buffered(parser, buffer, ec);
    if (!ec && !parser.is_done()) {
      if (!buffered) arm(*ctl, opt.body_timeout);
      std::tie(ec, n) = co_await bhttp::async_read(stream, buffer, parser, kUseTuple);
    }
    // Handlers may run long (SSE): no read/write is pending then, so no deadline.
    disarm(*ctl);
    if (ec) {
      // A named local around co_await: GCC 12 mishandles temporaries there.
      auto [status, text] = read_error_reply(ec, opt);
      if (status) co_await write_plain_error(stream, *ctl, opt, status, text);
      break;
    }

    // Constructed from the parsed message (not assigned) so the fields stay in the arena.
    RequestImpl req{parser.release(), remote, trace_id(), kTls};
    Request request(req);
    ResponderImpl<Stream> responder(stream, *ctl, opt, req, stopping, &arena, head);

    std::string allow;
    const Handler* handler = find(request.method(), request.path(), &allow);
    if (!handler) {
      Response r = allow.empty() ? Response::text(404, "no route for " + std::string(request.path()))
                                 : Response::text(405, std::string(request.method()) +
                                                           " is not allowed here; use " + allow);
      if (!allow.empty()) r.headers.add("Allow", allow);
      co_await responder.send(std::move(r));
    } else {
      std::string failure;
      try {
        co_await (*handler)(request, responder);
      } catch (const std::exception& e) {
        failure = e.what();
      } catch (...) {
        failure = "an exception that is not a std::exception";
      }
      if (!failure.empty()) {
        // The exception's text stays in the log; the client gets the trace id to quote.
        log::error("handler for {} {} failed (trace {}): {}", request.method(), request.path(),
                   req.trace_id, failure);
        if (!responder.started()) {
          Response failed = Response::text(500, "internal error, trace id " + req.trace_id);
          co_await responder.send(std::move(failed));
        }
      }
      if (responder.streaming()) co_await responder.finish();
      if (!responder.started()) {
        Response none = Response::text(500, "handler sent no response (trace id " + req.trace_id + ")");
        co_await responder.send(std::move(none));
      }
    }
    if (!responder.reusable()) {
      close_gracefully = !stopping;
      break;
    }
  }

  ctl->alive = false;
  beast::error_code ignored;
  if constexpr (kTls) {
    if (close_gracefully) {
      arm(*ctl, std::chrono::seconds(2));
      co_await stream.async_shutdown(kUseTuple);
    }
  }
  disarm(*ctl);
  lowest(stream).shutdown(tcp::socket::shutdown_send, ignored);
  lowest(stream).close(ignored);
}

// Closes the connections of this worker whose read or write passed its deadline (the pending
// operation then ends with an error and the connection loop ends).
awaitable<void> Server::Impl::sweep(Worker& worker) {
  net::steady_timer timer(worker.ioc);
  const auto period = sweep_period(opt);
  for (;;) {
    timer.expires_after(period);
    auto [ec] = co_await timer.async_wait(kUseTuple);
    if (ec) co_return;
    const std::int64_t now = coarse_now_ms();
    // close() only cancels: no completion runs inside it, so the list does not change here.
    for (ConnControl* c : worker.live) {
      if (c->deadline_ms != 0 && now >= c->deadline_ms) {
        c->deadline_ms = 0;
        if (c->close) c->close();
      }
    }
  }
}

// Coroutines and handlers hold no shared_ptr to the Impl: a handler still pending when the
// io_context stops would otherwise keep the Impl (and its io_context) alive forever. The Impl
// outlives them anyway: ~Server joins the threads, and ~io_context destroys what is pending.
awaitable<void> Server::Impl::listen(Worker& worker) {
  std::weak_ptr<Impl> weak = shared_from_this();
  tcp::acceptor& acceptor = *worker.acceptor;
  for (;;) {
    // Each connection lives on one worker for its whole life. With its own acceptor
    // (reuse_port) a worker keeps what it accepts; the single acceptor hands connections to the
    // workers in turn.
    Worker& target =
        opt.reuse_port ? worker : *workers[next_worker++ % workers.size()];
    auto [ec, accepted] = co_await acceptor.async_accept(target.ioc.get_executor(), kUseTuple);
    Socket socket(std::move(accepted));
    if (ec) {
      if (stopping || ec == net::error::operation_aborted) break;
      log::warn("accept failed: {}", ec.message());
      net::steady_timer t(worker.ioc, std::chrono::milliseconds(50));
      co_await t.async_wait(kUseTuple);
      continue;
    }
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    std::string remote;
    if (auto ep = socket.remote_endpoint(ignored); !ignored) remote = ep.address().to_string();

    if (connections.load() >= opt.max_connections) {
      auto ex = socket.get_executor();
      net::co_spawn(
          ex,
          [s = beast::tcp_stream(tcp::socket(std::move(socket))),
           this]() mutable -> awaitable<void> {
            auto res = plain_error(503, "too many connections; try again later");
            s.expires_after(opt.write_timeout);
            co_await bhttp::async_write(s, res, kUseTuple);
            s.close();
          },
          net::detached);
      continue;
    }

    auto ctl = std::make_shared<ConnControl>();
    ctl->executor = socket.get_executor();
    std::uint64_t id;
    {
      std::lock_guard lock(conns_mutex);
      id = next_conn_id++;
      conns.emplace(id, ctl);
    }
    connections.fetch_add(1);
    auto on_done = [weak, id](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          log::error("connection failed: {}", ex.what());
        }
      }
      auto self = weak.lock();
      if (!self) return;
      {
        std::lock_guard lock(self->conns_mutex);
        self->conns.erase(id);
      }
      self->connections.fetch_sub(1);
    };
    auto ex = ctl->executor;
    if (ssl) {
      net::co_spawn(ex, serve(TlsStream(std::move(socket), *ssl), target, ctl, remote), on_done);
    } else {
      net::co_spawn(ex, serve(std::move(socket), target, ctl, remote), on_done);
    }
  }
}

awaitable<void> Server::Impl::drain() {
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + opt.shutdown_grace;
  // A proxy may be sending a request on an idle keep-alive connection at the very moment it
  // would be closed; that request would be lost (a proxy does not send a POST twice). So idle
  // connections stay open for drain_idle_linger: a request arriving meanwhile is answered with
  // "Connection: close" (the proxy then connects anew, is refused and takes another upstream).
  const auto close_idle_from = start + std::min(opt.drain_idle_linger, opt.shutdown_grace);
  net::steady_timer timer(main_ioc());
  while (connections.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    // Idle keep-alive connections are closed after the linger; busy ones get the grace period.
    if (std::chrono::steady_clock::now() >= close_idle_from) {
      std::vector<std::shared_ptr<ConnControl>> snapshot;
      {
        std::lock_guard lock(conns_mutex);
        for (auto& [id, c] : conns) snapshot.push_back(c);
      }
      for (auto& c : snapshot) {
        net::post(c->executor, [c] {
          if (c->alive && !c->busy && c->close) c->close();
        });
      }
    }
    timer.expires_after(std::chrono::milliseconds(20));
    co_await timer.async_wait(kUseTuple);
  }
  std::vector<std::shared_ptr<ConnControl>> snapshot;
  {
    std::lock_guard lock(conns_mutex);
    for (auto& [id, c] : conns) snapshot.push_back(c);
  }
  for (auto& c : snapshot) {
    net::post(c->executor, [c] {
      if (c->alive && c->close) c->close();
    });
  }
  timer.expires_after(std::chrono::milliseconds(50));
  co_await timer.async_wait(kUseTuple);
  for (auto& w : workers) w->ioc.stop();
}

// Each acceptor is closed on its own worker's thread (an acceptor is not thread-safe).
void Server::Impl::close_acceptors() {
  for (auto& w : workers) {
    if (!w->acceptor) continue;
    net::post(w->ioc, [w = w.get()] {
      beast::error_code ignored;
      w->acceptor->close(ignored);
    });
  }
}

Server::Server(ServerOptions options) : impl_(std::make_shared<Impl>(std::move(options))) {}

Server::~Server() {
  stop();
  wait();
}

void Server::route(std::string method, std::string path, Handler handler) {
  impl_->routes[std::move(path)].push_back(Route{std::move(method), std::move(handler)});
}

void Server::route_prefix(std::string method, std::string prefix, Handler handler) {
  auto& v = impl_->prefix_routes;
  v.emplace_back(std::move(prefix), Route{std::move(method), std::move(handler)});
  std::stable_sort(v.begin(), v.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
}

void Server::on_stop(std::function<void()> hook) { impl_->stop_hooks.push_back(std::move(hook)); }

Result<std::uint16_t> Server::start() {
  Impl& s = *impl_;
  if (s.started) return make_error(ErrorCode::kInvalidArgument, "server already started");
  std::string where = s.opt.host + ":" + std::to_string(s.opt.port);
  beast::error_code ec;
  auto addr = net::ip::make_address(s.opt.host, ec);
  if (ec) {
    return make_error(ErrorCode::kInvalidArgument,
                      "cannot listen on " + where + ": '" + s.opt.host + "' is not an IP address");
  }
  if (!s.opt.tls_cert_file.empty() || !s.opt.tls_key_file.empty()) {
    if (s.opt.tls_cert_file.empty() || s.opt.tls_key_file.empty()) {
      return make_error(ErrorCode::kInvalidArgument,
                        "TLS needs both a certificate file and a key file");
    }
    s.ssl.emplace(net::ssl::context::tls_server);
    s.ssl->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                       net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                       net::ssl::context::no_tlsv1_1 | net::ssl::context::single_dh_use);
    s.ssl->use_certificate_chain_file(s.opt.tls_cert_file, ec);
    if (ec) {
      return make_error(ErrorCode::kInvalidArgument,
                        "cannot load TLS certificate " + s.opt.tls_cert_file + ": " + ec.message());
    }
    s.ssl->use_private_key_file(s.opt.tls_key_file, net::ssl::context::pem, ec);
    if (ec) {
      return make_error(ErrorCode::kInvalidArgument,
                        "cannot load TLS key " + s.opt.tls_key_file + ": " + ec.message());
    }
  }
  tcp::endpoint ep(addr, s.opt.port);
  // Without reuse_port one acceptor, on worker 0; with it one per worker, all on the port the
  // first one bound (port 0 picks it).
  std::size_t acceptors = s.opt.reuse_port ? s.workers.size() : 1;
  for (std::size_t i = 0; i < acceptors && !ec; ++i) {
    auto& acceptor = s.workers[i]->acceptor.emplace(s.workers[i]->ioc);
    acceptor.open(ep.protocol(), ec);
    if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec && s.opt.reuse_port) acceptor.set_option(ReusePort(true), ec);
    if (!ec) acceptor.bind(ep, ec);
    if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (!ec && i == 0) ep.port(acceptor.local_endpoint().port());
  }
  if (ec) {
    for (auto& w : s.workers) w->acceptor.reset();
    return make_error(ErrorCode::kUnavailable, "cannot listen on " + where + ": " + ec.message());
  }
  s.bound_port = ep.port();
  s.started = true;
  for (auto& w : s.workers) {
    if (w->acceptor) net::co_spawn(w->ioc, s.listen(*w), net::detached);
    net::co_spawn(w->ioc, s.sweep(*w), net::detached);
  }
  for (auto& w : s.workers) {
    w->thread = std::thread([self = impl_, w = w.get()] {
      for (;;) {
        try {
          w->ioc.run();
          break;
        } catch (const std::exception& e) {
          log::error("unhandled exception on a server thread: {}", e.what());
        }
      }
    });
  }
  return s.bound_port;
}

std::uint16_t Server::port() const { return impl_->bound_port; }
const ServerOptions& Server::options() const { return impl_->opt; }

void Server::stop() {
  auto self = impl_;
  if (!self->started) return;
  bool expected = false;
  if (!self->stopping.compare_exchange_strong(expected, true)) return;
  net::post(self->main_ioc(), [self] {
    beast::error_code ignored;
    self->close_acceptors();
    if (self->signals) self->signals->cancel(ignored);
    for (auto& hook : self->stop_hooks) {
      try {
        hook();
      } catch (const std::exception& e) {
        log::error("stop hook failed: {}", e.what());
      }
    }
    net::co_spawn(self->main_ioc(), self->drain(), net::detached);
  });
}

void Server::wait() {
  for (auto& w : impl_->workers) {
    if (w->thread.joinable()) w->thread.join();
  }
}

void Server::run_until_signal() {
  auto self = impl_;
  self->signals.emplace(self->main_ioc(), SIGINT, SIGTERM);
  std::weak_ptr<Impl> weak = self;
  self->signals->async_wait([weak](const beast::error_code& ec, int signo) {
    auto self = weak.lock();
    if (ec || !self) return;
    log::info("signal {} received; stopping", signo);
    Server::Impl& s = *self;
    bool expected = false;
    if (!s.stopping.compare_exchange_strong(expected, true)) return;
    s.close_acceptors();
    for (auto& hook : s.stop_hooks) hook();
    net::co_spawn(s.main_ioc(), s.drain(), net::detached);
  });
  wait();
}

}  // namespace idp::http
