// The 2024-11-05 HTTP+SSE transport, for servers of that era and the secret's "transport":
// "sse": one long GET stream whose first `endpoint` event names where to POST messages; the
// answers come back on the stream and are handed to the request that waits for them.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include "client_impl.h"
#include "idp/core/json_util.h"
#include "idp/core/log.h"
#include "idp/http/sse_parser.h"

namespace idp::mcp {

namespace net = boost::asio;
using net::awaitable;

// Coroutines here follow the GCC 12 rule (docs/architecture.md).

std::string Client::Impl::resolve_endpoint(std::string_view endpoint) const {
  auto base = boost::urls::parse_uri(url);
  auto ref = boost::urls::parse_uri_reference(endpoint);
  if (!base || !ref) return {};
  boost::urls::url out;
  if (!boost::urls::resolve(*base, *ref, out)) return {};
  // Messages go to the same origin only: an endpoint elsewhere would leak the token.
  if (out.scheme() != base->scheme() ||
      out.encoded_host_and_port() != base->encoded_host_and_port()) {
    return {};
  }
  return std::string(out.buffer());
}

void Client::Impl::legacy_message(std::string_view text) {
  auto parsed = ::idp::json::parse(text);
  if (!parsed) return;
  auto m = jsonrpc::parse(std::move(*parsed));
  if (!m) return;
  if (m->is_response()) {
    std::shared_ptr<Notifier> wake;
    {
      std::lock_guard lock(mu);
      auto it = waiters.find(jsonrpc::id_key(m->id));
      if (it == waiters.end()) return;
      if (m->kind == jsonrpc::Message::Kind::kResponse) {
        it->second->result = std::move(m->result);
      } else {
        it->second->rpc_error = m->error;
      }
      wake = it->second->wake;
    }
    wake->notify();
    return;
  }
  if (m->is_notification()) {
    Call none;  // progress finds its call by token
    on_notification(none, *m);
    return;
  }
  answer_server_request(std::move(*m));
}

awaitable<void> Client::Impl::legacy_listen(std::shared_ptr<Impl> self,
                                            std::shared_ptr<Notifier> ready) {
  std::shared_ptr<Notifier> stop;
  {
    std::lock_guard lock(self->mu);
    stop = self->listen_stop;
  }
  http::SseParser parser;
  http::ClientRequest get;
  get.method = "GET";
  get.url = self->url;
  Envelope no_session{.with_session = false};
  get.headers = co_await self->headers(std::move(no_session), nullptr);
  get.headers.set("Accept", "text/event-stream");
  get.headers.erase("Content-Type");
  get.read_timeout = std::chrono::minutes(10);
  int status = 0;
  auto on_head = [&](const http::ClientResponse& head) { status = head.status; };
  auto on_chunk = [&](std::string_view chunk) {
    if (status != 200) return false;
    {
      std::lock_guard lock(self->mu);
      if (self->closing) return false;
    }
    for (auto& ev : parser.feed(chunk)) {
      if (ev.event == "endpoint") {
        std::string resolved = self->resolve_endpoint(ev.data);
        if (resolved.empty()) {
          log::warn("{}: ignoring the endpoint '{}' (not a URL of the same origin)", self->url,
                    ev.data);
        }
        {
          std::lock_guard lock(self->mu);
          self->post_url = std::move(resolved);
        }
        ready->notify();
      } else if (!ev.data.empty()) {
        self->legacy_message(ev.data);
      }
    }
    return !parser.failed();
  };
  auto streamed = co_await self->stream_unless_stopped(std::move(get), on_head, on_chunk, stop);
  std::vector<std::shared_ptr<Notifier>> woken;
  {
    std::lock_guard lock(self->mu);
    if (streamed) {
      auto& r = *streamed;
      self->legacy_status = r ? *r : -1;
      if (!r) self->legacy_error = r.error().message();
    }
    self->legacy_lost = true;
    for (auto& [key, w] : self->waiters) woken.push_back(w->wake);  // they see legacy_lost
  }
  ready->notify();
  for (auto& w : woken) w->notify();
}

awaitable<Result<void>> Client::Impl::legacy_open() {
  auto ready = std::make_shared<Notifier>(co_await net::this_coro::executor);
  {
    std::lock_guard lock(mu);
    closing = false;
    legacy_lost = false;
    legacy_status = 0;
    legacy_error.clear();
    post_url.clear();
    listen_stop = std::make_shared<Notifier>(executor);
  }
  net::co_spawn(executor, legacy_listen(shared_from_this(), ready), net::detached);
  auto deadline = std::chrono::steady_clock::now() + opt.timeout;
  for (;;) {
    {
      std::lock_guard lock(mu);
      if (!post_url.empty()) co_return Result<void>{};
      if (legacy_lost) {
        std::string why = !legacy_error.empty() ? legacy_error
                          : legacy_status       ? "HTTP " + std::to_string(legacy_status)
                                                : "the stream ended";
        co_return make_error(ErrorCode::kUnavailable,
                             "GET " + url + " (legacy SSE stream): " + why);
      }
    }
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    co_await ready->wait(deadline - now);
  }
  co_return make_error(ErrorCode::kProtocol,
                       "GET " + url + ": the SSE stream sent no usable `endpoint` event");
}

awaitable<Outcome> Client::Impl::exchange_legacy(const std::string& body, http::Headers headers,
                                                 Call& call, std::string_view method) {
  Outcome out;
  std::string target;
  const std::string key = jsonrpc::id_key(call.id);
  auto waiter = std::make_shared<LegacyWaiter>();
  waiter->wake = std::make_shared<Notifier>(co_await net::this_coro::executor);
  {
    std::lock_guard lock(mu);
    if (legacy_lost || post_url.empty()) {
      out.error =
          Error(ErrorCode::kUnavailable, where(method) + ": the SSE stream is closed; reconnect");
      co_return out;
    }
    target = post_url;
    waiters[key] = waiter;
  }
  struct Erase {
    Impl* impl;
    std::string key;
    ~Erase() {
      std::lock_guard lock(impl->mu);
      impl->waiters.erase(key);
    }
  } erase{this, key};
  http::ClientRequest req;
  req.method = "POST";
  req.url = target;
  req.headers = std::move(headers);
  req.headers.erase("Mcp-Session-Id");  // this transport names the session in the URL
  req.body = body;
  auto r = co_await http.request(std::move(req));
  if (!r) {
    out.error = r.error().with_context(std::string(method));
    co_return out;
  }
  out.info.status = r->status;
  if (r->status == 401) {
    out.kind = Outcome::kUnauthorized;
    std::string challenge(r->headers.get("WWW-Authenticate").value_or(""));
    out.error = unauthorized(method, challenge, opt.token_provider != nullptr);
    out.auth_status = 401;
    out.challenge = std::move(challenge);
    co_return out;
  }
  if (r->status != 202 && r->status != 200) {
    out.error =
        Error(ErrorCode::kProtocol, where(method) + ": POST " + target + " answered HTTP " +
                                        std::to_string(r->status) + ": " + excerpt(r->body));
    co_return out;
  }
  for (;;) {
    {
      std::lock_guard lock(mu);
      if (waiter->result || waiter->rpc_error || legacy_lost) {
        call.result = std::move(waiter->result);
        call.rpc_error = std::move(waiter->rpc_error);
        break;
      }
    }
    auto now = std::chrono::steady_clock::now();
    if (!call.watchdog && now >= call.deadline()) {
      out.error = Error(ErrorCode::kTimeout, where(method) + ": timed out");
      co_return out;
    }
    // With a watchdog the || operator ends this wait; without, the call's deadline does.
    auto wait = call.watchdog ? std::chrono::steady_clock::duration(std::chrono::hours(24))
                              : call.deadline() - now;
    co_await waiter->wake->wait(wait);
  }
  if (call.rpc_error) {
    out.info.rpc = call.rpc_error;
    out.error = Error(ErrorCode::kProtocol, where(method) + ": " + call.rpc_error->message +
                                                " (JSON-RPC error " +
                                                std::to_string(call.rpc_error->code) + ")");
    co_return out;
  }
  if (!call.result) {
    out.error =
        Error(ErrorCode::kUnavailable, where(method) + ": the SSE stream closed before the answer");
    co_return out;
  }
  out.kind = Outcome::kDone;
  out.result.emplace(std::move(*call.result));
  co_return out;
}

}  // namespace idp::mcp
