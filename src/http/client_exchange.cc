// One HTTP request on one connection: the request written, the response's head read (100
// Continue and such skipped), its body read whole (capped) or streamed to a callback, with a
// per-step and a total deadline; a stale pooled connection is retried once on a fresh one when
// that is safe (nothing sent, or an idempotent method).
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <cerrno>
#include <limits>

#include "client_impl.h"

namespace idp::http {

using namespace client_detail;
using net::awaitable;

namespace {

constexpr auto kUseTuple = net::as_tuple(net::use_awaitable);
constexpr std::size_t kMaxHeaderBytes = 64 * 1024;
constexpr std::size_t kReadBytes = 64 * 1024;  // the most one read asks for

bool is_idempotent(std::string_view m) {
  return m == "GET" || m == "HEAD" || m == "PUT" || m == "DELETE" || m == "OPTIONS" || m == "TRACE";
}

// Errors that mean a pooled connection had gone stale.
bool is_connection_lost(const beast::error_code& ec) {
  return ec == net::error::eof || ec == bhttp::error::end_of_stream ||
         ec == net::error::connection_reset || ec == net::error::broken_pipe ||
         ec == net::error::connection_aborted || ec == net::ssl::error::stream_truncated ||
         ec == bhttp::error::partial_message;
}

// Writes what the socket takes without waiting; the bytes written (0 when it would block).
std::size_t send_now(tcp::socket& s, const std::array<net::const_buffer, 4>& bufs, std::size_t n,
                     beast::error_code& ec) {
  std::array<iovec, 4> iov;
  for (std::size_t i = 0; i < n; ++i) {
    iov[i].iov_base = const_cast<void*>(bufs[i].data());
    iov[i].iov_len = bufs[i].size();
  }
  msghdr msg{};
  msg.msg_iov = iov.data();
  msg.msg_iovlen = n;
  for (;;) {
    ssize_t r = ::sendmsg(s.native_handle(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (r >= 0) return static_cast<std::size_t>(r);
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) ec.assign(errno, beast::system_category());
    return 0;
  }
}

// A step's error: the timeout when the connection's watch cancelled the step for its deadline.
beast::error_code step_result(const Conn& c, const beast::error_code& ec) {
  if (ec && c.watch->expired()) return beast::error::timeout;
  return ec;
}

// A parse error of Beast's HTTP parser: the peer does not speak HTTP properly.
bool is_http_error(const beast::error_code& ec) {
  return ec.category() == beast::error_code(bhttp::error::bad_version).category();
}

// The response's parser: the status and fields go straight into the response (no fields
// container of Beast's to allocate, then to copy from), the body straight from the connection's
// buffer to the caller's on_chunk or the response's body (no intermediate buffer).
class ResponseParser final : public bhttp::basic_parser<false> {
 public:
  ResponseParser(ClientResponse& out, const OnChunk* on_chunk) : out_(out), on_chunk_(on_chunk) {}
  int status() const { return status_; }
  // on_chunk returned false: parsing stopped there (put() failed with operation_aborted).
  bool stopped() const { return stopped_; }

 private:
  void on_request_impl(bhttp::verb, beast::string_view, beast::string_view, int,
                       beast::error_code&) override {}
  void on_response_impl(int code, beast::string_view, int, beast::error_code&) override {
    status_ = code;
  }
  void on_field_impl(bhttp::field, beast::string_view name, beast::string_view value,
                     beast::error_code&) override {
    out_.headers.add(std::string(name), std::string(value));
  }
  void on_header_impl(beast::error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, beast::error_code&) override {}
  std::size_t on_body_impl(beast::string_view body, beast::error_code& ec) override {
    return deliver(body, ec);
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, beast::error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body,
                                 beast::error_code& ec) override {
    return deliver(body, ec);
  }
  void on_finish_impl(beast::error_code&) override {}

  std::size_t deliver(beast::string_view body, beast::error_code& ec) {
    if (!on_chunk_) {
      out_.body.append(body.data(), body.size());
    } else if (!(*on_chunk_)(std::string_view(body.data(), body.size()))) {
      stopped_ = true;
      ec = net::error::operation_aborted;
    }
    return body.size();
  }

  ClientResponse& out_;
  const OnChunk* on_chunk_;
  int status_ = 0;
  bool stopped_ = false;
};

}  // namespace

milliseconds Deadline::limit(milliseconds step, Clock::time_point now) {
  total_armed = false;
  milliseconds d = step;
  if (at) {
    auto left = std::chrono::duration_cast<milliseconds>(*at - now);
    if (left < milliseconds(1)) left = milliseconds(1);
    if (left <= step) {
      d = left;
      total_armed = true;
    }
  }
  return d;
}

milliseconds Deadline::arm(beast::tcp_stream& s, milliseconds step) {
  milliseconds d = limit(step, Clock::now());
  s.expires_after(d);
  return d;
}

milliseconds Deadline::arm(Conn& c, milliseconds step) {
  const auto now = Clock::now();
  milliseconds d = limit(step, now);
  // The total deadline itself when it comes first (not rounded down to whole milliseconds).
  c.watch->arm(c.lowest().socket(), now, total_armed && *at > now ? *at : now + d);
  return d;
}

Error Client::Impl::step_error(std::string_view step, const beast::error_code& ec,
                               const Deadline& dl, milliseconds armed) const {
  if (ec == beast::error::timeout) {
    if (dl.total_armed) {
      return Error(ErrorCode::kTimeout, std::string(step) + " failed: the total timeout of " +
                                            std::to_string(dl.total.count()) + " ms passed");
    }
    return Error(ErrorCode::kTimeout,
                 std::string(step) + " timed out after " + std::to_string(armed.count()) + " ms");
  }
  return Error(ErrorCode::kUnavailable, std::string(step) + " failed: " + ec.message());
}

// Writes the request and reads the response on `s`; with on_chunk the body is streamed.
template <class Stream>
awaitable<Attempt> Client::Impl::exchange(Stream& s, Conn& c, const WireRequest& w,
                                          std::string_view body, bool head_only, bool reused,
                                          bool idempotent, Deadline& dl, milliseconds read_timeout,
                                          const OnHead* on_head, const OnChunk* on_chunk) {
  Attempt a;
  milliseconds armed = read_timeout;
  std::array<net::const_buffer, 4> bufs;
  const std::size_t nbufs = w.buffers(body, bufs);
  std::size_t total = 0;
  for (std::size_t i = 0; i < nbufs; ++i) total += bufs[i].size();
  beast::error_code wec;
  std::size_t wn = 0;
  // Plain TCP: the request goes out here and now when the socket takes it whole (the usual case
  // on an idle keep-alive connection): no write operation, no timer, no wake-up.
  if (!c.tls) wn = send_now(c.tcp.socket(), bufs, nbufs, wec);
  if (!wec && wn < total) {
    std::vector<net::const_buffer> rest;
    std::size_t skip = wn;
    for (std::size_t i = 0; i < nbufs; ++i) {
      if (skip >= bufs[i].size()) {
        skip -= bufs[i].size();
        continue;
      }
      rest.push_back(bufs[i] + skip);
      skip = 0;
    }
    armed = dl.arm(c, read_timeout);
    auto [ec, n] = co_await net::async_write(s, rest, kUseTuple);
    wec = step_result(c, ec);
    wn += n;
  }
  if (wec) {
    a.error = step_error("sending the request", wec, dl, armed);
    a.retryable = reused && wec != beast::error::timeout && (idempotent || wn == 0);
    co_return a;
  }

  std::optional<ResponseParser> p;
  for (;;) {
    a.response.headers = Headers();  // an interim response's fields are not the answer's
    p.emplace(a.response, on_chunk);
    p->header_limit(kMaxHeaderBytes);
    if (on_chunk) {
      p->body_limit(std::numeric_limits<std::uint64_t>::max());
    } else {
      p->body_limit(opt.max_response_bytes);
    }
    if (head_only) p->skip(true);
    // The head: parsed from what is buffered, read from the stream (one read operation, its
    // bytes straight into the connection's buffer) while the parser needs more.
    beast::error_code ec;
    bool need_io = c.buffer.size() == 0;
    while (!p->is_header_done()) {
      if (!need_io) {
        std::size_t used = p->put(c.buffer.data(), ec);
        c.buffer.consume(used);
        if (ec == bhttp::error::need_more) {
          ec = {};
          need_io = true;
        }
        if (ec) break;
        if (used == 0 || c.buffer.size() == 0) need_io = true;
        continue;
      }
      const std::size_t room = beast::read_size(c.buffer, kReadBytes);
      if (room == 0) {
        ec = bhttp::error::buffer_overflow;
        break;
      }
      armed = dl.arm(c, read_timeout);
      auto [read_ec, n] = co_await s.async_read_some(c.buffer.prepare(room), kUseTuple);
      const beast::error_code rec = step_result(c, read_ec);
      c.buffer.commit(n);
      if (rec == net::error::eof) {
        // As Beast's read: the end of the stream ends a message only when one had begun.
        if (p->got_some()) {
          p->put_eof(ec);
          if (!ec && !p->is_header_done()) ec = bhttp::error::partial_message;
        } else {
          ec = bhttp::error::end_of_stream;
        }
        break;
      }
      if (rec) {
        ec = rec;
        break;
      }
      need_io = false;
    }
    if (ec) {
      bool nothing = !p->got_some();
      if (ec == bhttp::error::body_limit) {
        a.error = Error(ErrorCode::kResourceExhausted, "response body exceeds the limit of " +
                                                           std::to_string(opt.max_response_bytes) +
                                                           " bytes");
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
    int status = p->status();
    if (status < 100) {  // Beast reads any three digits: "000" (found by fuzz-http_client)
      a.error =
          Error(ErrorCode::kProtocol, "malformed HTTP response: status " + std::to_string(status));
      co_return a;
    }
    if (status >= 100 && status < 200 && status != 101) continue;  // 100 Continue and such
    break;
  }

  a.response.status = p->status();
  if (on_head) (*on_head)(a.response);

  // The body: parsed first from what came with the head (a small answer arrives whole), read
  // from the socket only when the parser needs more; the parser hands it on as it goes.
  if (!on_chunk) {
    if (auto length = p->content_length(); length && *length <= opt.max_response_bytes) {
      a.response.body.reserve(static_cast<std::size_t>(*length));
    }
  }
  bool stopped = false;
  bool need_io = c.buffer.size() == 0;
  while (!p->is_done()) {
    beast::error_code ec;
    if (!need_io) {
      std::size_t used = p->put(c.buffer.data(), ec);
      c.buffer.consume(used);
      if (ec == bhttp::error::need_more) ec = {};
      // Nothing left, or nothing the parser could take without more: the socket is next.
      need_io = c.buffer.size() == 0 || used == 0;
    } else {
      const std::size_t room = beast::read_size(c.buffer, kReadBytes);
      if (room == 0) {
        ec = bhttp::error::buffer_overflow;
      } else {
        armed = dl.arm(c, read_timeout);
        auto [read_ec, n] = co_await s.async_read_some(c.buffer.prepare(room), kUseTuple);
        const beast::error_code rec = step_result(c, read_ec);
        c.buffer.commit(n);
        if (rec == net::error::eof) {
          p->put_eof(ec);  // a body that runs to the end of the stream ends here
        } else {
          ec = rec;
        }
        need_io = c.buffer.size() == 0;
      }
    }
    if (p->stopped()) {
      stopped = true;
      break;
    }
    if (ec) {
      if (ec == bhttp::error::body_limit) {
        a.error = Error(ErrorCode::kResourceExhausted, "response body exceeds the limit of " +
                                                           std::to_string(opt.max_response_bytes) +
                                                           " bytes");
      } else if (is_connection_lost(ec)) {  // (a timeout is neither this nor the next)
        a.error = Error(ErrorCode::kUnavailable,
                        "the connection was closed in the middle of the response: " + ec.message());
      } else if (is_http_error(ec)) {
        a.error = Error(ErrorCode::kProtocol, "malformed HTTP response body: " + ec.message());
      } else {
        a.error = step_error("reading the response body", ec, dl, armed);
      }
      co_return a;
    }
  }
  a.reusable = !stopped && p->is_done() && p->keep_alive() && c.buffer.size() == 0;
  co_return a;
}

namespace {

// What request() and stream() return for the attempt that ended a request.
template <class Out>
Out finish(Attempt&& a, const ClientRequest& in);

template <>
Result<ClientResponse> finish(Attempt&& a, const ClientRequest& in) {
  if (a.error) return std::unexpected(a.error->with_context(in.method + " " + in.url));
  return std::move(a.response);
}

template <>
Result<int> finish(Attempt&& a, const ClientRequest& in) {
  if (a.error) return std::unexpected(a.error->with_context(in.method + " " + in.url));
  return a.response.status;
}

}  // namespace

template <class Out>
awaitable<Out> Client::Impl::run(ClientRequest in, bool streaming, OnHead on_head_fn,
                                 OnChunk on_chunk_fn) {
  // Held as the public functions held it: a caller may drop the client while this runs.
  auto self = shared_from_this();
  const OnHead* on_head = on_head_fn ? &on_head_fn : nullptr;
  const OnChunk* on_chunk = streaming ? &on_chunk_fn : nullptr;
  Attempt a;
  auto target = target_for(in.url);
  if (!target) {
    a.error = target.error();
    co_return finish<Out>(std::move(a), in);
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
  const milliseconds read_timeout = in.read_timeout ? *in.read_timeout : opt.read_timeout;
  WireRequest req;
  if (auto built = req.build(in, u, route, opt); !built) {
    a.error = built.error();
    co_return finish<Out>(std::move(a), in);
  }
  bool head_only = in.method == "HEAD";
  bool idempotent = is_idempotent(in.method);

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
        co_return finish<Out>(std::move(a), in);
      }
      c = std::move(*opened_conn);
    }
    if (c->tls) {
      a = co_await exchange(*c->tls, *c, req, in.body, head_only, is_reused, idempotent, dl,
                            read_timeout, on_head, on_chunk);
    } else {
      // The socket itself: the watch keeps the deadlines, so the tcp_stream's timer machinery
      // around each operation is not needed.
      a = co_await exchange(c->tcp.socket(), *c, req, in.body, head_only, is_reused, idempotent, dl,
                            read_timeout, on_head, on_chunk);
    }
    c->watch->release();
    if (a.reusable) {
      give_back(std::move(c));
    } else {
      c->close();
    }
    if (!a.error || !a.retryable) break;
    ++retries;
  }
  co_return finish<Out>(std::move(a), in);
}

template awaitable<Result<ClientResponse>> Client::Impl::run<Result<ClientResponse>>(ClientRequest,
                                                                                     bool, OnHead,
                                                                                     OnChunk);
template awaitable<Result<int>> Client::Impl::run<Result<int>>(ClientRequest, bool, OnHead,
                                                               OnChunk);

}  // namespace idp::http
