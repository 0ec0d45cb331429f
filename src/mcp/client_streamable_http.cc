// The client side of the Streamable HTTP transport: one request's exchange (a POST answered with
// JSON or an SSE stream; a stream that ends before the answer is resumed with GET and
// Last-Event-ID after the server's retry: delay), the POSTs of notifications and responses, the
// standalone GET stream (2025 era) and the subscriptions/listen stream (2026-07-28) that carry
// what the server sends unasked, and the DELETE that ends a session.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/serialize.hpp>

#include "client_impl.h"
#include "idp/core/json_util.h"
#include "idp/core/log.h"
#include "idp/http/retry_after.h"
#include "idp/http/sse_parser.h"

namespace idp::mcp {

namespace net = boost::asio;
using net::awaitable;
using namespace net::experimental::awaitable_operators;

// Coroutines here follow the GCC 12 rule (docs/architecture.md): co_await operands hold no
// temporary object with state; awaitables that combine with || are named first.

std::string excerpt(std::string_view body) {
  std::string out;
  for (char c : body.substr(0, 200)) out += (c == '\n' || c == '\r') ? ' ' : c;
  if (body.size() > 200) out += "...";
  return out;
}

namespace {

// An error answer's JSON-RPC error, if the body is one; `detail` gets its message.
std::optional<jsonrpc::RpcError> rpc_error_of(std::string_view text, std::string& detail) {
  auto j = ::idp::json::parse(text);
  if (!j || !j->is_object()) return std::nullopt;
  auto* e = ::idp::json::find_object(j->get_object(), "error");
  if (!e) return std::nullopt;
  if (auto* msg = ::idp::json::find_string(*e, "message")) detail = std::string(*msg);
  auto code = e->find("code");
  if (code == e->end() || !code->value().is_int64()) return std::nullopt;
  jsonrpc::RpcError rpc;
  rpc.code = static_cast<int>(code->value().get_int64());
  rpc.message = detail;
  if (auto data = e->find("data"); data != e->end()) rpc.data = data->value();
  return rpc;
}

// Whether an answer's id is the request's, as jsonrpc::id_key compares them, without building
// the keys for the usual integer ids.
bool same_id(const json::value& a, const json::value& b) {
  if (a.is_int64() && b.is_int64()) return a.get_int64() == b.get_int64();
  return jsonrpc::id_key(a) == jsonrpc::id_key(b);
}

}  // namespace

awaitable<Outcome> Client::Impl::exchange(const std::string& body,
                                          std::shared_ptr<const http::FixedFields> fixed,
                                          http::Headers headers, const Sent& sent, Call& call,
                                          std::string_view method, bool modern_era) {
  Outcome out;
  http::ClientRequest req;
  req.method = "POST";
  req.url = url;
  if (fixed) {
    // The fixed fields hold no caller's Mcp-* field (fixed_ok): the era's go out as they are.
    req.fixed = std::move(fixed);
    req.headers = std::move(call.extra);
  } else {
    req.headers = std::move(headers);
    // The era's fields (Mcp-Method, ...) are none of the transport's own: only a caller's field
    // of the same name needs replacing (a search).
    for (const auto& [name, value] : call.extra.items()) {
      opt.headers.items().empty() ? req.headers.add(name, value) : req.headers.set(name, value);
    }
  }
  req.body = body;
  req.read_timeout = call.timeout;
  if (!call.watchdog) req.timeout = call.remaining();

  int status = 0;
  std::string content_type;
  std::string challenge;    // WWW-Authenticate of a 401 or 403
  std::string retry_after;  // Retry-After of a 429
  std::string text;         // a JSON body
  const std::size_t cap = opt.http.max_response_bytes;
  bool too_big = false;
  http::SseParser parser;
  bool sse = false;
  bool json_body = false;
  auto on_head = [&](const http::ClientResponse& head) {
    status = head.status;
    const std::string_view type = head.headers.get("Content-Type").value_or("");
    sse = type.starts_with("text/event-stream");
    json_body = type.starts_with("application/json");
    if (!sse && !json_body) content_type = std::string(type);  // for the error only
    if (status == 401 || status == 403) {
      challenge = std::string(head.headers.get("WWW-Authenticate").value_or(""));
    }
    if (status == 429) retry_after = std::string(head.headers.get("Retry-After").value_or(""));
    if (method == "initialize" && status == 200) {
      if (auto sid = head.headers.get("Mcp-Session-Id")) out.info.session_id = std::string(*sid);
    }
  };
  auto on_chunk = [&](std::string_view chunk) {
    if (sse && status == 200) {
      for (auto& ev : parser.feed(chunk)) {
        if (!ev.data.empty()) on_message(call, ev.data, modern_era);
      }
      // Stop at the answer: a server SHOULD end the stream then, but need not.
      return !parser.failed() && !call.result && !call.rpc_error;
    }
    if (text.size() + chunk.size() > cap) {
      too_big = true;
      return false;
    }
    text.append(chunk);
    return true;
  };
  // std::function would allocate for these lambdas (a dozen references): it gets pointers.
  auto head_ref = [f = &on_head](const http::ClientResponse& head) { (*f)(head); };
  auto chunk_ref = [f = &on_chunk](std::string_view chunk) { return (*f)(chunk); };
  auto st = co_await http.stream(std::move(req), head_ref, chunk_ref);
  if (!st) {
    out.error = st.error().with_context(std::string(method));
    co_return out;
  }
  out.info.status = status;
  if (status == 404 && !sent.session_id.empty() && method != "initialize") {
    out.kind = Outcome::kSessionGone;
    co_return out;
  }
  if (status == 401) {
    out.kind = Outcome::kUnauthorized;
    out.error = unauthorized(method, challenge, sent.had_token);
    out.auth_status = 401;
    out.challenge = std::move(challenge);
    co_return out;
  }
  if (status == 403 && challenge.find("insufficient_scope") != std::string::npos) {
    // A scope step-up may help (the token provider decides).
    out.kind = Outcome::kUnauthorized;
    out.error = Error(ErrorCode::kPermissionDenied,
                      where(method) +
                          ": HTTP 403: the token lacks a scope the server requires; "
                          "WWW-Authenticate: " +
                          excerpt(challenge));
    out.auth_status = 403;
    out.challenge = std::move(challenge);
    co_return out;
  }
  if (status == 202) {
    out.kind = Outcome::kAccepted;
    co_return out;
  }
  if (too_big) {
    out.error = Error(ErrorCode::kResourceExhausted,
                      where(method) + ": the response exceeds " + std::to_string(cap) + " bytes");
    co_return out;
  }
  if (status == 429) {
    std::string detail = excerpt(text);
    out.info.rpc = rpc_error_of(text, detail);
    out.kind = Outcome::kRateLimited;
    out.retry_after = http::parse_retry_after(retry_after);
    out.error = Error(ErrorCode::kResourceExhausted,
                      where(method) + ": HTTP 429" + (detail.empty() ? "" : ": " + detail));
    co_return out;
  }
  if (status != 200) {
    std::string detail = excerpt(text);
    out.info.rpc = rpc_error_of(text, detail);
    out.error = Error(
        status == 403 ? ErrorCode::kPermissionDenied : ErrorCode::kProtocol,
        where(method) + ": HTTP " + std::to_string(status) + (detail.empty() ? "" : ": " + detail));
    co_return out;
  }
  if (sse) {
    if (parser.failed()) {
      out.error = parser.error()->with_context(where(method));
      co_return out;
    }
    // The stream ended before the answer: resume it (SEP-1699) with Last-Event-ID.
    int attempts = 0;
    auto ex = co_await net::this_coro::executor;
    while (!call.result && !call.rpc_error) {
      if (modern_era) {
        out.error = Error(ErrorCode::kProtocol, where(method) +
                                                    ": the SSE stream ended before the response "
                                                    "(a 2026-07-28 stream cannot be resumed)");
        co_return out;
      }
      if (parser.last_event_id().empty() || sent.session_id.empty()) {
        out.error = Error(ErrorCode::kProtocol, where(method) +
                                                    ": the SSE stream ended before the response "
                                                    "and cannot be resumed (no event id)");
        co_return out;
      }
      if (++attempts > opt.max_reconnects) {
        out.error =
            Error(ErrorCode::kUnavailable, where(method) + ": the SSE stream was lost " +
                                               std::to_string(attempts - 1) + " times; giving up");
        co_return out;
      }
      auto delay = std::chrono::milliseconds(
          parser.retry_ms().value_or(static_cast<int>(opt.default_retry.count())));
      delay = std::min(delay * (1 << std::min(attempts - 1, 4)), std::chrono::milliseconds(30'000));
      net::steady_timer timer(ex, delay);
      co_await timer.async_wait(net::use_awaitable);
      Envelope same_session;  // the stream belongs to the session the request went to
      same_session.session_id = sent.session_id;
      http::ClientRequest get;
      get.method = "GET";
      get.url = url;
      get.headers = co_await this->headers(std::move(same_session), nullptr);
      get.headers.set("Accept", "text/event-stream");
      get.headers.set("Last-Event-ID", parser.last_event_id());
      get.read_timeout = call.timeout;
      if (!call.watchdog) get.timeout = call.remaining();
      parser.reset();
      int get_status = 0;
      auto on_get_head = [&](const http::ClientResponse& head) { get_status = head.status; };
      auto on_get_chunk = [&](std::string_view chunk) {
        if (get_status != 200) return false;
        for (auto& ev : parser.feed(chunk)) {
          if (!ev.data.empty()) on_message(call, ev.data, modern_era);
        }
        return !parser.failed() && !call.result && !call.rpc_error;
      };
      auto gr = co_await http.stream(std::move(get), on_get_head, on_get_chunk);
      if (!gr) {
        log::debug("{}: resuming the stream failed: {}", url, gr.error().message());
        continue;
      }
      if (get_status == 404) {
        out.kind = Outcome::kSessionGone;
        co_return out;
      }
      if (get_status != 200) {
        out.error =
            Error(ErrorCode::kProtocol, where(method) + ": resuming the SSE stream got HTTP " +
                                            std::to_string(get_status));
        co_return out;
      }
    }
  } else {
    if (!json_body) {
      out.error = Error(ErrorCode::kProtocol,
                        where(method) + ": expected application/json or text/event-stream, got '" +
                            content_type + "': " + excerpt(text));
      co_return out;
    }
    // One arena for the answer, freed with the tool result that keeps its members; a small
    // answer's values take about four times its text: its first block holds them.
    auto j = ::idp::json::parse(
        text, {},
        boost::json::make_shared_resource<boost::json::monotonic_resource>(text.size() * 2 + 1024));
    if (!j) {
      out.error = Error(ErrorCode::kProtocol,
                        where(method) + ": the response is not JSON (" + j.error().message() + ")");
      co_return out;
    }
    auto m = jsonrpc::parse(std::move(*j));
    if (!m || !m->is_response()) {
      out.error =
          Error(ErrorCode::kProtocol,
                where(method) + ": the response is not a JSON-RPC response: " + excerpt(text));
      co_return out;
    }
    if (!same_id(m->id, call.id)) {
      out.error = Error(ErrorCode::kProtocol, where(method) +
                                                  ": the response answers another request (id " +
                                                  json::serialize(m->id) + ")");
      co_return out;
    }
    if (m->kind == jsonrpc::Message::Kind::kResponse) {
      call.result = std::move(m->result);
    } else {
      call.rpc_error = m->error;
    }
  }
  if (call.rpc_error) {
    out.info.rpc = call.rpc_error;
    out.error = Error(ErrorCode::kProtocol, where(method) + ": " + call.rpc_error->message +
                                                " (JSON-RPC error " +
                                                std::to_string(call.rpc_error->code) + ")");
    co_return out;
  }
  out.kind = Outcome::kDone;
  out.result.emplace(std::move(*call.result));
  co_return out;
}

awaitable<Result<void>> Client::Impl::post_message(std::string body, std::string what,
                                                   std::optional<std::chrono::milliseconds> timeout,
                                                   Envelope envelope, int* status) {
  http::ClientRequest req;
  req.method = "POST";
  if (legacy()) {
    std::lock_guard lock(mu);
    req.url = post_url;
    envelope.with_session = false;
  } else {
    req.url = url;
  }
  req.headers = co_await headers(std::move(envelope), nullptr);
  req.body = std::move(body);
  req.timeout = timeout;
  auto r = co_await http.request(std::move(req));
  if (!r) co_return std::unexpected(r.error().with_context(what));
  if (status) *status = r->status;
  if (r->status != 202 && r->status != 200) {
    co_return make_error(ErrorCode::kProtocol, what + ": " + url + " answered HTTP " +
                                                   std::to_string(r->status) + ": " +
                                                   excerpt(r->body));
  }
  co_return Result<void>{};
}

// ---- the streams of unasked messages ------------------------------------------------------------

awaitable<void> Client::Impl::wait_stop(std::shared_ptr<Notifier> stop) {
  for (;;) {
    {
      std::lock_guard lock(mu);
      if (closing) co_return;
    }
    co_await stop->wait(std::chrono::hours(24));
  }
}

awaitable<std::optional<Result<int>>> Client::Impl::stream_unless_stopped(
    http::ClientRequest request, std::function<void(const http::ClientResponse&)> on_head,
    std::function<bool(std::string_view)> on_chunk, std::shared_ptr<Notifier> stop) {
  awaitable<Result<int>> op = http.stream(std::move(request), on_head, on_chunk);
  awaitable<void> stopped = wait_stop(stop);
  auto either = std::move(op) || std::move(stopped);
  auto raced = co_await std::move(either);
  if (raced.index() == 1) co_return std::nullopt;
  std::lock_guard lock(mu);
  if (closing) co_return std::nullopt;
  co_return std::move(std::get<0>(raced));
}

awaitable<bool> Client::Impl::pause_unless_stopped(std::chrono::milliseconds delay,
                                                   std::shared_ptr<Notifier> stop) {
  auto ex = co_await net::this_coro::executor;
  net::steady_timer timer(ex, delay);
  awaitable<std::tuple<boost::system::error_code>> pause =
      timer.async_wait(net::as_tuple(net::use_awaitable));
  awaitable<void> stopped = wait_stop(stop);
  auto either = std::move(pause) || std::move(stopped);
  auto raced = co_await std::move(either);
  co_return raced.index() == 0;
}

namespace {

// Marks the listener gone when its coroutine ends, however it ends.
struct ListeningFlag {
  Client::Impl* impl;
  ~ListeningFlag() {
    std::lock_guard lock(impl->mu);
    impl->listening = false;
  }
};

void notify_ready(Client::Impl& impl) {
  std::shared_ptr<Notifier> ready;
  {
    std::lock_guard lock(impl.mu);
    ready = impl.listen_ready;
  }
  if (ready) ready->notify();
}

}  // namespace

// The standalone GET stream of a 2025-era session. Reconnects with Last-Event-ID after the
// server's retry: delay; when the server forgot the session it renews it (sharing the renewal
// with calls that noticed too) and reopens; ends when the server offers no such stream.
awaitable<void> Client::Impl::listen(std::shared_ptr<Impl> self) {
  ListeningFlag flag{self.get()};
  std::shared_ptr<Notifier> stop;
  {
    std::lock_guard lock(self->mu);
    stop = self->listen_stop;
  }
  http::SseParser parser;
  Call none;  // messages on this stream answer no call of ours
  none.id = json::value("standalone");
  int failures = 0;
  bool delivered = false;  // a GET of this session got its stream (so a 404 is news)
  std::uint64_t stream_generation = 0;
  for (;;) {
    {
      std::lock_guard lock(self->mu);
      if (self->closing || self->session_id.empty()) break;
    }
    Sent sent;
    Envelope current_session;
    http::Headers get_headers = co_await self->headers(std::move(current_session), &sent);
    if (sent.session_id.empty()) break;
    if (sent.session_generation != stream_generation) {
      parser = http::SseParser();  // a new session's stream: nothing to resume
      stream_generation = sent.session_generation;
    }
    http::ClientRequest get;
    get.method = "GET";
    get.url = self->url;
    get.headers = std::move(get_headers);
    get.headers.set("Accept", "text/event-stream");
    if (!parser.last_event_id().empty()) get.headers.set("Last-Event-ID", parser.last_event_id());
    get.read_timeout = std::chrono::minutes(5);
    parser.reset();
    int status = 0;
    auto on_head = [&](const http::ClientResponse& head) {
      status = head.status;
      notify_ready(*self);
    };
    auto on_chunk = [&](std::string_view chunk) {
      if (status != 200) return false;
      {
        std::lock_guard lock(self->mu);
        if (self->closing) return false;
      }
      for (auto& ev : parser.feed(chunk)) {
        if (!ev.data.empty()) self->on_message(none, ev.data, false);
      }
      return !parser.failed();
    };
    auto streamed = co_await self->stream_unless_stopped(std::move(get), on_head, on_chunk, stop);
    notify_ready(*self);
    if (!streamed) break;
    auto& r = *streamed;
    if (r && *r == 404 && delivered) {
      // The server forgot the session this stream belonged to.
      delivered = false;
      auto renewed = co_await self->renew_session(sent.session_generation);
      if (!renewed) {
        log::warn("{}: the standalone stream ends: {}", self->url, renewed.error().message());
        break;
      }
      continue;
    }
    if (r && (*r == 405 || *r == 404 || *r == 400 || *r == 409)) {
      // The server offers no standalone stream: nothing to listen to.
      log::debug("{}: no standalone SSE stream (HTTP {})", self->url, *r);
      break;
    }
    if (r && *r == 200) delivered = true;
    failures = (r && *r == 200) ? 0 : failures + 1;
    auto delay = std::chrono::milliseconds(
        parser.retry_ms().value_or(static_cast<int>(self->opt.default_retry.count())));
    delay = std::min(delay * (1 << std::min(failures, 5)), std::chrono::milliseconds(30'000));
    bool paused = co_await self->pause_unless_stopped(delay, stop);
    if (!paused) break;
  }
}

// The 2026-07-28 notification stream: a subscriptions/listen request whose SSE response stays
// open and carries notifications/tools/list_changed. Reopened after the server ends it (with
// backoff); given up when the server does not offer it. close() closes it, which ends the
// subscription.
awaitable<void> Client::Impl::listen_modern(std::shared_ptr<Impl> self) {
  ListeningFlag flag{self.get()};
  std::shared_ptr<Notifier> stop;
  {
    std::lock_guard lock(self->mu);
    stop = self->listen_stop;
  }
  int failures = 0;
  for (;;) {
    SessionView session = self->view();
    {
      std::lock_guard lock(self->mu);
      if (self->closing || !session.modern) break;
    }
    Call sub;
    sub.id = json::value(self->next_id.fetch_add(1));
    json::object filter{{"toolsListChanged", true}};
    json::object params{{"notifications", std::move(filter)}};
    self->add_envelope(params, session.protocol_version);
    http::ClientRequest post;
    post.method = "POST";
    post.url = self->url;
    Envelope no_session{.with_session = false};
    post.headers = co_await self->headers(std::move(no_session), nullptr);
    post.headers.set("Mcp-Method", "subscriptions/listen");
    post.body = jsonrpc::request(sub.id, "subscriptions/listen", params);
    post.read_timeout = std::chrono::minutes(5);
    http::SseParser parser;
    int status = 0;
    bool sse = false;
    std::string text;
    auto on_head = [&](const http::ClientResponse& head) {
      status = head.status;
      sse = std::string_view(head.headers.get("Content-Type").value_or(""))
                .starts_with("text/event-stream");
      notify_ready(*self);
    };
    auto on_chunk = [&](std::string_view chunk) {
      {
        std::lock_guard lock(self->mu);
        if (self->closing) return false;
      }
      if (status != 200 || !sse) {
        if (text.size() < 64 * 1024) text.append(chunk);
        return true;
      }
      for (auto& ev : parser.feed(chunk)) {
        if (!ev.data.empty()) self->on_message(sub, ev.data, true);
      }
      return !parser.failed() && !sub.result && !sub.rpc_error;
    };
    auto streamed = co_await self->stream_unless_stopped(std::move(post), on_head, on_chunk, stop);
    notify_ready(*self);
    if (!streamed) break;
    auto& r = *streamed;
    if (r && (*r != 200 || !sse || sub.rpc_error)) {
      // Not offered (405/404/-32601...) or refused: nothing to listen to.
      log::debug("{}: no subscriptions/listen stream (HTTP {}{})", self->url, *r,
                 sub.rpc_error ? ", " + sub.rpc_error->message : "");
      break;
    }
    // The server ended the subscription (a result: shutting down) or the stream broke.
    failures = (r && sub.result) ? 1 : failures + 1;
    auto delay = std::min(self->opt.default_retry * (1 << std::min(failures, 5)),
                          std::chrono::milliseconds(30'000));
    bool paused = co_await self->pause_unless_stopped(delay, stop);
    if (!paused) break;
  }
}

// Opens the stream of unasked messages and waits (briefly) until the server has answered it, so
// that server-initiated messages sent right after connect() are not missed.
awaitable<void> Client::Impl::start_listening() {
  bool modern_era = false;
  {
    std::lock_guard lock(mu);
    if (!opt.listen || listening) co_return;
    modern_era = modern;
    if (!modern_era && session_id.empty()) co_return;
    if (modern_era) {
      // The 2026-07-28 stream carries only the change notifications asked for: worth opening
      // when the server says its tool list can change.
      const json::object* tools = ::idp::json::find_object(server_capabilities, "tools");
      if (!tools || ::idp::json::find_bool(*tools, "listChanged") != true) co_return;
    }
  }
  auto ready = std::make_shared<Notifier>(co_await net::this_coro::executor);
  {
    std::lock_guard lock(mu);
    closing = false;
    listening = true;
    listen_stop = std::make_shared<Notifier>(executor);
    listen_ready = ready;
  }
  if (modern_era) {
    net::co_spawn(executor, listen_modern(shared_from_this()), net::detached);
  } else {
    net::co_spawn(executor, listen(shared_from_this()), net::detached);
  }
  co_await ready->wait(std::chrono::seconds(2));
  std::lock_guard lock(mu);
  listen_ready.reset();
}

void Client::Impl::stop_listening() {
  std::shared_ptr<Notifier> stop;
  {
    std::lock_guard lock(mu);
    closing = true;
    stop = listen_stop;
  }
  if (stop) stop->notify();
}

awaitable<void> Client::Impl::delete_session(std::string session) {
  Envelope that_session;
  that_session.session_id = std::move(session);
  http::ClientRequest req;
  req.method = "DELETE";
  req.url = url;
  req.headers = co_await headers(std::move(that_session), nullptr);
  req.headers.set("Accept", "application/json");
  auto r = co_await http.request(std::move(req));
  if (r && r->status != 200 && r->status != 204 && r->status != 405 && r->status != 404) {
    log::debug("{}: DELETE of the session answered HTTP {}", url, r->status);
  }
}

awaitable<void> Client::Impl::close() {
  stop_listening();
  std::string ended;
  {
    std::lock_guard lock(mu);
    ended = session_id;
  }
  if (!ended.empty()) {
    co_await delete_session(ended);
    std::lock_guard lock(mu);
    if (session_id == ended) session_id.clear();
  }
  {
    std::lock_guard lock(mu);
    connected = false;
  }
  http.close_idle();
}

}  // namespace idp::mcp
