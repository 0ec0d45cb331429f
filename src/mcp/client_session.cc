// One client request end to end: its id, headers and token, its timeout (moved by progress, up
// to a hard maximum) and cancellation, and the retries: HTTP 404 with a session re-initializes
// once for every caller that saw it and retries once; HTTP 401 asks the token provider for a
// fresh token once for every caller that saw it and retries once (an HTTP 403 with
// error="insufficient_scope" lets it step up, a few times); a 2026-07-28 header mismatch
// on tools/call lists the tools again and retries once. Also what arrives from the server on a
// request's stream (responses, progress, logs, list changes).
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

#include <variant>

#include "client_impl.h"
#include "idp/core/json_util.h"
#include "idp/core/log.h"
#include "idp/mcp/challenge.h"

namespace idp::mcp {

namespace net = boost::asio;

// Token renewals one request may ask for: a 401 once, then scope step-ups (HTTP 403
// insufficient_scope; the token provider stops a futile loop earlier).
constexpr int kMaxAuthRetries = 4;
using net::awaitable;
using namespace net::experimental::awaitable_operators;

// Coroutines here follow the GCC 12 rule (docs/architecture.md): co_await operands hold no
// temporary object with state; awaitables that combine with || are named first.

Client::Impl::Impl(net::any_io_executor ex, std::string u, ClientOptions o)
    : executor(ex), url(std::move(u)), opt(std::move(o)), http(ex, opt.http) {
  // A request's era fields (Mcp-Method, Mcp-Name, Mcp-Param-*) replace a caller's field of the
  // same name: fixed fields that hold one would send both.
  for (const auto& [name, value] : opt.headers.items()) {
    if (name.size() >= 4 && http::iequals(std::string_view(name).substr(0, 4), "mcp-"))
      fixed_ok = false;
  }
}

SessionView Client::Impl::view() const {
  std::lock_guard lock(mu);
  return SessionView{protocol_version, session_id, session_generation, modern};
}

http::Headers Client::Impl::plain_headers(const Envelope& envelope, Sent* sent) const {
  std::string version, sid;
  std::uint64_t generation = 0, token_gen = 0;
  {
    std::lock_guard lock(mu);
    version = envelope.protocol_version.value_or(protocol_version);
    if (envelope.session_id) {
      sid = *envelope.session_id;
    } else if (envelope.with_session) {
      sid = session_id;
    }
    generation = session_generation;
    token_gen = token_generation;
  }
  http::Headers h = base_headers(opt.headers, std::move(version), sid);
  if (sent) *sent = Sent{std::move(sid), generation, token_gen, false};
  return h;
}

awaitable<http::Headers> Client::Impl::headers(Envelope envelope, Sent* sent) {
  // A request in the current session waits while the session is being replaced: it would only
  // reach the server with a session id that is known to be gone.
  if (envelope.with_session && !envelope.session_id && session_renewal.running()) {
    co_await session_renewal.wait_idle();
  }
  http::Headers h = plain_headers(envelope, sent);
  if (opt.token_provider) {
    // Asked every time: the provider caches and refreshes before expiry. When it fails, the
    // last token goes out (the server's 401 then tells the caller).
    auto t = co_await opt.token_provider->token(false);
    std::optional<Secret> use;
    {
      std::lock_guard lock(mu);
      if (t) token = *t;
      use = token;
    }
    if (!t) log::warn("{}: no token: {}", url, t.error().message());
    if (use && !use->empty()) {
      h.set("Authorization", "Bearer " + use->reveal());
      if (sent) sent->had_token = true;
    }
  }
  co_return h;
}

Error Client::Impl::unauthorized(std::string_view method, std::string_view challenge,
                                 bool had_token) const {
  std::string msg = where(method) + ": HTTP 401: ";
  msg += had_token ? "the server rejected the bearer token"
                   : "the server requires a bearer token and none was sent (give the agent "
                     "Cognito credentials, or --token-env / the Cognito options on the command "
                     "line)";
  if (!challenge.empty()) {
    std::string shown(challenge.substr(0, 300));
    for (char& ch : shown) {
      if (static_cast<unsigned char>(ch) < 0x20) ch = ' ';
    }
    msg += "; WWW-Authenticate: " + shown;
  }
  return Error(ErrorCode::kUnauthenticated, std::move(msg));
}

// ---- messages from the server -----------------------------------------------------------------

void Client::Impl::on_message(Call& call, std::string_view text, bool modern_era) {
  auto parsed = ::idp::json::parse(text);
  if (!parsed) {
    log::warn("{}: ignoring an SSE event that is not JSON: {}", url, excerpt(text));
    return;
  }
  auto m = jsonrpc::parse(std::move(*parsed));
  if (!m) {
    log::warn("{}: ignoring an invalid JSON-RPC message: {}", url, m.error().message);
    return;
  }
  if (m->is_response()) {
    if (jsonrpc::id_key(m->id) != jsonrpc::id_key(call.id)) return;  // not ours
    if (m->kind == jsonrpc::Message::Kind::kResponse) {
      call.result = std::move(m->result);
    } else {
      call.rpc_error = m->error;
    }
    return;
  }
  if (m->is_notification()) {
    on_notification(call, *m);
    return;
  }
  if (modern_era) {
    // 2026-07-28 has no server-to-client requests on streams (they come as MRTR input
    // requests), and a client may not POST responses: nothing sensible to do with it.
    log::warn("{}: ignoring a server request ({}) on a 2026-07-28 stream", url, m->method);
    return;
  }
  answer_server_request(std::move(*m));
}

void Client::Impl::on_notification(Call& stream_call, const jsonrpc::Message& m) {
  if (m.method == "notifications/progress") {
    auto it = m.params.find("progressToken");
    if (it == m.params.end()) return;
    const std::string key = jsonrpc::id_key(it->value());
    const bool own =
        stream_call.progress_token && jsonrpc::id_key(*stream_call.progress_token) == key;
    std::shared_ptr<Call> other;
    if (!own) {
      std::lock_guard lock(mu);
      auto found = progress_calls.find(key);
      if (found != progress_calls.end()) other = found->second.lock();
    }
    Call* call = own ? &stream_call : other.get();
    if (!call) return;
    // Progress resets the timeout, never past the hard maximum.
    call->set_deadline(
        std::min(std::chrono::steady_clock::now() + call->timeout, call->hard_deadline));
    if (!call->options.on_progress) return;
    double progress = ::idp::json::find_number(m.params, "progress").value_or(0);
    auto total = ::idp::json::find_number(m.params, "total");
    auto* message = ::idp::json::find_string(m.params, "message");
    std::string text = message ? std::string(*message) : std::string();
    if (own) {
      call->options.on_progress(progress, total, text);
    } else {
      // Progress for a call that runs elsewhere: reported on the call's own executor.
      net::post(call->executor, [other, progress, total, text = std::move(text)] {
        if (!other->timed_out && !other->cancelled)
          other->options.on_progress(progress, total, text);
      });
    }
  } else if (m.method == "notifications/message") {
    if (opt.hooks.log) opt.hooks.log(m.params);
  } else if (m.method == "notifications/tools/list_changed") {
    {
      std::lock_guard lock(mu);
      tools_cache.reset();
    }
    if (opt.hooks.tools_changed) opt.hooks.tools_changed();
  }
}

// ---- timeouts and cancellation ------------------------------------------------------------------

// Waits until the call's deadline (which progress moves) or its cancellation. Ends quietly when
// the exchange finishes first (the || operator cancels it).
awaitable<void> Client::Impl::watchdog(std::shared_ptr<Call> call) {
  auto ex = co_await net::this_coro::executor;
  auto timer = std::make_shared<net::steady_timer>(ex);
  CancelSignal::Subscription cancel_sub;
  if (call->options.cancel) {
    std::weak_ptr<net::steady_timer> weak = timer;
    cancel_sub = call->options.cancel->subscribe([weak, ex] {
      net::post(ex, [weak] {
        if (auto t = weak.lock()) t->cancel();
      });
    });
  }
  for (;;) {
    if (call->options.cancel && call->options.cancel->cancelled()) {
      call->cancelled = true;
      co_return;
    }
    auto deadline = call->deadline();
    if (std::chrono::steady_clock::now() >= deadline) {
      call->timed_out = true;
      co_return;
    }
    timer->expires_at(deadline);
    co_await timer->async_wait(net::as_tuple(net::use_awaitable));
    auto cs = co_await net::this_coro::cancellation_state;
    if (cs.cancelled() != net::cancellation_type::none) co_return;
  }
}

namespace {

awaitable<void> sleep_for(std::chrono::steady_clock::duration d) {
  net::steady_timer timer(co_await net::this_coro::executor);
  timer.expires_after(d);
  co_await timer.async_wait(net::as_tuple(net::use_awaitable));
}

// " (tool_calls, 5/min)": the limit a 429's JSON-RPC error names, if it names one.
std::string limit_of(const ReplyInfo& info) {
  if (!info.rpc || !info.rpc->data || !info.rpc->data->is_object()) return {};
  const auto& data = info.rpc->data->get_object();
  const auto* limit = ::idp::json::find_string(data, "limit");
  const auto* rate = ::idp::json::find_string(data, "rate");
  if (!limit) return {};
  return " (" + std::string(*limit) + (rate ? ", " + std::string(*rate) : std::string()) + ")";
}

awaitable<void> notify_cancelled(std::shared_ptr<Client::Impl> self, std::string body) {
  std::string what = "notifications/cancelled";
  std::optional<std::chrono::milliseconds> timeout = std::chrono::seconds(5);
  auto sent = co_await self->post_message(std::move(body), std::move(what), timeout);
  if (!sent) log::debug("{}", sent.error().message());
}

}  // namespace

// ---- renewals ---------------------------------------------------------------------------------

awaitable<Result<void>> Client::Impl::renew_session(std::uint64_t seen_generation) {
  auto self = shared_from_this();
  SingleFlight::Stale stale = [self, seen_generation] {
    std::lock_guard lock(self->mu);
    return self->session_generation != seen_generation;
  };
  SingleFlight::Renew renew = [self] {
    std::string old;
    {
      std::lock_guard lock(self->mu);
      old = self->session_id.substr(0, 8);
    }
    log::info("{}: the server forgot session {}...; starting a new one", self->url, old);
    return self->initialize(true);
  };
  Result<void> renewed = co_await session_renewal.run(std::move(stale), std::move(renew));
  co_return renewed;
}

awaitable<Result<void>> Client::Impl::fetch_fresh_token(int status, std::string challenge) {
  auto* handler = dynamic_cast<ChallengeHandler*>(opt.token_provider.get());
  Result<Secret> fresh = make_error(
      ErrorCode::kPermissionDenied,
      "HTTP " + std::to_string(status) + ": the token provider cannot ask for more scopes");
  if (handler) {
    fresh = co_await handler->on_challenge(status, std::move(challenge));
  } else if (status == 401) {
    fresh = co_await opt.token_provider->token(true);
  }
  if (!fresh) co_return std::unexpected(fresh.error());
  std::lock_guard lock(mu);
  token = std::move(*fresh);
  ++token_generation;
  co_return Result<void>{};
}

awaitable<Result<void>> Client::Impl::refresh_token(std::uint64_t seen_generation, int status,
                                                    std::string challenge) {
  auto self = shared_from_this();
  SingleFlight::Stale stale = [self, seen_generation] {
    std::lock_guard lock(self->mu);
    return self->token_generation != seen_generation;
  };
  SingleFlight::Renew renew = [self, status, challenge] {
    return self->fetch_fresh_token(status, challenge);
  };
  Result<void> refreshed = co_await token_refresh.run(std::move(stale), std::move(renew));
  co_return refreshed;
}

// ---- one request ------------------------------------------------------------------------------

awaitable<Result<json::value>> Client::Impl::send_owned(std::string_view method,
                                                        json::object params, CallOptions options) {
  auto r = co_await send_request(method, params, std::move(options));
  co_return r;
}

awaitable<Result<json::value>> Client::Impl::send_request(std::string_view method,
                                                          const json::object& params,
                                                          CallOptions options, SendOptions send) {
  auto call = std::make_shared<Call>();
  call->id = json::value(next_id.fetch_add(1));
  call->options = std::move(options);
  call->executor = co_await net::this_coro::executor;
  call->timeout = call->options.timeout.value_or(opt.timeout);
  auto now = std::chrono::steady_clock::now();
  call->hard_deadline = now + std::max(opt.max_timeout, call->timeout);
  call->set_deadline(std::min(now + call->timeout, call->hard_deadline));
  call->watchdog = static_cast<bool>(call->options.on_progress) || call->options.cancel;
  struct Unregister {
    Impl* impl;
    std::string key;
    ~Unregister() {
      if (key.empty()) return;
      std::lock_guard lock(impl->mu);
      impl->progress_calls.erase(key);
    }
  } unregister{this, {}};
  // What goes out: `params` itself, or a copy with the members this request adds. The copy is
  // made only when needed: the usual request adds nothing to its params.
  std::optional<json::object> amended;
  auto amend = [&]() -> json::object& {
    if (!amended) amended.emplace(params);
    return *amended;
  };
  if (call->options.on_progress) {
    call->progress_token = call->id;
    json::value& meta = amend()["_meta"];
    if (!meta.is_object()) meta = json::object{};
    meta.get_object()["progressToken"] = call->id;
    unregister.key = jsonrpc::id_key(call->id);
    std::lock_guard lock(mu);
    progress_calls[unregister.key] = call;
  }
  const SessionView session = view();
  const bool modern_era = send.envelope.modern.value_or(session.modern);
  std::string body;
  if (modern_era) {
    const std::string version = send.envelope.protocol_version.value_or(session.protocol_version);
    const json::object& given = amended ? *amended : params;
    if (!given.contains("_meta")) {
      // The usual case: the envelope, the same for every request, is spliced in serialized (a
      // task call's, declaring the tasks extension, is cached too).
      body = request_with_envelope(call->id, method, given, version, send.tasks_extension);
    } else {
      json::object& p = amend();
      // A _meta that only declares the tasks extension has the cached envelope that does.
      const bool tasks_extension = !send.tasks_extension && take_tasks_declaration(p);
      if (p.contains("_meta")) {
        if (send.tasks_extension) declare_extension(p);
        add_envelope(p, version);
        body = jsonrpc::request(call->id, method, p);
      } else {
        body = request_with_envelope(call->id, method, p, version, tasks_extension);
      }
    }
  } else {
    if (send.tasks_extension) declare_extension(amend());
    body = jsonrpc::request(call->id, method, amended ? *amended : params);
  }
  const json::object& sent_params = amended ? *amended : params;

  bool retried_session = false;
  int auth_retries = 0;  // a 401 once, then scope step-ups (the token provider limits those)
  bool retried_401 = false;
  bool retried_headers = false;
  bool retried_rate = false;
  for (;;) {
    Sent sent;
    // Without a token provider and outside a session renewal nothing is awaited: the headers
    // are built here, not in another coroutine.
    http::Headers attempt_headers;
    std::shared_ptr<const http::FixedFields> fixed_fields_sent;
    if (opt.token_provider || session_renewal.running()) {
      attempt_headers = co_await headers(send.envelope, &sent);
    } else {
      // The fields built once for this session, version and route (the usual case), else
      // built here.
      if (fixed_ok && !legacy()) {
        fixed_fields_sent = fixed_fields(send.envelope, sent, modern_era, method, sent_params);
      }
      if (!fixed_fields_sent) attempt_headers = plain_headers(send.envelope, &sent);
    }
    // The era's fields, per attempt (the exchange takes them; a retry after a header mismatch
    // builds them from the tools listed again): with fixed fields only the Mcp-Param-* ones.
    if (modern_era) {
      call->extra = fixed_fields_sent ? param_headers(method, sent_params)
                                      : modern_headers(method, sent_params);
    }
    // The exchange's outcome, unless the call timed out or was cancelled (`stopped`). Assigned
    // once, not moved through a variant: an Outcome is large and each move costs.
    Outcome out;
    bool stopped = false;
    if (call->watchdog) {
      // if/else, not ?: (GCC 12 evaluates both co_await arms of a conditional).
      awaitable<Outcome> op;
      if (legacy()) {
        op = exchange_legacy(body, std::move(attempt_headers), *call, method);
      } else {
        op = exchange(body, std::move(fixed_fields_sent), std::move(attempt_headers), sent, *call,
                      method, modern_era);
      }
      awaitable<void> dog = watchdog(call);
      auto either = std::move(op) || std::move(dog);
      auto raced = co_await std::move(either);
      if (raced.index() == 1) {
        stopped = true;
      } else {
        out = std::move(std::get<0>(raced));
      }
    } else {
      if (legacy()) {
        out = co_await exchange_legacy(body, std::move(attempt_headers), *call, method);
      } else {
        out = co_await exchange(body, std::move(fixed_fields_sent), std::move(attempt_headers),
                                sent, *call, method, modern_era);
      }
      // The HTTP layer's deadline is the call's: a timeout there is the call timing out.
      if (out.kind == Outcome::kFailed && out.error.code() == ErrorCode::kTimeout) {
        call->timed_out = true;
        stopped = true;
      }
    }
    if (stopped) {
      // Timed out or cancelled: tell the server in the background (a server that hangs must not
      // hold the caller), then report. initialize is never cancelled (spec). In the modern era
      // closing the response stream (done: the exchange was abandoned) is the cancellation.
      if (method != "initialize" && !modern_era) {
        json::object cp{{"requestId", call->id},
                        {"reason", call->cancelled ? "cancelled by the client" : "timed out"}};
        net::co_spawn(executor,
                      notify_cancelled(shared_from_this(),
                                       jsonrpc::notification("notifications/cancelled", cp)),
                      net::detached);
      }
      if (call->cancelled)
        co_return make_error(ErrorCode::kCancelled, where(method) + ": cancelled");
      co_return make_error(ErrorCode::kTimeout, where(method) + ": no answer within " +
                                                    std::to_string(call->timeout.count()) + " ms");
    }
    if (send.info) *send.info = out.info;
    switch (out.kind) {
      case Outcome::kDone:
        co_return std::move(*out.result);
      case Outcome::kAccepted:
        co_return make_error(ErrorCode::kProtocol,
                             where(method) + ": the server answered a request with 202 Accepted");
      case Outcome::kSessionGone: {
        if (!send.allow_reinit || retried_session) {
          co_return make_error(ErrorCode::kUnavailable,
                               where(method) + ": the server does not know the session (HTTP 404)");
        }
        retried_session = true;
        auto renewed = co_await renew_session(sent.session_generation);
        if (!renewed) co_return std::unexpected(renewed.error());
        call->result.reset();
        call->rpc_error.reset();
        continue;
      }
      case Outcome::kUnauthorized: {
        const bool can_step_up =
            dynamic_cast<ChallengeHandler*>(opt.token_provider.get()) != nullptr;
        if (!opt.token_provider || auth_retries >= kMaxAuthRetries ||
            (out.auth_status == 401 && retried_401) || (out.auth_status == 403 && !can_step_up)) {
          co_return std::unexpected(out.error);
        }
        ++auth_retries;
        retried_401 = retried_401 || out.auth_status == 401;
        auto refreshed = co_await refresh_token(sent.token_generation, out.auth_status,
                                                std::move(out.challenge));
        if (!refreshed) {
          if (out.auth_status == 403) {
            co_return make_error(out.error.code(),
                                 out.error.message() + " (" + refreshed.error().message() + ")");
          }
          co_return std::unexpected(refreshed.error().with_context(where(method)));
        }
        continue;
      }
      case Outcome::kRateLimited: {
        // Retry-After is honoured once, when the wait still fits the call's deadline.
        if (retried_rate || !out.retry_after) co_return std::unexpected(out.error);
        const auto wait = *out.retry_after;
        if (std::chrono::steady_clock::now() + wait >= call->deadline()) {
          co_return make_error(ErrorCode::kResourceExhausted,
                               where(method) + ": rate limited by the server" + limit_of(out.info) +
                                   "; it asks to retry after " + std::to_string(wait.count()) +
                                   " s, past this call's deadline (timeout " +
                                   std::to_string(call->timeout.count()) + " ms)");
        }
        retried_rate = true;
        log::info("{}: rate limited{}; retrying after {} s", where(method), limit_of(out.info),
                  wait.count());
        awaitable<void> nap = sleep_for(wait);
        if (call->watchdog) {
          awaitable<void> dog = watchdog(call);
          auto either = std::move(nap) || std::move(dog);
          auto woke = co_await std::move(either);
          if (woke.index() == 1) {
            if (call->cancelled)
              co_return make_error(ErrorCode::kCancelled, where(method) + ": cancelled");
            co_return make_error(ErrorCode::kTimeout, where(method) + ": no answer within " +
                                                          std::to_string(call->timeout.count()) +
                                                          " ms");
          }
        } else {
          co_await std::move(nap);
        }
        call->result.reset();
        call->rpc_error.reset();
        continue;
      }
      case Outcome::kFailed: {
        const int code = out.info.rpc ? out.info.rpc->code : 0;
        if (modern_era && code == jsonrpc::kHeaderMismatch && method == "tools/call" &&
            !retried_headers) {
          // The tool's x-mcp-header annotations may have changed: list again, then retry with
          // the headers the new definition asks for.
          retried_headers = true;
          log::info("{}: header mismatch on tools/call; listing the tools again", url);
          auto relisted = co_await list_tools(false);
          if (relisted) {
            call->result.reset();
            call->rpc_error.reset();
            continue;
          }
        }
        if (modern_era && code == jsonrpc::kUnsupportedProtocolVersion) {
          forget_era(url);  // the server changed; the next connect() probes again
        }
        co_return std::unexpected(out.error);
      }
    }
  }
}

}  // namespace idp::mcp
