// Private to the HTTP server (server.cc, server_wire.cc): a connection's socket and deadline, and
// the Responder that writes its answers: a whole answer as one preformatted header block plus
// the body, a streamed one through Beast's chunked serializer.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <time.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory_resource>
#include <string>
#include <string_view>
#include <utility>

#include "idp/core/log.h"
#include "idp/http/server.h"
#include "request_impl.h"

namespace idp::http::server_detail {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = net::ip::tcp;
using net::awaitable;

inline constexpr auto kUseTuple = net::as_tuple(net::use_awaitable);

// A connection's socket: bound to its worker's io_context (no type-erased executor per I/O).
using Socket = net::basic_stream_socket<tcp, net::io_context::executor_type>;
using TlsStream = beast::ssl_stream<Socket>;

// Milliseconds of CLOCK_MONOTONIC_COARSE: a few ns per read, late by at most one tick (kTickMs).
inline std::int64_t coarse_now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}
// Upper bound of the coarse clock's lag (one kernel tick: 4 ms at HZ=250, 10 ms at HZ=100).
constexpr std::int64_t kTickMs = 10;

// What stop() and the timeout sweep need to reach a connection.
struct ConnControl {
  net::any_io_executor executor;
  bool busy = false;            // touched only on the connection's thread
  bool alive = true;            // idem
  std::function<void()> close;  // idem; closes the socket
  // The pending read or write must end before this (coarse_now_ms()); 0 = no deadline. Set by
  // the connection, checked by its worker's sweep, which closes the socket once it passed.
  std::int64_t deadline_ms = 0;  // idem
  std::size_t slot = 0;          // index in Worker::live
};

// Arms a connection's deadline: a plain store, no timer operation on the hot path. The sweep
// closes the connection no earlier than `d` from now (the slack covers the coarse clock's lag)
// and at most one sweep period later.
inline void arm(ConnControl& c, std::chrono::milliseconds d) {
  c.deadline_ms = coarse_now_ms() + d.count() + kTickMs;
}
inline void disarm(ConnControl& c) { c.deadline_ms = 0; }

template <class Stream>
auto& lowest(Stream& s) {
  return beast::get_lowest_layer(s);
}

// A read or write error that only means the peer went away (or the connection was closed here).
bool is_benign(const beast::error_code& ec);

// The characters of a token (RFC 9110 tchar): what a field name may hold.
inline constexpr std::array<bool, 256> kTchar = [] {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = t[c - 'a' + 'A'] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}();

// Whether a header field can go out as is: a token name (RFC 9110 tchar), a value without CR, LF
// or NUL.
bool plain_field(std::string_view name, std::string_view value);

// Copies a handler's fields into a Beast message, leaving out (with a warning) any that would
// break the header block: Beast writes a value as given, so a CR LF in it would start a field the
// handler never meant to send.
template <class Message>
void copy_fields(const Headers& from, Message& to) {
  for (const auto& [k, v] : from.items()) {
    if (plain_field(k, v)) {
      to.insert(k, v);
      continue;
    }
    bool token_name = !k.empty() && std::all_of(k.begin(), k.end(), [](char c) {
      return kTchar[static_cast<unsigned char>(c)];
    });
    log::warn(
        "response header field {} left out: a field name must be a token and a value must "
        "not hold CR, LF or NUL",
        token_name ? "'" + k + "'" : std::string("with an invalid name"));
  }
}

// Writes the status line and header block of a complete (Content-Length) response into `out`,
// as Beast's serializer would for bhttp::response<string_body> after prepare_payload() and
// keep_alive(). Returns false where the response needs Beast's rules instead (fields that frame
// the message, an unusual field, a body where none is allowed): the caller then uses Beast.
bool format_head(const Response& r, unsigned version, bool keep_alive, std::string& out);

template <class Stream>
class ResponderImpl final : public Responder {
 public:
  ResponderImpl(Stream& stream, ConnControl& ctl, const ServerOptions& opt, const RequestImpl& req,
                const std::atomic<bool>& stopping, std::pmr::memory_resource* arena,
                std::string& head)
      : stream_(stream),
        ctl_(ctl),
        opt_(opt),
        req_(req),
        stopping_(stopping),
        arena_(arena),
        head_(head),
        keep_alive_(req.message.keep_alive()) {}

  awaitable<void> send(Response r) override {
    if (state_ != State::kNone) co_return;
    state_ = State::kDone;
    if (stopping_) keep_alive_ = false;
    const unsigned version = req_.message.version();
    beast::error_code ec;
    if (format_head(r, version, keep_alive_, head_)) {
      // The usual answer: one preformatted header block and the body, in one gather write.
      arm(ctl_, opt_.write_timeout);
      if constexpr (std::is_same_v<Stream, Socket>) {
        std::array<net::const_buffer, 2> buffers{net::buffer(head_), net::buffer(r.body)};
        std::tie(ec, std::ignore) = co_await net::async_write(stream_, buffers, kUseTuple);
      } else {
        head_ += r.body;  // TLS: one record rather than two
        std::tie(ec, std::ignore) =
            co_await net::async_write(stream_, net::buffer(head_), kUseTuple);
      }
    } else {
      bhttp::response<bhttp::string_body, Fields> res{
          std::piecewise_construct, std::make_tuple(),
          std::make_tuple(std::pmr::polymorphic_allocator<char>(arena_))};
      res.result(static_cast<bhttp::status>(r.status));
      res.version(version);
      copy_fields(r.headers, res);
      res.keep_alive(keep_alive_);
      res.body() = std::move(r.body);
      res.prepare_payload();
      arm(ctl_, opt_.write_timeout);
      std::tie(ec, std::ignore) = co_await bhttp::async_write(stream_, res, kUseTuple);
    }
    // No disarm here: the connection loop arms the next read's deadline anyway.
    if (ec) failed_ = true;
  }

  awaitable<bool> start_stream(Response head) override {
    if (state_ != State::kNone) co_return false;
    state_ = State::kStreaming;
    if (stopping_) keep_alive_ = false;
    bhttp::response<bhttp::empty_body> res{static_cast<bhttp::status>(head.status),
                                           req_.message.version()};
    copy_fields(head.headers, res);
    if (req_.message.version() >= 11) {
      res.chunked(true);
    } else {
      chunked_ = false;
      keep_alive_ = false;
    }
    res.keep_alive(keep_alive_);
    bhttp::response_serializer<bhttp::empty_body> sr{res};
    arm(ctl_, opt_.write_timeout);
    auto [ec, n] = co_await bhttp::async_write_header(stream_, sr, kUseTuple);
    disarm(ctl_);
    if (ec) failed_ = true;
    co_return !failed_;
  }

  awaitable<bool> write(std::string_view data) override {
    if (state_ != State::kStreaming || failed_) co_return false;
    if (data.empty()) co_return true;
    arm(ctl_, opt_.write_timeout);
    beast::error_code ec;
    if (chunked_) {
      std::tie(ec, std::ignore) =
          co_await net::async_write(stream_, bhttp::make_chunk(net::buffer(data)), kUseTuple);
    } else {
      std::tie(ec, std::ignore) = co_await net::async_write(stream_, net::buffer(data), kUseTuple);
    }
    disarm(ctl_);
    if (ec) failed_ = true;
    co_return !failed_;
  }

  awaitable<void> finish() override {
    if (state_ != State::kStreaming) co_return;
    state_ = State::kDone;
    if (failed_) co_return;
    if (chunked_) {
      arm(ctl_, opt_.write_timeout);
      auto [ec, n] = co_await net::async_write(stream_, bhttp::make_chunk_last(), kUseTuple);
      disarm(ctl_);
      if (ec) failed_ = true;
    }
  }

  bool stopping() const override { return stopping_; }

  bool started() const { return state_ != State::kNone; }
  bool streaming() const { return state_ == State::kStreaming; }
  // What the response promised ("Connection: close" once stopping), not whether the server is
  // stopping now: a connection that promised keep-alive waits for the drain to close it.
  bool reusable() const { return !failed_ && keep_alive_; }

 private:
  enum class State { kNone, kStreaming, kDone };
  Stream& stream_;
  ConnControl& ctl_;
  const ServerOptions& opt_;
  const RequestImpl& req_;
  const std::atomic<bool>& stopping_;
  std::pmr::memory_resource* arena_;
  std::string& head_;  // the connection's header buffer, reused by every response
  State state_ = State::kNone;
  bool keep_alive_;
  bool chunked_ = true;
  bool failed_ = false;
};

// Feeds what `buffer` holds to `parser` (past its header) until the message is complete or the
// buffer runs dry, as Beast's read would, without touching the socket. `ec` is set on a parse
// error (such as the body limit); running dry is no error: the caller reads on.
template <class Parser>
void parse_buffered(Parser& parser, beast::flat_buffer& buffer, beast::error_code& ec) {
  parser.eager(true);
  while (!parser.is_done() && buffer.size() > 0) {
    std::size_t used = parser.put(buffer.data(), ec);
    buffer.consume(used);
    if (ec == bhttp::error::need_more) {
      ec = {};
      break;
    }
    if (ec || used == 0) break;
  }
}

// The answer to a failed read of a request: (0, "") when the peer just went away.
std::pair<int, std::string> read_error_reply(const beast::error_code& ec, const ServerOptions& opt);

// A text/plain answer that closes the connection (refusals before any handler runs).
bhttp::response<bhttp::string_body> plain_error(int status, const std::string& text);

template <class Stream>
awaitable<void> write_plain_error(Stream& stream, ConnControl& ctl, const ServerOptions& opt,
                                  int status, const std::string& text) {
  auto res = plain_error(status, text);
  arm(ctl, opt.write_timeout);
  co_await bhttp::async_write(stream, res, kUseTuple);
}

}  // namespace idp::http::server_detail
