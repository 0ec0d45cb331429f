#include "idp/mcp/streamable_http_server.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/serialize.hpp>

#include <charconv>
#include <set>
#include <span>
#include <unordered_map>

#include "core.h"
#include "idp/core/json_util.h"
#include "idp/core/log.h"
#include "idp/core/random.h"
#include "idp/http/sse.h"
#include "idp/http/url_policy.h"

namespace idp::mcp {

namespace net = boost::asio;
using detail::EventStream;
using detail::Notifier;
using detail::PendingReply;
using detail::RequestState;
using detail::Session;
using net::awaitable;

namespace {

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string_view media_type(std::string_view v) {
  auto semi = v.find(';');
  return trim(semi == std::string_view::npos ? v : v.substr(0, semi));
}

// Whether an Accept header admits `type` ("application/json").
bool accepts(std::string_view accept, std::string_view type) {
  auto slash = type.find('/');
  std::string_view major = type.substr(0, slash);
  while (!accept.empty()) {
    auto comma = accept.find(',');
    std::string_view item = media_type(accept.substr(0, comma));
    accept = comma == std::string_view::npos ? std::string_view{} : accept.substr(comma + 1);
    if (http::iequals(item, type) || item == "*/*") return true;
    if (item.size() == major.size() + 2 && http::iequals(item.substr(0, major.size()), major) &&
        item.substr(major.size()) == "/*") {
      return true;
    }
  }
  return false;
}

http::Response rpc_error(int status, int code, std::string message, const json::value& id = nullptr,
                         std::optional<json::value> data = std::nullopt) {
  return http::Response::json(
      status, jsonrpc::error_response(id, {code, std::move(message), std::move(data)}));
}

// A header's value without the optional whitespace around it (RFC 9110 5.5).
std::optional<std::string_view> header_value(const http::Request& req, std::string_view name) {
  auto v = req.header(name);
  if (!v) return std::nullopt;
  return trim(*v);
}

std::string version_list(std::span<const std::string_view> versions) {
  std::string out;
  for (auto v : versions) {
    if (!out.empty()) out += ", ";
    out += v;
  }
  return out;
}

// Visible ASCII, space and tab: what a mirrored header may carry as it is.
bool plain_header_value(std::string_view v) {
  for (char c : v) {
    auto u = static_cast<unsigned char>(c);
    if (u != '\t' && (u < 0x20 || u > 0x7E)) return false;
  }
  return true;
}

// Standard base64, padded, nothing else (a sentinel with bad padding is an error, not text).
std::optional<std::string> strict_base64(std::string_view s) {
  if (s.size() % 4 != 0) return std::nullopt;
  std::size_t pad = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '=') {
      if (i + 2 < s.size()) return std::nullopt;
      ++pad;
      continue;
    }
    bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '+' || c == '/';
    if (!alpha || pad > 0) return std::nullopt;
  }
  return base64_decode(s);
}

// The body value a mirrored header (Mcp-Name, Mcp-Param-*) stands for: the "=?base64?...?="
// sentinel decoded, anything else literally; nullopt when malformed.
std::optional<std::string> decode_mirrored(std::string_view v) {
  if (!plain_header_value(v)) return std::nullopt;
  constexpr std::string_view kOpen = "=?base64?", kClose = "?=";
  if (v.size() >= kOpen.size() + kClose.size() && v.starts_with(kOpen) && v.ends_with(kClose)) {
    return strict_base64(v.substr(kOpen.size(), v.size() - kOpen.size() - kClose.size()));
  }
  return std::string(v);
}

// Whether a mirrored header's decoded text matches the body value (numbers compare as numbers).
bool mirrors(std::string_view text, const json::value& v) {
  if (auto* s = v.if_string()) return text == std::string_view(*s);
  if (v.is_bool()) return text == (v.get_bool() ? "true" : "false");
  if (v.is_number()) {
    double parsed = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), parsed);
    return ec == std::errc() && p == text.data() + text.size() && parsed == v.to_number<double>();
  }
  return false;
}

}  // namespace

struct StreamableHttpServer::Impl : std::enable_shared_from_this<StreamableHttpServer::Impl> {
  Impl(Server& s, StreamableHttpOptions o) : core(s.core()), opt(std::move(o)) {}

  detail::ServerCore& core;
  StreamableHttpOptions opt;
  bool loopback_bind = true;
  std::atomic<bool> stopping{false};
  std::atomic<bool> sweeper_started{false};

  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  mutable std::mutex mu;
  std::unordered_map<std::string, std::shared_ptr<Session>, StringHash, std::equal_to<>> sessions;

  std::shared_ptr<detail::PendingRegistry> pending = std::make_shared<detail::PendingRegistry>();

  // ---- checks shared by POST, GET and DELETE ----

  std::optional<http::Response> check_host_origin(const http::Request& req) const {
    auto host = req.header("Host");
    if (!host) return rpc_error(400, jsonrpc::kConnectionClosed, "Bad Request: missing Host header");
    bool host_ok;
    if (!opt.allowed_hosts.empty()) {
      host_ok = false;
      for (const auto& h : opt.allowed_hosts) {
        if (http::iequals(h, *host) || http::iequals(h, http::authority_host(*host))) {
          host_ok = true;
        }
      }
    } else {
      host_ok = !loopback_bind || http::is_loopback_host(http::authority_host(*host));
    }
    if (!host_ok) {
      log::warn("rejected request with Host '{}' (DNS rebinding protection)", *host);
      return rpc_error(403, jsonrpc::kConnectionClosed,
                       "Forbidden: Host '" + std::string(*host) + "' is not allowed");
    }
    if (auto origin = req.header("Origin")) {
      bool origin_ok = false;
      if (!opt.allowed_origins.empty()) {
        for (const auto& o : opt.allowed_origins) {
          if (o == "*" || http::iequals(o, *origin)) origin_ok = true;
        }
      } else {
        origin_ok = http::is_loopback_origin(*origin);
      }
      if (!origin_ok) {
        log::warn("rejected request with Origin '{}'", *origin);
        return rpc_error(403, jsonrpc::kConnectionClosed,
                         "Forbidden: Origin '" + std::string(*origin) + "' is not allowed");
      }
    }
    return std::nullopt;
  }

  // The MCP-Protocol-Version check of the handshake era (the header repeats the negotiated
  // version).
  static std::optional<http::Response> check_legacy_version(const http::Request& req) {
    if (auto v = req.header("MCP-Protocol-Version");
        v && !is_supported_protocol_version(trim(*v))) {
      return rpc_error(400, jsonrpc::kConnectionClosed,
                       "Bad Request: unsupported MCP-Protocol-Version '" + std::string(*v) +
                           "' (supported: " + version_list(supported_protocol_versions()) + ")");
    }
    return std::nullopt;
  }

  // Which era a message belongs to. MCP-Protocol-Version 2026-07-28 means 2026-07-28 (a stray
  // Mcp-Session-Id is then ignored: sessions cannot negotiate it). Otherwise a session id, a
  // handshake version, a posted response, or neither a version header nor a _meta
  // protocolVersion (an initialize, typically) mean 2025-11-25 and older; an unknown version
  // header or a _meta protocolVersion without a session mean 2026-07-28 (which then answers
  // -32022 or -32020, and where initialize is an unknown method).
  static bool is_modern(const http::Request& req, const jsonrpc::Message& m) {
    if (m.is_response()) return false;
    auto v = header_value(req, "MCP-Protocol-Version");
    if (v && is_modern_protocol_version(*v)) return true;
    if (req.header("Mcp-Session-Id")) return false;
    if (v) return !is_supported_protocol_version(*v);
    auto* meta = ::idp::json::find_object(m.params, "_meta");
    return meta && meta->contains(meta_keys::kProtocolVersion);
  }

  // GET and DELETE of a 2026-07-28 client: its version header, or an unknown one without a
  // session.
  static bool is_modern_get_or_delete(const http::Request& req) {
    auto v = header_value(req, "MCP-Protocol-Version");
    if (!v) return false;
    if (is_modern_protocol_version(*v)) return true;
    return !req.header("Mcp-Session-Id") && !is_supported_protocol_version(*v);
  }

  // Looks up the session named by Mcp-Session-Id, or the response to send instead.
  std::expected<std::shared_ptr<Session>, http::Response> find_session(const http::Request& req) {
    auto sid = req.header("Mcp-Session-Id");
    if (!sid) {
      return std::unexpected(rpc_error(
          400, jsonrpc::kConnectionClosed,
          "Bad Request: missing Mcp-Session-Id header; send initialize first to start a session"));
    }
    std::shared_ptr<Session> s;
    {
      std::lock_guard lock(mu);
      auto it = sessions.find(*sid);
      if (it != sessions.end()) s = it->second;
    }
    if (!s) {
      return std::unexpected(rpc_error(
          404, jsonrpc::kRequestTimeout,
          "Session not found: it ended or expired; start a new session with initialize"));
    }
    s->last_used_ns = now_ns();
    return s;
  }

  std::shared_ptr<Session> new_session(bool ephemeral) {
    auto s = std::make_shared<Session>();
    s->last_used_ns = now_ns();
    if (ephemeral) return s;
    s->id = random_token(32);
    s->standalone = std::make_shared<EventStream>("g", opt.replay_events);
    std::lock_guard lock(mu);
    if (sessions.size() >= opt.max_sessions) return nullptr;
    sessions.emplace(s->id, s);
    return s;
  }

  void end_session(const std::shared_ptr<Session>& s) {
    s->closed = true;
    std::vector<std::shared_ptr<RequestState>> running;
    std::vector<std::shared_ptr<EventStream>> streams;
    {
      std::lock_guard lock(s->mu);
      for (auto& [k, w] : s->in_flight) {
        if (auto r = w.lock()) running.push_back(r);
      }
      for (auto& [k, st] : s->streams) streams.push_back(st);
      if (s->standalone) streams.push_back(s->standalone);
    }
    for (auto& r : running) r->cancel();
    for (auto& st : streams) st->complete(std::nullopt);
  }

  // ---- SSE delivery ----

  static std::string event_id(const EventStream& st, std::uint64_t seq) {
    return st.id() + "_" + std::to_string(seq);
  }

  // Writes events after `after` until the stream completes, a close is requested, the peer goes
  // away, or the server stops. Returns false if the peer went away.
  awaitable<bool> pump(http::Responder& res, EventStream& st, Notifier& waker, std::uint64_t after,
                       bool with_ids, const Session* session) {
    std::uint64_t sent = after;
    for (;;) {
      auto batch = st.take(sent, true);
      // Named locals, not temporaries, around co_await: GCC 12 mishandles temporaries there.
      for (std::size_t i = 0; i < batch.events.size(); ++i) {
        std::uint64_t seq = batch.events[i].first;
        std::string frame =
            http::format_sse_event(batch.events[i].second, with_ids ? event_id(st, seq) : "");
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
      std::string frame = http::format_sse_event("", event_id(st, st.last_seq()),
                                                 static_cast<int>(opt.sse_retry.count()));
      co_await res.write(frame);
    }
  }

  // ---- POST ----

  awaitable<void> handle_post(const http::Request& req, http::Responder& res) {
    if (auto r = precheck(req, false)) co_return co_await res.send(std::move(*r));
    Identity identity;
    if (opt.authenticate) {
      auto who = co_await opt.authenticate(req);
      if (!who) co_return co_await res.send(std::move(who.error()));
      identity = std::move(*who);
    }
    auto ct = req.header("Content-Type");
    if (!ct || !http::iequals(media_type(*ct), "application/json")) {
      co_return co_await res.send(rpc_error(
          415, jsonrpc::kConnectionClosed,
          "Unsupported Media Type: Content-Type must be application/json (got '" +
              std::string(ct.value_or("")) + "')"));
    }
    auto accept = req.header("Accept").value_or("");
    if (!accepts(accept, "application/json") || !accepts(accept, "text/event-stream")) {
      co_return co_await res.send(rpc_error(
          406, jsonrpc::kConnectionClosed,
          "Not Acceptable: Accept must list both application/json and text/event-stream (got '" +
              std::string(accept) + "')"));
    }
    // One arena per request: the message and everything parsed from it are freed together.
    auto parsed = ::idp::json::parse(req.body(), {},
                                     boost::json::make_shared_resource<boost::json::monotonic_resource>(
                                         req.body().size() * 2 + 256));
    if (!parsed) {
      co_return co_await res.send(
          rpc_error(400, jsonrpc::kParseError, "Parse error: " + parsed.error().message()));
    }
    auto message = jsonrpc::parse(std::move(*parsed));
    if (!message) {
      co_return co_await res.send(
          rpc_error(400, message.error().code, "Invalid Request: " + message.error().message));
    }
    jsonrpc::Message& m = *message;
    if (is_modern(req, m)) {
      co_return co_await handle_modern(req, res, std::move(m), std::move(identity));
    }
    if (auto r = check_legacy_version(req)) co_return co_await res.send(std::move(*r));
    bool is_init = m.is_request() && m.method == "initialize";

    std::shared_ptr<Session> session;
    if (opt.stateless) {
      session = new_session(true);
      if (auto v = req.header("MCP-Protocol-Version")) session->protocol_version = std::string(*v);
    } else if (is_init) {
      if (req.header("Mcp-Session-Id")) {
        co_return co_await res.send(rpc_error(
            400, jsonrpc::kInvalidRequest,
            "Invalid Request: initialize must not carry an Mcp-Session-Id; omit it to start a new "
            "session",
            m.id));
      }
      session = new_session(false);
      if (!session) {
        co_return co_await res.send(rpc_error(503, jsonrpc::kConnectionClosed,
                                              "Service Unavailable: too many sessions", m.id));
      }
      log::debug("session {}... started", session->id.substr(0, 8));
    } else {
      auto found = find_session(req);
      if (!found) co_return co_await res.send(std::move(found.error()));
      session = std::move(*found);
    }
    start_sweeper(co_await net::this_coro::executor);

    if (m.is_notification()) {
      core.handle_notification(*session, m);
      co_return co_await res.send(http::Response::empty(202));
    }
    if (m.is_response()) {
      deliver_reply(*session, m);
      co_return co_await res.send(http::Response::empty(202));
    }
    auto rs = new_request(session.get(), m, std::move(identity));
    rs->session = session;
    rs->session_id = session->id;
    rs->pending = rs->stream ? pending : nullptr;
    co_await run_request(res, session, std::move(rs), std::move(m), is_init);
  }

  void deliver_reply(const Session& session, const jsonrpc::Message& m) {
    std::shared_ptr<PendingReply> reply;
    if (m.id.is_string()) reply = pending->find(std::string(m.id.get_string()), session.id);
    if (!reply) {
      log::debug("ignored a response to an unknown request id {}", json::serialize(m.id));
      return;
    }
    {
      std::lock_guard lock(reply->mu);
      reply->done = true;
      reply->ok = m.kind == jsonrpc::Message::Kind::kResponse;
      reply->result = m.result;
      reply->error = m.error;
    }
    reply->waker->notify();
  }

  // A request's state, common to both eras. The message's _meta moves into it (nothing past
  // this point reads params._meta).
  std::shared_ptr<RequestState> new_request(Session* session, jsonrpc::Message& m,
                                            Identity identity) {
    std::string stream_id = "p";
    if (session) {
      std::lock_guard lock(session->mu);
      stream_id += std::to_string(session->next_stream++);
    }
    // Constructed, never assigned: assignment into another storage would copy.
    auto take_meta = [&]() -> json::object {
      auto it = m.params.find("_meta");
      if (it == m.params.end() || !it->value().is_object()) return json::object();
      return json::object(std::move(it->value().get_object()));
    };
    auto rs = std::make_shared<RequestState>(std::move(stream_id), opt.replay_events, take_meta());
    rs->stream =
        opt.response_mode == StreamableHttpOptions::ResponseMode::kJson ? nullptr : &rs->own_stream;
    rs->id = m.id;
    rs->identity = std::move(identity);
    if (auto it = rs->meta.find("progressToken"); it != rs->meta.end()) {
      rs->progress_token = it->value();
    }
    return rs;
  }

  // ---- POST, 2026-07-28 ----

  // The header and _meta rules of a 2026-07-28 request: the response to send instead of
  // serving it, if any. Order: version header, version support, required _meta, header/_meta
  // agreement, Mcp-Method, Mcp-Name, Mcp-Param-*.
  std::optional<http::Response> validate_modern(const http::Request& req,
                                                const jsonrpc::Message& m) const {
    const json::value& id = m.id;
    auto version = header_value(req, "MCP-Protocol-Version");
    if (!version) {
      return rpc_error(400, jsonrpc::kHeaderMismatch,
                       "Header mismatch: the MCP-Protocol-Version header is missing; it must "
                       "repeat params._meta[\"io.modelcontextprotocol/protocolVersion\"]",
                       id);
    }
    if (!is_modern_protocol_version(*version)) {
      json::array supported;
      for (auto v : all_protocol_versions()) supported.emplace_back(v);
      return rpc_error(
          400, jsonrpc::kUnsupportedProtocolVersion,
          "Unsupported protocol version '" + std::string(*version) +
              "' (supported: " + version_list(all_protocol_versions()) +
              "; versions before 2026-07-28 start with initialize)",
          id,
          json::value(json::object{{"supported", std::move(supported)}, {"requested", *version}}));
    }
    const json::object* meta = ::idp::json::find_object(m.params, "_meta");
    const json::string* meta_version =
        meta ? ::idp::json::find_string(*meta, meta_keys::kProtocolVersion) : nullptr;
    const json::object* caps =
        meta ? ::idp::json::find_object(*meta, meta_keys::kClientCapabilities) : nullptr;
    if (!meta_version || !caps) {
      std::string missing;
      if (!meta_version) missing += "\"io.modelcontextprotocol/protocolVersion\" (a string)";
      if (!caps) {
        if (!missing.empty()) missing += " and ";
        missing += "\"io.modelcontextprotocol/clientCapabilities\" (an object)";
      }
      return rpc_error(400, jsonrpc::kInvalidParams,
                       "Invalid params: params._meta must carry " + missing, id);
    }
    if (*meta_version != *version) {
      return rpc_error(400, jsonrpc::kHeaderMismatch,
                       "Header mismatch: MCP-Protocol-Version header '" + std::string(*version) +
                           "' does not match params._meta protocolVersion '" +
                           std::string(*meta_version) + "'",
                       id);
    }
    if (auto it = meta->find(meta_keys::kLogLevel); it != meta->end()) {
      auto* level = it->value().if_string();
      if (!level || !parse_log_level(*level)) {
        return rpc_error(400, jsonrpc::kInvalidParams,
                         "Invalid params: params._meta logLevel must be one of debug, info, "
                         "notice, warning, error, critical, alert, emergency",
                         id);
      }
    }
    auto method_header = header_value(req, "Mcp-Method");
    if (!method_header) {
      return rpc_error(400, jsonrpc::kHeaderMismatch,
                       "Header mismatch: the Mcp-Method header is missing (it must repeat the "
                       "body's method '" +
                           m.method + "')",
                       id);
    }
    if (*method_header != m.method) {
      return rpc_error(400, jsonrpc::kHeaderMismatch,
                       "Header mismatch: Mcp-Method header value '" + std::string(*method_header) +
                           "' does not match body method '" + m.method + "'",
                       id);
    }
    const char* name_field = m.method == "tools/call" || m.method == "prompts/get" ? "name"
                             : m.method == "resources/read"                        ? "uri"
                                                                                   : nullptr;
    const json::string* name =
        name_field ? ::idp::json::find_string(m.params, name_field) : nullptr;
    if (name) {
      auto raw = header_value(req, "Mcp-Name");
      if (!raw) {
        return rpc_error(400, jsonrpc::kHeaderMismatch,
                         "Header mismatch: the Mcp-Name header is missing (it must repeat params." +
                             std::string(name_field) + " '" + std::string(*name) + "')",
                         id);
      }
      auto decoded = decode_mirrored(*raw);
      if (!decoded) {
        return rpc_error(400, jsonrpc::kHeaderMismatch,
                         "Header mismatch: the Mcp-Name header value is malformed (invalid "
                         "characters or Base64)",
                         id);
      }
      if (*decoded != std::string_view(*name)) {
        return rpc_error(400, jsonrpc::kHeaderMismatch,
                         "Header mismatch: Mcp-Name header value '" + std::string(*raw) +
                             "' does not match body value '" + std::string(*name) + "'",
                         id);
      }
    }
    if (m.method == "tools/call" && name && core.tools_with_param_headers.load() > 0) {
      if (auto tool = core.find_tool(*name); tool && !tool->param_headers.empty()) {
        return check_param_headers(req, *tool, m);
      }
    }
    return std::nullopt;
  }

  // Mcp-Param-<name> headers of a tool's x-mcp-header parameters must mirror the arguments.
  static std::optional<http::Response> check_param_headers(const http::Request& req,
                                                           const detail::ToolEntry& tool,
                                                           const jsonrpc::Message& m) {
    const json::object* args = ::idp::json::find_object(m.params, "arguments");
    for (const auto& ph : tool.param_headers) {
      const json::value* v = nullptr;
      const json::object* at = args;
      for (const auto& key : ph.path) {
        if (!at) break;
        auto it = at->find(key);
        v = it == at->end() ? nullptr : &it->value();
        at = v ? v->if_object() : nullptr;
      }
      if (!v || v->is_null()) continue;  // no value: no header expected
      std::string header = "Mcp-Param-" + ph.header;
      std::string where = "arguments." + ph.path.front();
      for (std::size_t i = 1; i < ph.path.size(); ++i) where += "." + ph.path[i];
      auto raw = header_value(req, header);
      if (!raw) {
        return rpc_error(400, jsonrpc::kHeaderMismatch,
                         "Header mismatch: the " + header + " header is missing but " + where +
                             " has a value (see the tool's x-mcp-header annotations)",
                         m.id);
      }
      auto decoded = decode_mirrored(*raw);
      if (!decoded) {
        return rpc_error(400, jsonrpc::kHeaderMismatch,
                         "Header mismatch: the " + header +
                             " header value is malformed (invalid characters or Base64)",
                         m.id);
      }
      if (!mirrors(*decoded, *v)) {
        return rpc_error(400, jsonrpc::kHeaderMismatch,
                         "Header mismatch: " + header + " header value '" + std::string(*raw) +
                             "' does not match " + where + " " + json::serialize(*v),
                         m.id);
      }
    }
    return std::nullopt;
  }

  awaitable<void> handle_modern(const http::Request& req, http::Responder& res, jsonrpc::Message m,
                                Identity identity) {
    // This revision defines no client notifications over HTTP: accepted, nothing to do.
    if (!m.is_request()) {
      http::Response accepted = http::Response::empty(202);
      co_return co_await res.send(std::move(accepted));
    }
    log::trace("{} (MCP 2026-07-28, stateless)", m.method);
    if (auto r = validate_modern(req, m)) {
      log::debug("{} refused with HTTP {} (2026-07-28 request rules)", m.method, r->status);
      co_return co_await res.send(std::move(*r));
    }
    if (m.method == "subscriptions/listen") co_return co_await listen(res, std::move(m));
    if (!core.modern_method_available(m.method)) {
      std::string why =
          m.method == "initialize" || m.method == "ping" || m.method == "logging/setLevel" ||
                  m.method == "resources/subscribe" || m.method == "resources/unsubscribe"
              ? " (removed in protocol 2026-07-28)"
              : "";
      // Named, not a temporary in the co_await (GCC 12).
      http::Response not_found =
          rpc_error(404, jsonrpc::kMethodNotFound, "Method not found: " + m.method + why, m.id);
      co_return co_await res.send(std::move(not_found));
    }
    auto rs = new_request(nullptr, m, std::move(identity));
    rs->modern = true;
    rs->protocol_version =
        std::string(*::idp::json::find_string(rs->meta, meta_keys::kProtocolVersion));
    rs->client_capabilities = ::idp::json::find_object(rs->meta, meta_keys::kClientCapabilities);
    rs->client_info = ::idp::json::find_object(rs->meta, meta_keys::kClientInfo);
    if (auto* level = ::idp::json::find_string(rs->meta, meta_keys::kLogLevel)) {
      rs->min_log_level = static_cast<int>(*parse_log_level(*level));
    }
    co_await run_request(res, nullptr, std::move(rs), std::move(m), false);
  }

  // ---- subscriptions/listen (2026-07-28) ----

  // One open subscriptions/listen stream and the notifications it opted in to.
  struct Listener {
    explicit Listener(std::size_t capacity) : stream("l", capacity) {}
    EventStream stream;
    json::value id;  // the listen request's id: the subscription id
    bool tools = false, prompts = false, resources = false;
    std::set<std::string, std::less<>> uris;
  };
  std::mutex listeners_mu;
  std::vector<std::shared_ptr<Listener>> listeners;

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
    json::object caps = core.capabilities();
    auto l = std::make_shared<Listener>(opt.replay_events);
    l->id = m.id;
    json::object honored;
    auto wants = [&](std::string_view key) { return ::idp::json::find_bool(*filter, key) == true; };
    if (wants("toolsListChanged") && caps.contains("tools")) {
      l->tools = true;
      honored["toolsListChanged"] = true;
    }
    if (wants("promptsListChanged") && caps.contains("prompts")) {
      l->prompts = true;
      honored["promptsListChanged"] = true;
    }
    if (wants("resourcesListChanged") && caps.contains("resources")) {
      l->resources = true;
      honored["resourcesListChanged"] = true;
    }
    if (auto* uris = ::idp::json::find_array(*filter, "resourceSubscriptions");
        uris && caps.contains("resources")) {
      json::array kept;
      for (const auto& u : *uris) {
        if (!u.is_string()) continue;
        l->uris.emplace(u.get_string());
        kept.push_back(u);
      }
      honored["resourceSubscriptions"] = std::move(kept);
    }
    // The acknowledgement is the stream's first message.
    l->stream.push(jsonrpc::notification(
        "notifications/subscriptions/acknowledged",
        json::object{{"notifications", std::move(honored)},
                     {"_meta", json::object{{meta_keys::kSubscriptionId, l->id}}}}));
    {
      std::lock_guard lock(listeners_mu);
      listeners.push_back(l);
    }
    auto ex = co_await net::this_coro::executor;
    auto waker = std::make_shared<Notifier>(ex);
    l->stream.attach(waker);
    const std::string_view no_session;
    co_await start_sse(res, no_session, l->stream, false);
    bool alive = co_await pump(res, l->stream, *waker, 0, false, nullptr);
    l->stream.detach();
    {
      std::lock_guard lock(listeners_mu);
      std::erase(listeners, l);
    }
    if (alive) {
      // The server ends the subscription (shutdown): the listen request's result closes it.
      json::object meta{{meta_keys::kSubscriptionId, l->id}};
      if (core.options.server_info_in_results) meta[meta_keys::kServerInfo] = core.server_info;
      json::object result{{"resultType", kResultComplete}, {"_meta", std::move(meta)}};
      std::string frame = http::format_sse_event(jsonrpc::response(l->id, result));
      co_await res.write(frame);
    }
  }

  awaitable<void> run_request(http::Responder& res, std::shared_ptr<Session> session,
                              std::shared_ptr<RequestState> rs, jsonrpc::Message m, bool is_init) {
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

    net::co_spawn(ex, core.handle_request(session, rs, std::move(m)),
                  [session, stream, key = std::move(key), id = rs->id](
                      std::exception_ptr e, std::optional<std::string> response) {
                    if (e) {
                      std::string what = "internal error";
                      try {
                        std::rethrow_exception(e);
                      } catch (const std::exception& ex) {
                        what = ex.what();
                      }
                      log::error("request handler failed: {}", what);
                      response = jsonrpc::error_response(
                          id, {jsonrpc::kInternalError, "Internal error: " + what, std::nullopt});
                    }
                    stream->complete(std::move(response));
                    if (!key.empty()) {
                      std::lock_guard lock(session->mu);
                      session->in_flight.erase(key);
                    }
                  });

    // Let a quick handler finish first: then the answer goes out as plain JSON and nothing
    // else (no waker, no replay buffer) is needed.
    co_await net::post(ex, net::use_awaitable);
    bool sse = mode == StreamableHttpOptions::ResponseMode::kSse;
    std::shared_ptr<Notifier> waker;
    auto started = std::chrono::steady_clock::now();
    while (!sse) {
      if (stream->is_complete() && !stream->has_pending_events()) break;
      if (mode == StreamableHttpOptions::ResponseMode::kAuto &&
          (stream->has_pending_events() || stream->take(stream->last_seq(), false).close_requested)) {
        sse = true;
        break;
      }
      if (res.stopping() || stopping) break;
      if (!waker) {
        // Attach, then loop to re-check: anything pushed before the attach is seen then.
        waker = std::make_shared<Notifier>(ex);
        stream->attach(waker);
        continue;
      }
      bool woke = co_await waker->wait(opt.keepalive_interval);
      // A long request in auto mode switches to SSE so that keep-alives can flow.
      if (!woke && mode == StreamableHttpOptions::ResponseMode::kAuto &&
          std::chrono::steady_clock::now() - started >= opt.keepalive_interval) {
        sse = true;
      }
    }

    if (!sse) {
      if (waker) stream->detach();
      auto final_message = stream->take_final();
      if (!final_message) {
        if (stream->is_complete()) co_return co_await res.send(http::Response::empty(202));  // cancelled
        if (rs->modern) rs->cancel();
        co_return co_await res.send(
            rpc_error(503, jsonrpc::kConnectionClosed, "Service Unavailable: server is stopping"));
      }
      http::Response r = http::Response::json(rs->http_status, std::move(*final_message));
      if (is_init && stateful) r.headers.add("Mcp-Session-Id", session->id);
      co_return co_await res.send(std::move(r));
    }

    if (!waker) {
      waker = std::make_shared<Notifier>(ex);
      stream->attach(waker);
    }
    if (stateful) remember_stream(*session, stream);
    std::string_view session_header = is_init && stateful ? std::string_view(session->id) : "";
    co_await start_sse(res, session_header, *stream, stateful);
    bool alive = co_await pump(res, *stream, *waker, 0, stateful, session.get());
    stream->detach();
    // 2026-07-28: closing the response stream cancels the request (it cannot be resumed).
    if (rs->modern && (!alive || !stream->is_complete())) rs->cancel();
  }

  // A stream the client has seen stays replayable (Last-Event-ID) until newer ones push it out.
  void remember_stream(Session& session, const std::shared_ptr<EventStream>& stream) {
    std::lock_guard lock(session.mu);
    session.streams[stream->id()] = stream;
    session.stream_order.push_back(stream->id());
    while (session.stream_order.size() > opt.retained_streams) {
      session.streams.erase(session.stream_order.front());
      session.stream_order.pop_front();
    }
  }

  // ---- GET ----

  // Host/Origin/version checks and, for GET and DELETE, the stateless 405: the response to
  // send instead of handling the request, if any. Synchronous: it runs for every request.
  std::optional<http::Response> precheck(const http::Request& req, bool needs_session) const {
    if (auto r = check_host_origin(req)) return r;
    if (!needs_session) return std::nullopt;
    if (opt.stateless || is_modern_get_or_delete(req)) {
      http::Response r = rpc_error(
          405, jsonrpc::kConnectionClosed,
          opt.stateless ? "Method Not Allowed: this server is stateless; use POST"
                        : "Method Not Allowed: protocol 2026-07-28 has no GET stream and no "
                          "sessions; use POST (subscriptions/listen for notifications)");
      r.headers.add("Allow", "POST");
      return r;
    }
    return check_legacy_version(req);
  }

  awaitable<void> handle_get(const http::Request& req, http::Responder& res) {
    if (auto r = precheck(req, true)) co_return co_await res.send(std::move(*r));
    if (opt.authenticate) {
      auto who = co_await opt.authenticate(req);
      if (!who) co_return co_await res.send(std::move(who.error()));
    }
    if (!accepts(req.header("Accept").value_or(""), "text/event-stream")) {
      co_return co_await res.send(rpc_error(406, jsonrpc::kConnectionClosed,
                                            "Not Acceptable: GET needs Accept: text/event-stream"));
    }
    auto found = find_session(req);
    if (!found) co_return co_await res.send(std::move(found.error()));
    std::shared_ptr<Session> session = std::move(*found);
    auto ex = co_await net::this_coro::executor;

    std::shared_ptr<EventStream> stream;
    std::uint64_t after = 0;
    bool resuming = false;
    if (auto last = req.header("Last-Event-ID")) {
      auto sep = last->rfind('_');
      std::string_view sid = sep == std::string_view::npos ? *last : last->substr(0, sep);
      std::string_view seq = sep == std::string_view::npos ? "" : last->substr(sep + 1);
      auto [p, ec] = std::from_chars(seq.data(), seq.data() + seq.size(), after);
      {
        std::lock_guard lock(session->mu);
        if (sid == "g") {
          stream = session->standalone;
        } else if (auto it = session->streams.find(sid); it != session->streams.end()) {
          stream = it->second;
        }
      }
      if (!stream || ec != std::errc() || p != seq.data() + seq.size()) {
        co_return co_await res.send(rpc_error(
            404, jsonrpc::kConnectionClosed,
            "Not Found: Last-Event-ID '" + std::string(*last) + "' names no stream of this session"));
      }
      resuming = true;
    } else {
      std::lock_guard lock(session->mu);
      stream = session->standalone;
      after = stream->last_seq();
    }
    auto waker = std::make_shared<Notifier>(ex);
    if (!stream->attach(waker)) {
      co_return co_await res.send(rpc_error(
          409, jsonrpc::kConnectionClosed,
          "Conflict: this stream is already being delivered on another connection"));
    }
    if (resuming && stream->take(after, false).lost) {
      log::warn("Last-Event-ID replay for stream {} is incomplete: older events were dropped",
                stream->id());
    }
    const std::string_view no_session;
    co_await start_sse(res, no_session, *stream, !resuming);
    co_await pump(res, *stream, *waker, after, true, session.get());
    stream->detach();
  }

  // ---- DELETE ----

  awaitable<void> handle_delete(const http::Request& req, http::Responder& res) {
    if (auto r = precheck(req, true)) co_return co_await res.send(std::move(*r));
    if (opt.authenticate) {
      auto who = co_await opt.authenticate(req);
      if (!who) co_return co_await res.send(std::move(who.error()));
    }
    auto found = find_session(req);
    if (!found) co_return co_await res.send(std::move(found.error()));
    {
      std::lock_guard lock(mu);
      sessions.erase((*found)->id);
    }
    end_session(*found);
    log::debug("session {}... ended by the client", (*found)->id.substr(0, 8));
    co_return co_await res.send(http::Response::empty(200));
  }

  // ---- housekeeping ----

  void start_sweeper(net::any_io_executor ex) {
    if (sweeper_started.exchange(true)) return;
    net::co_spawn(ex, sweep(shared_from_this()), [](std::exception_ptr) {});
  }

  static awaitable<void> sweep(std::shared_ptr<Impl> self) {
    net::steady_timer timer(co_await net::this_coro::executor);
    auto period = std::min<std::chrono::steady_clock::duration>(
        std::chrono::seconds(30), self->opt.session_idle_timeout / 2 + std::chrono::milliseconds(1));
    while (!self->stopping) {
      timer.expires_after(std::min<std::chrono::steady_clock::duration>(period, std::chrono::seconds(1)));
      co_await timer.async_wait(net::as_tuple(net::use_awaitable));
      std::int64_t limit =
          now_ns() - std::chrono::duration_cast<std::chrono::nanoseconds>(self->opt.session_idle_timeout).count();
      std::vector<std::shared_ptr<Session>> expired;
      {
        std::lock_guard lock(self->mu);
        for (auto it = self->sessions.begin(); it != self->sessions.end();) {
          Session& s = *it->second;
          bool busy;
          {
            std::lock_guard slock(s.mu);
            busy = !s.in_flight.empty() || (s.standalone && s.standalone->attached());
          }
          if (!busy && s.last_used_ns.load() < limit) {
            expired.push_back(it->second);
            it = self->sessions.erase(it);
          } else {
            ++it;
          }
        }
      }
      for (auto& s : expired) {
        log::debug("session {}... expired after inactivity", s->id.substr(0, 8));
        self->end_session(s);
      }
    }
  }

  void on_stop() {
    stopping = true;
    {
      std::lock_guard lock(listeners_mu);
      for (auto& l : listeners) l->stream.request_close();
    }
    std::vector<std::shared_ptr<Session>> all;
    {
      std::lock_guard lock(mu);
      for (auto& [k, s] : sessions) all.push_back(s);
    }
    for (auto& s : all) {
      std::lock_guard lock(s->mu);
      for (auto& [k, st] : s->streams) st->request_close();
      if (s->standalone) s->standalone->request_close();
    }
  }

  // Delivers a change notification to the subscriptions/listen streams that opted in to it,
  // tagged with each stream's subscription id.
  void notify_listeners(std::string_view method, const json::object& params,
                        std::string_view only_subscribed_uri) {
    std::vector<std::shared_ptr<Listener>> targets;
    {
      std::lock_guard lock(listeners_mu);
      for (auto& l : listeners) {
        bool wanted = method == "notifications/tools/list_changed"       ? l->tools
                      : method == "notifications/prompts/list_changed"   ? l->prompts
                      : method == "notifications/resources/list_changed" ? l->resources
                      : method == "notifications/resources/updated"
                          ? l->uris.contains(only_subscribed_uri)
                          : false;
        if (wanted) targets.push_back(l);
      }
    }
    for (auto& l : targets) {
      json::object tagged = params;
      json::object meta;
      if (auto* m = ::idp::json::find_object(params, "_meta")) meta = *m;
      meta[meta_keys::kSubscriptionId] = l->id;
      tagged["_meta"] = std::move(meta);
      l->stream.push(jsonrpc::notification(method, tagged));
    }
  }

  void on_broadcast(std::string_view method, const json::object& params,
                    std::string_view only_subscribed_uri) {
    notify_listeners(method, params, only_subscribed_uri);
    std::string message = jsonrpc::notification(method, params);
    std::vector<std::shared_ptr<Session>> all;
    {
      std::lock_guard lock(mu);
      for (auto& [k, s] : sessions) all.push_back(s);
    }
    for (auto& s : all) {
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
  const std::string& host = http.options().host;
  impl_->loopback_bind = http::is_loopback_host(host);
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

std::size_t StreamableHttpServer::session_count() const {
  std::lock_guard lock(impl_->mu);
  return impl_->sessions.size();
}

}  // namespace idp::mcp
