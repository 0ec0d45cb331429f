// The Streamable HTTP transport: POST, GET and DELETE on one endpoint, the choice between a
// JSON answer and an SSE stream, SSE delivery and Last-Event-ID replay, 2026-07-28
// subscriptions/listen streams, and session housekeeping. The request checks live in
// streamable_http_checks.cc, sessions and the event store in streamable_http_session.cc and
// event_stream.cc, the dispatcher behind it in dispatch.cc.
#include "idp/mcp/streamable_http_server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/serialize.hpp>

#include "idp/core/json_util.h"
#include "idp/core/log.h"
#include "idp/http/sse.h"
#include "idp/http/url_policy.h"
#include "observed_request.h"
#include "request_body.h"
#include "server_core.h"
#include "streamable_http_checks.h"
#include "streamable_http_listen.h"
#include "streamable_http_session.h"

namespace idp::mcp {

namespace net = boost::asio;
using net::awaitable;

// Coroutines here follow the GCC 12 rule (docs/architecture.md): a co_await operand holds no
// temporary object with state; responses and strings are built in named locals first.
struct StreamableHttpServer::Impl : std::enable_shared_from_this<StreamableHttpServer::Impl> {
  Impl(Server& s, StreamableHttpOptions o)
      : core(ServerAccess::core(s)),
        opt(std::move(o)),
        sessions(opt.max_sessions, opt.replay_events, opt.max_subscriptions_per_session) {}

  ServerCore& core;
  StreamableHttpOptions opt;
  bool loopback_bind = true;
  std::atomic<bool> stopping{false};
  std::atomic<bool> sweeper_started{false};
  SessionTable sessions;
  std::shared_ptr<PendingRegistry> pending = std::make_shared<PendingRegistry>();

  // Looks up the session named by Mcp-Session-Id for `owner`, or the response to send instead.
  std::expected<std::shared_ptr<Session>, http::Response> find_session(const TransportHeaders& h,
                                                                       std::string_view owner) {
    const auto& sid = h.session_id;
    if (!sid) {
      return std::unexpected(rpc_error(
          400, jsonrpc::kConnectionClosed,
          "Bad Request: missing Mcp-Session-Id header; send initialize first to start a session"));
    }
    auto s = sessions.find(*sid, owner);
    if (!s) {
      return std::unexpected(
          rpc_error(404, jsonrpc::kRequestTimeout,
                    "Session not found: it ended or expired; start a new session with initialize"));
    }
    return s;
  }

  // The caller's identity, or the authenticator's refusal.
  awaitable<AuthResult> authenticate(const http::Request& req) {
    if (!opt.authenticate) co_return SharedIdentity{};
    auto who = co_await opt.authenticate(req);
    if (!who && opt.observe)
      report_denied(opt.observe, req, who.error(), std::chrono::steady_clock::now());
    co_return who;
  }

  // ---- SSE delivery ----

  // Writes events after `after` until the stream completes, a close is requested, the peer goes
  // away, or the server stops. Returns false if the peer went away.
  awaitable<bool> pump(http::Responder& res, EventStream& st, Notifier& waker, std::uint64_t after,
                       bool with_ids, const Session* session) {
    std::uint64_t sent = after;
    for (;;) {
      auto batch = st.take(sent, true);
      for (auto& [seq, message] : batch.events) {
        std::string frame = http::format_sse_event(message, with_ids ? st.event_id(seq) : "");
        bool written = co_await res.write(frame);
        if (!written) co_return false;
        sent = seq;
      }
      if (batch.complete || batch.close_requested) co_return true;
      if (res.stopping() || stopping || (session && session->closed)) co_return true;
      bool woke = co_await waker.wait(opt.keepalive_interval);
      if (!woke) {
        std::string frame = http::format_sse_comment("keepalive");
        bool written = co_await res.write(frame);
        if (!written) co_return false;
      }
    }
  }

  awaitable<void> start_sse(http::Responder& res, std::string_view session_header, EventStream& st,
                            bool priming) {
    http::Response head;
    head.status = 200;
    head.headers.add("Content-Type", "text/event-stream");
    head.headers.add("Cache-Control", "no-cache, no-transform");
    head.headers.add("X-Accel-Buffering", "no");  // proxies must not hold events back
    if (!session_header.empty()) head.headers.add("Mcp-Session-Id", std::string(session_header));
    bool started = co_await res.start_stream(std::move(head));
    if (started && priming) {
      // The priming event gives the client an id to resume from before anything else is sent.
      std::string frame = http::format_sse_event("", st.event_id(st.last_seq()),
                                                 static_cast<int>(opt.sse_retry.count()));
      co_await res.write(frame);
    }
  }

  // ---- POST ----

  awaitable<void> handle_post(const http::Request& req, http::Responder& res) {
    const TransportHeaders h(req);
    if (auto r = check_host_origin(h, opt, loopback_bind))
      co_return co_await res.send(std::move(*r));
    const auto start = std::chrono::steady_clock::now();
    SharedIdentity identity;
    if (opt.authenticate) {  // not through authenticate(): no coroutine frame on the hot path
      auto who = co_await opt.authenticate(req);
      if (!who) {
        if (opt.observe) report_denied(opt.observe, req, who.error(), start);
        co_return co_await res.send(std::move(who.error()));
      }
      identity = std::move(*who);
    }
    const auto& ct = h.content_type;
    if (!ct || !http::iequals(media_type(*ct), "application/json")) {
      http::Response r = rpc_error(415, jsonrpc::kConnectionClosed,
                                   "Unsupported Media Type: Content-Type must be application/json "
                                   "(got '" +
                                       std::string(ct.value_or("")) + "')");
      co_return co_await res.send(std::move(r));
    }
    const std::string_view accept = h.accept.value_or("");
    if (!accepts(accept, "application/json") || !accepts(accept, "text/event-stream")) {
      http::Response r = rpc_error(
          406, jsonrpc::kConnectionClosed,
          "Not Acceptable: Accept must list both application/json and text/event-stream (got '" +
              std::string(accept) + "')");
      co_return co_await res.send(std::move(r));
    }
    // One arena per request: the message and everything parsed from it are freed together.
    // A client's repeated _meta envelope comes shared instead (request_body.h).
    auto parsed = parse_request_body(
        req.body(), boost::json::make_shared_resource<boost::json::monotonic_resource>(
                        req.body().size() * 2 + 256));
    if (!parsed) {
      http::Response r =
          rpc_error(400, jsonrpc::kParseError, "Parse error: " + parsed.error().message());
      co_return co_await res.send(std::move(r));
    }
    std::shared_ptr<const json::object> shared_meta = std::move(parsed->shared_meta);
    auto message = jsonrpc::parse(std::move(parsed->doc));
    if (!message) {
      http::Response r =
          rpc_error(400, message.error().code, "Invalid Request: " + message.error().message);
      co_return co_await res.send(std::move(r));
    }
    jsonrpc::Message& m = *message;
    std::shared_ptr<ObservedRequest> seen =
        m.is_request() ? observe_request(opt, req, h.session_id, m, start) : nullptr;
    if (auto r = apply_limit(opt, req, m, *identity, seen.get()))
      co_return co_await res.send(std::move(*r));
    if (is_modern(h, m, shared_meta.get())) {
      // This revision defines no client notifications over HTTP: accepted, nothing to do.
      if (!m.is_request()) {
        http::Response accepted = http::Response::empty(202);
        co_return co_await res.send(std::move(accepted));
      }
      std::shared_ptr<HttpRequest> rs;
      if (auto r = admit_modern(req, h, m, std::move(shared_meta), identity, seen.get(), rs))
        co_return co_await res.send(std::move(*r));
      if (!rs)
        co_return co_await serve_listen(res, std::move(m), std::move(identity), std::move(seen));
      std::shared_ptr<Session> no_session;
      co_return co_await run_request(res, std::move(no_session), std::move(rs), std::move(m), false,
                                     std::move(seen));
    }
    if (auto r = check_legacy_version(h)) {
      report_refusal(opt.observe, seen.get(), &*identity, *r);
      co_return co_await res.send(std::move(*r));
    }
    const bool is_init = m.is_request() && m.method == "initialize";

    std::shared_ptr<Session> session;
    if (opt.stateless) {
      session = sessions.ephemeral();
      if (const auto& v = h.protocol_version) session->protocol_version = std::string(*v);
    } else if (is_init) {
      if (h.session_id) {
        http::Response r = rpc_error(400, jsonrpc::kInvalidRequest,
                                     "Invalid Request: initialize must not carry an "
                                     "Mcp-Session-Id; omit it to start a new session",
                                     m.id);
        report_refusal(opt.observe, seen.get(), &*identity, r);
        co_return co_await res.send(std::move(r));
      }
      session = sessions.create(session_owner(*identity));
      if (!session) {
        http::Response r = rpc_error(503, jsonrpc::kConnectionClosed,
                                     "Service Unavailable: too many sessions", m.id);
        report_refusal(opt.observe, seen.get(), &*identity, r);
        co_return co_await res.send(std::move(r));
      }
      log::debug("session {}... started", session->id.substr(0, 8));
    } else {
      auto found = find_session(h, session_owner(*identity));
      if (!found) {
        report_refusal(opt.observe, seen.get(), &*identity, found.error());
        co_return co_await res.send(std::move(found.error()));
      }
      session = std::move(*found);
    }
    start_sweeper(co_await net::this_coro::executor);

    if (m.is_notification()) {
      core.handle_notification(*session, m);
      http::Response accepted = http::Response::empty(202);
      co_return co_await res.send(std::move(accepted));
    }
    if (m.is_response()) {
      if (!pending->deliver(m, session->id)) {
        log::debug("ignored a response to an unknown request id {}", json::serialize(m.id));
      }
      http::Response accepted = http::Response::empty(202);
      co_return co_await res.send(std::move(accepted));
    }
    auto rs = new_request(session.get(), m, std::move(shared_meta), std::move(identity), req);
    rs->session = session;
    rs->session_id = session->id;
    if (rs->can_push()) rs->pending = pending;
    co_await run_request(res, std::move(session), std::move(rs), std::move(m), is_init,
                         std::move(seen));
  }

  // A request's state, common to both eras. The message's _meta moves into it (nothing past
  // this point reads params._meta), or the shared envelope that stood for it.
  std::shared_ptr<HttpRequest> new_request(Session* session, jsonrpc::Message& m,
                                           std::shared_ptr<const json::object> shared_meta,
                                           SharedIdentity identity, const http::Request& req) {
    std::string stream_id = "p";
    if (session) {
      std::lock_guard lock(session->mu);
      stream_id += std::to_string(session->next_stream++);
    }
    // Constructed, never assigned: assignment into another storage would copy.
    auto take_meta = [&]() -> json::object {
      if (shared_meta) return json::object();
      auto it = m.params.find("_meta");
      if (it == m.params.end() || !it->value().is_object()) return json::object();
      return json::object(std::move(it->value().get_object()));
    };
    const bool streaming = opt.response_mode != StreamableHttpOptions::ResponseMode::kJson;
    auto rs = std::make_shared<HttpRequest>(std::move(stream_id), opt.replay_events, streaming,
                                            take_meta());
    rs->shared_meta = std::move(shared_meta);
    rs->id = m.id;
    rs->identity = std::move(identity);
    rs->trace_id = req.trace_id();
    rs->peer = std::string(req.remote_address());
    if (auto it = rs->meta.find("progressToken"); it != rs->meta.end()) {  // never an envelope's
      rs->progress_token = it->value();
    }
    return rs;
  }

  // ---- POST, 2026-07-28 ----

  // A 2026-07-28 request past the era's checks: its request state, or the answer to send instead
  // (`rs` stays empty for subscriptions/listen, which streams). Not a coroutine: the stateless
  // hot path adds no frame to handle_post's.
  std::optional<http::Response> admit_modern(const http::Request& req, const TransportHeaders& h,
                                             jsonrpc::Message& m,
                                             std::shared_ptr<const json::object> shared_meta,
                                             SharedIdentity& identity, ObservedRequest* seen,
                                             std::shared_ptr<HttpRequest>& rs) {
    log::trace("{} (MCP 2026-07-28, stateless)", m.method);
    ModernFields found;
    const json::object* meta =
        shared_meta ? shared_meta.get() : ::idp::json::find_object(m.params, "_meta");
    if (auto r = validate_modern(req, h, m, meta, core, found)) {
      log::debug("{} refused with HTTP {} (2026-07-28 request rules)", m.method, r->status);
      report_refusal(opt.observe, seen, &*identity, *r);
      return r;
    }
    if (m.method == "subscriptions/listen") return std::nullopt;
    if (!core.modern_method_available(m.method)) {
      std::string why =
          m.method == "initialize" || m.method == "ping" || m.method == "logging/setLevel" ||
                  m.method == "resources/subscribe" || m.method == "resources/unsubscribe"
              ? " (removed in protocol 2026-07-28)"
              : "";
      http::Response not_found =
          rpc_error(404, jsonrpc::kMethodNotFound, "Method not found: " + m.method + why, m.id);
      report_refusal(opt.observe, seen, &*identity, not_found);
      return not_found;
    }
    rs = new_request(nullptr, m, std::move(shared_meta), std::move(identity), req);
    rs->modern = true;
    // validate_modern checked that the header repeats params._meta's protocolVersion.
    rs->protocol_version = std::string(found.protocol_version);
    rs->client_capabilities = found.client_capabilities;
    rs->client_info = found.client_info;
    if (found.log_level) rs->min_log_level = static_cast<int>(*found.log_level);
    rs->tool = std::move(found.tool);
    return std::nullopt;
  }

  awaitable<void> serve_listen(http::Responder& res, jsonrpc::Message m, SharedIdentity identity,
                               std::shared_ptr<ObservedRequest> seen) {
    if (seen) seen->streamed = true;
    co_await listen(res, std::move(m));
    if (seen) seen->report(opt.observe, &*identity, RequestOutcome::kOk, 0, 200);
  }

  // ---- subscriptions/listen (2026-07-28) ----

  ListenStreams listeners;

  awaitable<void> listen(http::Responder& res, jsonrpc::Message m) {
    const json::object* filter = ::idp::json::find_object(m.params, "notifications");
    if (!filter) {
      http::Response invalid = rpc_error(
          200, jsonrpc::kInvalidParams,
          "Invalid params: subscriptions/listen needs params.notifications (toolsListChanged, "
          "promptsListChanged, resourcesListChanged, resourceSubscriptions)",
          m.id);
      co_return co_await res.send(std::move(invalid));
    }
    json::object caps = core.capabilities(true);
    auto l =
        listeners.open(m.id, *filter, caps, opt.replay_events, opt.max_subscriptions_per_session);
    auto ex = co_await net::this_coro::executor;
    auto waker = std::make_shared<Notifier>(ex);
    l->stream.attach(waker);
    const std::string_view no_session;
    co_await start_sse(res, no_session, l->stream, false);
    const Session* none = nullptr;
    bool alive = co_await pump(res, l->stream, *waker, 0, false, none);
    l->stream.detach();
    listeners.close(l);
    if (alive) {
      // The server ends the subscription (shutdown): the listen request's result closes it.
      json::object meta{{meta_keys::kSubscriptionId, l->id}};
      if (core.options.server_info_in_results) meta[meta_keys::kServerInfo] = core.server_info;
      json::object result{{"resultType", kResultComplete}, {"_meta", std::move(meta)}};
      std::string frame = http::format_sse_event(jsonrpc::response(l->id, result));
      co_await res.write(frame);
    }
  }

  // ---- running a request ----

  awaitable<void> run_request(http::Responder& res, std::shared_ptr<Session> session,
                              std::shared_ptr<HttpRequest> rs, jsonrpc::Message m, bool is_init,
                              std::shared_ptr<ObservedRequest> seen) {
    auto ex = co_await net::this_coro::executor;
    const bool stateful = session && !session->id.empty();
    const auto mode = opt.response_mode;
    std::shared_ptr<EventStream> stream(rs, &rs->own_stream);
    std::string key;
    if (stateful) {
      key = jsonrpc::id_key(m.id);
      std::lock_guard lock(session->mu);
      session->in_flight[key] = rs;
    }
    auto running =
        core.start_request(ex, session, rs, std::move(m),
                           [self = seen ? shared_from_this() : nullptr, session, rs, seen, stream,
                            key = std::move(key)](std::optional<std::string> response) {
                             if (seen)
                               report_finished(self->opt.observe, *seen, *rs, response.has_value());
                             stream->complete(std::move(response));
                             if (!key.empty()) {
                               std::lock_guard lock(session->mu);
                               session->in_flight.erase(key);
                             }
                           });

    // Let a quick handler finish first: then the answer goes out as plain JSON and nothing
    // else (no waker, no replay buffer, no deadline timer) is needed.
    co_await net::post(ex, net::use_awaitable);
    running->watch();
    bool sse = mode == StreamableHttpOptions::ResponseMode::kSse;
    std::shared_ptr<Notifier> waker;
    auto started = std::chrono::steady_clock::now();
    while (!sse) {
      if (stream->is_complete() && !stream->has_pending_events()) break;
      if (mode == StreamableHttpOptions::ResponseMode::kAuto &&
          (stream->has_pending_events() || stream->close_requested())) {
        sse = true;
        break;
      }
      // While the server drains, a running call may still answer within the grace period (the
      // HTTP server closes the connection when it ends); it stays a plain JSON answer.
      const bool draining = res.stopping() || stopping;
      if (!waker) {
        // Attach, then loop to re-check: anything pushed before the attach is seen then.
        waker = std::make_shared<Notifier>(ex);
        stream->attach(waker);
        continue;
      }
      bool woke = co_await waker->wait(opt.keepalive_interval);
      // A long request in auto mode switches to SSE so that keep-alives can flow.
      if (!woke && !draining && mode == StreamableHttpOptions::ResponseMode::kAuto &&
          std::chrono::steady_clock::now() - started >= opt.keepalive_interval) {
        sse = true;
      }
    }

    if (!sse) {
      if (waker) stream->detach();
      auto final_message = stream->take_final();
      if (!final_message) {
        http::Response r = http::Response::empty(202);  // cancelled: no answer
        if (!stream->is_complete()) {
          if (rs->modern) rs->cancel();
          r = rpc_error(503, jsonrpc::kConnectionClosed, "Service Unavailable: server is stopping");
          if (seen) seen->answered = 503;
        }
        co_return co_await res.send(std::move(r));
      }
      http::Response r = http::Response::json(rs->http_status, std::move(*final_message));
      if (is_init && stateful) r.headers.add("Mcp-Session-Id", session->id);
      co_return co_await res.send(std::move(r));
    }

    if (!waker) {
      waker = std::make_shared<Notifier>(ex);
      stream->attach(waker);
    }
    if (stateful) session->remember_stream(stream, opt.retained_streams);
    if (seen) seen->streamed = true;
    std::string_view session_header = is_init && stateful ? std::string_view(session->id) : "";
    co_await start_sse(res, session_header, *stream, stateful);
    const Session* watched = session.get();
    bool alive = co_await pump(res, *stream, *waker, 0, stateful, watched);
    stream->detach();
    // 2026-07-28: closing the response stream cancels the request (it cannot be resumed).
    if (rs->modern && (!alive || !stream->is_complete())) rs->cancel();
  }

  // ---- GET and DELETE ----

  // Host/Origin/version checks and the 405 of stateless servers and 2026-07-28 clients: the
  // response to send instead of handling a GET or DELETE, if any.
  std::optional<http::Response> precheck_session_request(const TransportHeaders& h) const {
    if (auto r = check_host_origin(h, opt, loopback_bind)) return r;
    if (opt.stateless || is_modern_get_or_delete(h)) {
      http::Response r = rpc_error(
          405, jsonrpc::kConnectionClosed,
          opt.stateless ? "Method Not Allowed: this server is stateless; use POST"
                        : "Method Not Allowed: protocol 2026-07-28 has no GET stream and no "
                          "sessions; use POST (subscriptions/listen for notifications)");
      r.headers.add("Allow", "POST");
      return r;
    }
    return check_legacy_version(h);
  }

  awaitable<void> handle_get(const http::Request& req, http::Responder& res) {
    const TransportHeaders h(req);
    if (auto r = precheck_session_request(h)) co_return co_await res.send(std::move(*r));
    auto who = co_await authenticate(req);
    if (!who) co_return co_await res.send(std::move(who.error()));
    if (!accepts(h.accept.value_or(""), "text/event-stream")) {
      http::Response r = rpc_error(406, jsonrpc::kConnectionClosed,
                                   "Not Acceptable: GET needs Accept: text/event-stream");
      co_return co_await res.send(std::move(r));
    }
    auto found = find_session(h, session_owner(**who));
    if (!found) co_return co_await res.send(std::move(found.error()));
    std::shared_ptr<Session> session = std::move(*found);
    auto ex = co_await net::this_coro::executor;

    std::shared_ptr<EventStream> stream;
    std::uint64_t after = 0;
    bool resuming = false;
    if (const auto& last = h.last_event_id) {
      auto named = EventStream::parse_event_id(*last);
      if (named) stream = session->find_stream(named->first);
      if (!stream) {
        http::Response r = rpc_error(404, jsonrpc::kConnectionClosed,
                                     "Not Found: Last-Event-ID '" + std::string(*last) +
                                         "' names no stream of this session");
        co_return co_await res.send(std::move(r));
      }
      after = named->second;
      resuming = true;
    } else {
      stream = session->find_stream("g");
      after = stream->last_seq();
    }
    auto waker = std::make_shared<Notifier>(ex);
    if (!stream->attach(waker)) {
      http::Response r =
          rpc_error(409, jsonrpc::kConnectionClosed,
                    "Conflict: this stream is already being delivered on another connection");
      co_return co_await res.send(std::move(r));
    }
    if (resuming && stream->take(after, false).lost) {
      log::warn("Last-Event-ID replay for stream {} is incomplete: older events were dropped",
                stream->id());
    }
    const std::string_view no_session;
    co_await start_sse(res, no_session, *stream, !resuming);
    const Session* watched = session.get();
    co_await pump(res, *stream, *waker, after, true, watched);
    stream->detach();
  }

  awaitable<void> handle_delete(const http::Request& req, http::Responder& res) {
    const TransportHeaders h(req);
    if (auto r = precheck_session_request(h)) co_return co_await res.send(std::move(*r));
    auto who = co_await authenticate(req);
    if (!who) co_return co_await res.send(std::move(who.error()));
    auto found = find_session(h, session_owner(**who));
    if (!found) co_return co_await res.send(std::move(found.error()));
    if (auto removed = sessions.remove((*found)->id)) {
      removed->end();
      log::debug("session {}... ended by the client", removed->id.substr(0, 8));
    }
    http::Response ended = http::Response::empty(200);
    co_return co_await res.send(std::move(ended));
  }

  // ---- housekeeping ----

  void start_sweeper(net::any_io_executor ex) {
    if (sweeper_started.exchange(true)) return;
    net::co_spawn(ex, sweep(shared_from_this()), [](std::exception_ptr) {});
  }

  static awaitable<void> sweep(std::shared_ptr<Impl> self) {
    net::steady_timer timer(co_await net::this_coro::executor);
    const auto idle =
        std::chrono::duration_cast<std::chrono::nanoseconds>(self->opt.session_idle_timeout);
    const auto period = std::min<std::chrono::steady_clock::duration>(
        std::chrono::seconds(1), self->opt.session_idle_timeout / 2 + std::chrono::milliseconds(1));
    while (!self->stopping) {
      timer.expires_after(period);
      co_await timer.async_wait(net::as_tuple(net::use_awaitable));
      for (auto& s : self->sessions.remove_idle(SessionTable::now_ns() - idle.count())) {
        log::debug("session {}... expired after inactivity", s->id.substr(0, 8));
        s->end();
      }
    }
  }

  void on_stop() {
    stopping = true;
    listeners.request_close_all();
    for (auto& s : sessions.all()) {
      std::lock_guard lock(s->mu);
      for (auto& [k, st] : s->streams) st->request_close();
      if (s->standalone) s->standalone->request_close();
    }
  }

  void on_broadcast(std::string_view method, const json::object& params,
                    std::string_view only_subscribed_uri) {
    listeners.notify(method, params, only_subscribed_uri);
    std::string message = jsonrpc::notification(method, params);
    for (auto& s : sessions.all()) {
      if (!only_subscribed_uri.empty()) {
        std::lock_guard lock(s->mu);
        if (!s->subscriptions.contains(only_subscribed_uri)) continue;
      }
      s->notify(message);
    }
  }
};

StreamableHttpServer::StreamableHttpServer(Server& server, StreamableHttpOptions options)
    : impl_(std::make_shared<Impl>(server, std::move(options))) {
  std::weak_ptr<Impl> weak = impl_;
  std::lock_guard lock(impl_->core.listeners_mu);
  impl_->core.listeners.push_back(
      [weak](std::string_view method, const json::object& params, std::string_view uri) {
        if (auto self = weak.lock()) self->on_broadcast(method, params, uri);
      });
}

StreamableHttpServer::~StreamableHttpServer() { impl_->on_stop(); }

void StreamableHttpServer::attach(http::Server& http) {
  impl_->loopback_bind = http::is_loopback_host(http.options().host);
  auto self = impl_;
  http.route("POST", impl_->opt.path, [self](const http::Request& req, http::Responder& res) {
    return self->handle_post(req, res);
  });
  http.route("GET", impl_->opt.path, [self](const http::Request& req, http::Responder& res) {
    return self->handle_get(req, res);
  });
  http.route("DELETE", impl_->opt.path, [self](const http::Request& req, http::Responder& res) {
    return self->handle_delete(req, res);
  });
  http.on_stop([self] { self->on_stop(); });
}

std::size_t StreamableHttpServer::session_count() const { return impl_->sessions.size(); }

}  // namespace idp::mcp
