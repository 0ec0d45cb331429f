#include "idp/mcp/client.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <atomic>
#include <cmath>
#include <map>
#include <mutex>
#include <set>

#include "idp/core/json_util.h"
#include "idp/core/log.h"
#include "idp/core/random.h"
#include "idp/http/sse_parser.h"
#include "idp/http/url_policy.h"
#include "idp/mcp/jsonrpc.h"

namespace idp::mcp {

namespace net = boost::asio;
using net::awaitable;
using namespace net::experimental::awaitable_operators;

// ---- small pieces -----------------------------------------------------------------------------

awaitable<Result<Secret>> StaticTokenProvider::token(bool) { co_return token_; }

namespace {

std::string excerpt(std::string_view body) {
  std::string out;
  for (char c : body.substr(0, 200)) out += (c == '\n' || c == '\r') ? ' ' : c;
  if (body.size() > 200) out += "...";
  return out;
}

constexpr std::string_view kVersions[] = {"2025-11-25", "2025-06-18", "2025-03-26"};

// ---- the modern (stateless) era, 2026-07-28 ----

constexpr std::string_view kModernVersion = "2026-07-28";
constexpr std::string_view kMetaProtocolVersion = "io.modelcontextprotocol/protocolVersion";
constexpr std::string_view kMetaClientCapabilities = "io.modelcontextprotocol/clientCapabilities";
constexpr std::string_view kMetaClientInfo = "io.modelcontextprotocol/clientInfo";
constexpr std::string_view kMetaServerInfo = "io.modelcontextprotocol/serverInfo";
constexpr std::string_view kMetaLogLevel = "io.modelcontextprotocol/logLevel";
constexpr int kHeaderMismatch = -32020;
constexpr int kMissingClientCapability = -32021;
constexpr int kUnsupportedProtocolVersion = -32022;

// A header value as the transport carries it: plain when it is visible ASCII and spaces without
// leading or trailing whitespace, else `=?base64?<UTF-8 as base64>?=` (also for a plain value
// that looks like that sentinel).
std::string header_value(std::string_view v) {
  bool plain = true;
  for (unsigned char c : v) plain = plain && c >= 0x20 && c <= 0x7E;
  if (plain && !v.empty() && (v.front() == ' ' || v.back() == ' ')) plain = false;
  if (plain && v.starts_with("=?base64?") && v.ends_with("?=")) plain = false;
  if (plain) return std::string(v);
  return "=?base64?" + base64_encode(v) + "?=";
}

// HTTP field-name token characters (RFC 9110 tchar).
bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

// One x-mcp-header annotation of a tool: Mcp-Param-<name> mirrors the argument at `path`.
struct ParamHeader {
  std::string name;
  std::vector<std::string> path;
};

// Collects the x-mcp-header annotations of an inputSchema; an error says why the tool must be
// rejected (annotation not statically reachable through `properties`, empty, not a token, on a
// non-primitive or number property, or duplicated case-insensitively).
Result<std::vector<ParamHeader>> param_headers(const json::object& schema) {
  std::vector<ParamHeader> out;
  std::optional<std::string> problem;
  std::function<void(const json::object&, bool, std::vector<std::string>&)> walk =
      [&](const json::object& node, bool reachable, std::vector<std::string>& path) {
        if (problem) return;
        if (auto it = node.find("x-mcp-header"); it != node.end()) {
          const json::string* name = it->value().if_string();
          const json::string* type = ::idp::json::find_string(node, "type");
          if (!reachable || path.empty()) {
            problem = "x-mcp-header is only allowed on properties reached through `properties` alone";
          } else if (!name || !is_token(*name)) {
            problem = "x-mcp-header of '" + path.back() + "' must be a non-empty HTTP token";
          } else if (!type || (*type != "string" && *type != "integer" && *type != "boolean")) {
            problem = "x-mcp-header of '" + path.back() + "' is on a property that is not a string, "
                      "integer or boolean";
          } else {
            for (const auto& h : out) {
              if (http::iequals(h.name, *name)) problem = "x-mcp-header '" + std::string(*name) + "' is used twice";
            }
            if (!problem) out.push_back({std::string(*name), path});
          }
          if (problem) return;
        }
        for (const auto& [key, value] : node) {
          if (key == "properties" && value.is_object()) {
            for (const auto& [prop, sub] : value.get_object()) {
              if (!sub.is_object()) continue;
              path.emplace_back(prop);
              walk(sub.get_object(), reachable, path);
              path.pop_back();
            }
          } else if (key == "enum" || key == "const" || key == "default" || key == "examples") {
            continue;  // values, not schemas
          } else if (value.is_object()) {
            std::vector<std::string> none;
            walk(value.get_object(), false, none);
          } else if (value.is_array()) {
            for (const auto& item : value.get_array()) {
              std::vector<std::string> none;
              if (item.is_object()) walk(item.get_object(), false, none);
            }
          }
          if (problem) return;
        }
      };
  std::vector<std::string> root;
  walk(schema, true, root);
  if (problem) return make_error(ErrorCode::kProtocol, *problem);
  return out;
}

// The Mcp-Param-* value of one argument: strings as they are, integers in decimal, booleans as
// true/false; nothing for null, absent or other values.
std::optional<std::string> param_value(const json::value& v) {
  if (v.is_string()) return header_value(v.get_string());
  if (v.is_bool()) return std::string(v.get_bool() ? "true" : "false");
  if (v.is_int64()) return std::to_string(v.get_int64());
  if (v.is_uint64()) return std::to_string(v.get_uint64());
  if (v.is_double()) {
    double d = v.get_double();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) <= 9007199254740991.0) {
      return std::to_string(static_cast<std::int64_t>(d));
    }
  }
  return std::nullopt;
}

// What auto negotiation learned about a server, by URL, for the life of the process.
struct EraCache {
  std::mutex mu;
  std::map<std::string, ProtocolEra, std::less<>> eras;
};
EraCache& era_cache() {
  static EraCache cache;
  return cache;
}
std::optional<ProtocolEra> remembered_era(const std::string& url) {
  auto& c = era_cache();
  std::lock_guard lock(c.mu);
  auto it = c.eras.find(url);
  if (it == c.eras.end()) return std::nullopt;
  return it->second;
}
void remember_era(const std::string& url, ProtocolEra era) {
  auto& c = era_cache();
  std::lock_guard lock(c.mu);
  if (c.eras.size() >= 4096) c.eras.clear();  // a bound; forgetting only costs a probe
  c.eras[url] = era;
}
void forget_era(const std::string& url) {
  auto& c = era_cache();
  std::lock_guard lock(c.mu);
  c.eras.erase(url);
}

}  // namespace

std::string_view to_string(ProtocolEra era) {
  switch (era) {
    case ProtocolEra::kModern: return "modern";
    case ProtocolEra::kLegacy: return "legacy";
    case ProtocolEra::kAuto: break;
  }
  return "auto";
}

void forget_protocol_eras() {
  auto& c = era_cache();
  std::lock_guard lock(c.mu);
  c.eras.clear();
}

Result<void> check_url_policy(std::string_view url) {
  auto checked = http::check_url(url, "MCP server URL");
  if (checked) return {};
  // The decision is http::check_url's; for its most common refusal (plain http:// to a remote
  // host) the message also names the host, as users of this function have always seen it.
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (parsed && parsed->scheme_id() == boost::urls::scheme::http && parsed->has_authority() &&
      !parsed->has_userinfo()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "refusing plain http:// to " + std::string(parsed->encoded_host()) + ": " +
                          checked.error().message());
  }
  return std::unexpected(checked.error());
}

// ---- the session ------------------------------------------------------------------------------

struct Client::Impl : std::enable_shared_from_this<Client::Impl> {
  Impl(net::any_io_executor ex, std::string u, ClientOptions o)
      : executor(ex), url(std::move(u)), opt(std::move(o)), http(ex, opt.http) {}

  net::any_io_executor executor;
  std::string url;
  ClientOptions opt;
  http::Client http;

  std::string protocol_version;
  std::string session_id;
  Implementation server_info;
  json::object server_capabilities;
  std::string instructions;
  std::atomic<std::int64_t> next_id{1};
  std::optional<Secret> token;
  bool connected = false;
  // The era in use: true once server/discover found 2026-07-28 (and during the probe).
  bool modern = false;

  // list_tools() results within their ttlMs, and the x-mcp-header annotations of the last
  // listing (modern era), by tool name.
  std::optional<std::vector<Tool>> tools_cache;
  std::chrono::steady_clock::time_point tools_cache_until;
  std::map<std::string, std::vector<ParamHeader>, std::less<>> tool_headers;

  // What one request's exchange ended with.
  struct Outcome {
    enum Kind { kDone, kAccepted, kSessionGone, kUnauthorized, kFailed } kind = kFailed;
    json::value result;   // kDone
    Error error{ErrorCode::kInternal, "no outcome"};
    int status = 0;                         // the HTTP status, when one arrived
    std::optional<jsonrpc::RpcError> rpc;   // a JSON-RPC error answer (any status)
  };
  // What a failed request ended with, for callers that classify failures (the era probe).
  struct Failure {
    int status = 0;
    std::optional<jsonrpc::RpcError> rpc;
  };

  // Per-request state seen by the stream handlers and the watchdog.
  struct Call {
    json::value id;
    http::Headers extra;  // modern era: Mcp-Method, Mcp-Name, Mcp-Param-*
    std::optional<json::value> progress_token;
    CallOptions options;
    std::chrono::steady_clock::time_point deadline;
    std::chrono::steady_clock::time_point hard_deadline;
    std::chrono::milliseconds timeout{0};
    bool timed_out = false;
    bool cancelled = false;
    // Without progress or cancellation the deadline never moves: the HTTP layer enforces it and
    // no watchdog coroutine is needed (the common, fast case).
    bool watchdog = false;
    std::chrono::milliseconds remaining() const {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      return std::max(left, std::chrono::milliseconds(1));
    }
    std::optional<json::value> result;
    std::optional<jsonrpc::RpcError> rpc_error;
  };

  std::string where(std::string_view method) const { return std::string(method) + " " + url; }

  awaitable<http::Headers> headers(bool with_session) {
    http::Headers h = opt.headers;
    h.set("Content-Type", "application/json");
    h.set("Accept", "application/json, text/event-stream");
    if (!protocol_version.empty()) h.set("MCP-Protocol-Version", protocol_version);
    if (with_session && !session_id.empty()) h.set("Mcp-Session-Id", session_id);
    if (opt.token_provider) {
      // Asked every time: the provider caches and refreshes before expiry. When it fails, the
      // last token goes out (the server's 401 then tells the caller).
      auto t = co_await opt.token_provider->token(false);
      if (t) token = std::move(*t);
      else log::warn("{}: no token: {}", url, t.error().message());
      if (token) h.set("Authorization", "Bearer " + token->reveal());
    }
    co_return h;
  }

  // Handles one JSON-RPC message that arrived on a stream of `call`.
  void on_message(Call& call, std::string_view text) {
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
    if (modern) {
      // 2026-07-28 has no server-to-client requests on streams (they come as MRTR input
      // requests), and a client may not POST responses: nothing sensible to do with it.
      log::warn("{}: ignoring a server request ({}) on a 2026-07-28 stream", url, m->method);
      return;
    }
    answer_server_request(std::move(*m));
  }

  // Calls waiting for progress, by progress token: progress may arrive on another stream (the
  // standalone one) than the call's own.
  std::map<std::string, Call*> progress_calls;

  void on_notification(Call& stream_call, const jsonrpc::Message& m) {
    if (m.method == "notifications/progress") {
      auto it = m.params.find("progressToken");
      if (it == m.params.end()) return;
      auto found = progress_calls.find(jsonrpc::id_key(it->value()));
      if (found == progress_calls.end()) return;
      Call& call = *found->second;
      (void)stream_call;
      // Progress resets the timeout, never past the hard maximum.
      call.deadline = std::min(std::chrono::steady_clock::now() + call.timeout, call.hard_deadline);
      if (call.options.on_progress) {
        double progress = ::idp::json::find_number(m.params, "progress").value_or(0);
        auto total = ::idp::json::find_number(m.params, "total");
        auto* message = ::idp::json::find_string(m.params, "message");
        call.options.on_progress(progress, total, message ? std::string_view(*message) : "");
      }
    } else if (m.method == "notifications/message") {
      if (opt.hooks.log) opt.hooks.log(m.params);
    } else if (m.method == "notifications/tools/list_changed") {
      tools_cache.reset();
      if (opt.hooks.tools_changed) opt.hooks.tools_changed();
    }
  }

  // Server-to-client requests are answered on their own POST, concurrently with the stream.
  void answer_server_request(jsonrpc::Message m) {
    net::co_spawn(executor, answer(shared_from_this(), std::move(m)), net::detached);
  }

  static void fill_defaults(const json::object& params, json::value& answer) {
    auto* a = answer.if_object();
    if (!a) return;
    auto action = a->find("action");
    if (action == a->end() || !action->value().is_string() || action->value().get_string() != "accept") {
      return;
    }
    const json::object* schema = ::idp::json::find_object(params, "requestedSchema");
    const json::object* props = schema ? ::idp::json::find_object(*schema, "properties") : nullptr;
    if (!props) return;
    json::value& content = (*a)["content"];
    if (!content.is_object()) content = json::object{};
    for (const auto& [name, prop] : *props) {
      const auto* p = prop.if_object();
      if (!p) continue;
      auto def = p->find("default");
      if (def != p->end() && !content.get_object().contains(name)) {
        content.get_object()[name] = def->value();
      }
    }
  }

  // Runs the hook of a server-to-client request: one sent on a legacy stream, or an input request
  // of a modern InputRequiredResult. `handled` is false when this client has no hook for it.
  awaitable<Result<json::value>> fulfil(const std::string& method, const json::object& params,
                                        bool& handled) {
    handled = true;
    if (method == "ping") co_return json::value(json::object{});
    if (method == "sampling/createMessage" && opt.hooks.sampling) {
      co_return co_await opt.hooks.sampling(params);
    }
    if (method == "elicitation/create" && opt.hooks.elicitation) {
      Result<json::value> r = co_await opt.hooks.elicitation(params);
      if (r) fill_defaults(params, *r);
      co_return r;
    }
    if (method == "roots/list") {
      if (opt.hooks.roots) co_return co_await opt.hooks.roots(params);
      co_return json::value(json::object{{"roots", json::array{}}});
    }
    handled = false;
    co_return make_error(ErrorCode::kNotFound, "Method not supported by this client: " + method);
  }

  static awaitable<void> answer(std::shared_ptr<Impl> self, jsonrpc::Message m) {
    bool handled = false;
    Result<json::value> result = co_await self->fulfil(m.method, m.params, handled);
    int error_code = handled ? jsonrpc::kInternalError : jsonrpc::kMethodNotFound;
    std::string body;
    if (result) {
      body = jsonrpc::response(m.id, *result);
    } else {
      std::string message = error_code == jsonrpc::kMethodNotFound
                                ? "Method not supported by this client: " + m.method
                                : result.error().message();
      body = jsonrpc::error_response(m.id, {error_code, message, std::nullopt});
    }
    auto posted = co_await self->post_message(std::move(body), "reply to " + m.method);
    if (!posted) log::warn("{}", posted.error().message());
  }

  static awaitable<void> notify_cancelled(std::shared_ptr<Impl> self, std::string body) {
    auto sent = co_await self->post_message(std::move(body), "notifications/cancelled",
                                            std::chrono::seconds(5));
    if (!sent) log::debug("{}", sent.error().message());
  }

  // POSTs a notification or a response; expects 202 (200 tolerated).
  awaitable<Result<void>> post_message(std::string body, std::string what,
                                       std::optional<std::chrono::milliseconds> timeout = {}) {
    http::ClientRequest req;
    req.method = "POST";
    req.url = legacy() ? post_url : url;
    req.headers = co_await headers(!legacy());
    req.body = std::move(body);
    req.timeout = timeout;
    auto r = co_await http.request(std::move(req));
    if (!r) co_return std::unexpected(r.error().with_context(what));
    if (r->status != 202 && r->status != 200) {
      co_return make_error(ErrorCode::kProtocol, what + ": " + url + " answered HTTP " +
                                                     std::to_string(r->status) + ": " +
                                                     excerpt(r->body));
    }
    co_return Result<void>{};
  }

  // The error for an HTTP 401: what the server's challenge says and what to do about it.
  Error unauthorized(std::string_view method, std::string_view challenge, bool had_token) const {
    std::string msg = where(method) + ": HTTP 401: ";
    msg += had_token ? "the server rejected the bearer token"
                     : "the server requires a bearer token and none was sent (give the agent Cognito "
                       "credentials, or --token-env / the Cognito options on the command line)";
    if (!challenge.empty()) {
      std::string shown(challenge.substr(0, 300));
      for (char& ch : shown) {
        if (static_cast<unsigned char>(ch) < 0x20) ch = ' ';
      }
      msg += "; WWW-Authenticate: " + shown;
    }
    return Error(ErrorCode::kUnauthenticated, std::move(msg));
  }

  // One HTTP exchange for a request, including SSE resumption. Never throws.
  awaitable<Outcome> exchange(const std::string& body, Call& call, std::string_view method) {
    Outcome out;
    http::ClientRequest req;
    req.method = "POST";
    req.url = url;
    req.headers = co_await headers(method != "initialize");
    for (const auto& [name, value] : call.extra.items()) req.headers.set(name, value);
    const bool req_had_token = req.headers.get("Authorization").has_value();
    req.body = body;
    req.read_timeout = call.timeout;
    if (!call.watchdog) req.timeout = call.remaining();

    int status = 0;
    std::string content_type;
    std::string challenge;  // WWW-Authenticate of a 401
    std::string text;  // a JSON body
    std::size_t cap = opt.http.max_response_bytes;
    bool too_big = false;
    http::SseParser parser;
    bool sse = false;
    auto on_head = [&](const http::ClientResponse& head) {
      status = head.status;
      content_type = std::string(head.headers.get("Content-Type").value_or(""));
      sse = content_type.starts_with("text/event-stream");
      if (status == 401) challenge = std::string(head.headers.get("WWW-Authenticate").value_or(""));
      if (method == "initialize" && status == 200) {
        if (auto sid = head.headers.get("Mcp-Session-Id")) session_id = std::string(*sid);
      }
    };
    auto on_chunk = [&](std::string_view chunk) {
      if (sse && status == 200) {
        for (auto& ev : parser.feed(chunk)) {
          if (!ev.data.empty()) on_message(call, ev.data);
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
    auto st = co_await http.stream(std::move(req), on_head, on_chunk);
    if (!st) {
      out.error = st.error().with_context(std::string(method));
      co_return out;
    }
    out.status = status;
    if (status == 404 && !session_id.empty() && method != "initialize") {
      out.kind = Outcome::kSessionGone;
      co_return out;
    }
    if (status == 401) {
      out.kind = Outcome::kUnauthorized;
      out.error = unauthorized(method, challenge, req_had_token);
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
    if (status != 200) {
      std::string detail = excerpt(text);
      if (auto j = ::idp::json::parse(text); j && j->is_object()) {
        if (auto* e = ::idp::json::find_object(j->get_object(), "error")) {
          if (auto* msg = ::idp::json::find_string(*e, "message")) detail = std::string(*msg);
          auto code = e->find("code");
          if (code != e->end() && code->value().is_int64()) {
            jsonrpc::RpcError rpc;
            rpc.code = static_cast<int>(code->value().get_int64());
            rpc.message = detail;
            if (auto data = e->find("data"); data != e->end()) rpc.data = data->value();
            out.rpc = std::move(rpc);
          }
        }
      }
      out.error = Error(status == 403 ? ErrorCode::kPermissionDenied : ErrorCode::kProtocol,
                        where(method) + ": HTTP " + std::to_string(status) +
                            (detail.empty() ? "" : ": " + detail));
      co_return out;
    }
    if (sse) {
      if (parser.failed()) {
        out.error = parser.error()->with_context(where(method));
        co_return out;
      }
      // The stream ended before the answer: resume it (SEP-1699) with Last-Event-ID.
      int attempts = 0;
      while (!call.result && !call.rpc_error) {
        if (modern) {
          out.error = Error(ErrorCode::kProtocol,
                            where(method) + ": the SSE stream ended before the response (a 2026-07-28 "
                                            "stream cannot be resumed)");
          co_return out;
        }
        if (parser.last_event_id().empty() || session_id.empty()) {
          out.error = Error(ErrorCode::kProtocol,
                            where(method) + ": the SSE stream ended before the response and cannot "
                                            "be resumed (no event id)");
          co_return out;
        }
        if (++attempts > opt.max_reconnects) {
          out.error = Error(ErrorCode::kUnavailable,
                            where(method) + ": the SSE stream was lost " +
                                std::to_string(attempts - 1) + " times; giving up");
          co_return out;
        }
        auto delay = std::chrono::milliseconds(parser.retry_ms().value_or(
            static_cast<int>(opt.default_retry.count())));
        delay = std::min(delay * (1 << std::min(attempts - 1, 4)), std::chrono::milliseconds(30'000));
        net::steady_timer timer(executor, delay);
        co_await timer.async_wait(net::use_awaitable);
        http::ClientRequest get;
        get.method = "GET";
        get.url = url;
        get.headers = co_await headers(true);
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
            if (!ev.data.empty()) on_message(call, ev.data);
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
          out.error = Error(ErrorCode::kProtocol, where(method) + ": resuming the SSE stream got HTTP " +
                                                      std::to_string(get_status));
          co_return out;
        }
      }
    } else {
      if (!content_type.starts_with("application/json")) {
        out.error = Error(ErrorCode::kProtocol,
                          where(method) + ": expected application/json or text/event-stream, got '" +
                              content_type + "': " + excerpt(text));
        co_return out;
      }
      auto j = ::idp::json::parse(text);
      if (!j) {
        out.error = Error(ErrorCode::kProtocol,
                          where(method) + ": the response is not JSON (" + j.error().message() + ")");
        co_return out;
      }
      auto m = jsonrpc::parse(std::move(*j));
      if (!m || !m->is_response()) {
        out.error = Error(ErrorCode::kProtocol,
                          where(method) + ": the response is not a JSON-RPC response: " + excerpt(text));
        co_return out;
      }
      if (jsonrpc::id_key(m->id) != jsonrpc::id_key(call.id)) {
        out.error = Error(ErrorCode::kProtocol, where(method) + ": the response answers another request (id " +
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
      out.rpc = call.rpc_error;
      out.error = Error(ErrorCode::kProtocol,
                        where(method) + ": " + call.rpc_error->message + " (JSON-RPC error " +
                            std::to_string(call.rpc_error->code) + ")");
      co_return out;
    }
    out.kind = Outcome::kDone;
    out.result = std::move(*call.result);
    co_return out;
  }

  // ---- the legacy HTTP+SSE transport (2024-11-05) ----

  bool legacy() const { return opt.transport == ClientOptions::Transport::kLegacySse; }
  std::string post_url;  // from the stream's `endpoint` event
  bool legacy_lost = false;
  struct Waiter {
    Call* call;
    std::shared_ptr<net::steady_timer> wake;
  };
  std::map<std::string, Waiter> waiters;  // by id_key of the request

  void legacy_message(std::string_view text) {
    auto parsed = ::idp::json::parse(text);
    if (!parsed) return;
    auto m = jsonrpc::parse(std::move(*parsed));
    if (!m) return;
    if (m->is_response()) {
      auto it = waiters.find(jsonrpc::id_key(m->id));
      if (it == waiters.end()) return;
      if (m->kind == jsonrpc::Message::Kind::kResponse) {
        it->second.call->result = std::move(m->result);
      } else {
        it->second.call->rpc_error = m->error;
      }
      it->second.wake->cancel();
      return;
    }
    if (m->is_notification()) {
      Call none;  // progress finds its call by token
      on_notification(none, *m);
      return;
    }
    answer_server_request(std::move(*m));
  }

  std::string resolve_endpoint(std::string_view endpoint) {
    auto base = boost::urls::parse_uri(url);
    auto ref = boost::urls::parse_uri_reference(endpoint);
    if (!base || !ref) return {};
    boost::urls::url out;
    if (!boost::urls::resolve(*base, *ref, out)) return {};
    // Messages go to the same origin only: an endpoint elsewhere would leak the token.
    if (out.scheme() != base->scheme() || out.encoded_host_and_port() != base->encoded_host_and_port()) {
      return {};
    }
    return std::string(out.buffer());
  }

  static awaitable<void> legacy_listen(std::shared_ptr<Impl> self,
                                       std::shared_ptr<net::steady_timer> ready) {
    http::SseParser parser;
    http::ClientRequest get;
    get.method = "GET";
    get.url = self->url;
    get.headers = co_await self->headers(false);
    get.headers.set("Accept", "text/event-stream");
    get.headers.erase("Content-Type");
    get.read_timeout = std::chrono::minutes(10);
    int status = 0;
    auto on_head = [&](const http::ClientResponse& head) { status = head.status; };
    auto on_chunk = [&](std::string_view chunk) {
      if (status != 200 || self->closing) return false;
      for (auto& ev : parser.feed(chunk)) {
        if (ev.event == "endpoint") {
          self->post_url = self->resolve_endpoint(ev.data);
          if (self->post_url.empty()) {
            log::warn("{}: ignoring the endpoint '{}' (not a URL of the same origin)", self->url, ev.data);
          }
          ready->cancel();
        } else if (!ev.data.empty()) {
          self->legacy_message(ev.data);
        }
      }
      return !parser.failed();
    };
    auto stop = self->listen_stop;
    auto raced = co_await (self->http.stream(std::move(get), on_head, on_chunk) || self->wait_stop(stop));
    if (raced.index() == 0) {
      auto& r = std::get<0>(raced);
      self->legacy_status = r ? *r : -1;
      if (!r) self->legacy_error = r.error().message();
    }
    self->legacy_lost = true;
    ready->cancel();
    for (auto& [key, w] : self->waiters) w.wake->cancel();  // they see legacy_lost
  }
  int legacy_status = 0;
  std::string legacy_error;

  awaitable<Result<void>> legacy_open() {
    closing = false;
    legacy_lost = false;
    post_url.clear();
    listen_stop = std::make_shared<net::steady_timer>(executor, std::chrono::steady_clock::time_point::max());
    auto ready = std::make_shared<net::steady_timer>(executor, opt.timeout);
    net::co_spawn(executor, legacy_listen(shared_from_this(), ready), net::detached);
    co_await ready->async_wait(net::as_tuple(net::use_awaitable));
    if (!post_url.empty()) co_return Result<void>{};
    if (legacy_lost) {
      std::string why = !legacy_error.empty() ? legacy_error
                        : legacy_status ? "HTTP " + std::to_string(legacy_status)
                                        : "the stream ended";
      co_return make_error(ErrorCode::kUnavailable, "GET " + url + " (legacy SSE stream): " + why);
    }
    co_return make_error(ErrorCode::kProtocol, "GET " + url +
                                                   ": the SSE stream sent no usable `endpoint` event");
  }

  awaitable<Outcome> exchange_legacy(const std::string& body, Call& call, std::string_view method) {
    Outcome out;
    if (legacy_lost || post_url.empty()) {
      out.error = Error(ErrorCode::kUnavailable, where(method) + ": the SSE stream is closed; reconnect");
      co_return out;
    }
    std::string key = jsonrpc::id_key(call.id);
    auto wake = std::make_shared<net::steady_timer>(executor);
    waiters[key] = Waiter{&call, wake};
    struct Erase {
      Impl* impl;
      std::string key;
      ~Erase() { impl->waiters.erase(key); }
    } erase{this, key};
    http::ClientRequest req;
    req.method = "POST";
    req.url = post_url;
    req.headers = co_await headers(false);
    req.body = body;
    auto r = co_await http.request(std::move(req));
    if (!r) {
      out.error = r.error().with_context(std::string(method));
      co_return out;
    }
    if (r->status == 401) {
      out.kind = Outcome::kUnauthorized;
      std::string challenge(r->headers.get("WWW-Authenticate").value_or(""));
      out.error = unauthorized(method, challenge, opt.token_provider != nullptr);
      co_return out;
    }
    if (r->status != 202 && r->status != 200) {
      out.error = Error(ErrorCode::kProtocol, where(method) + ": POST " + post_url + " answered HTTP " +
                                                  std::to_string(r->status) + ": " + excerpt(r->body));
      co_return out;
    }
    while (!call.result && !call.rpc_error && !legacy_lost) {
      if (!call.watchdog && std::chrono::steady_clock::now() >= call.deadline) {
        out.error = Error(ErrorCode::kTimeout, where(method) + ": timed out");
        co_return out;
      }
      wake->expires_at(call.watchdog ? std::chrono::steady_clock::time_point::max() : call.deadline);
      co_await wake->async_wait(net::as_tuple(net::use_awaitable));
    }
    if (call.rpc_error) {
      out.error = Error(ErrorCode::kProtocol, where(method) + ": " + call.rpc_error->message +
                                                  " (JSON-RPC error " + std::to_string(call.rpc_error->code) + ")");
      co_return out;
    }
    if (!call.result) {
      out.error = Error(ErrorCode::kUnavailable, where(method) + ": the SSE stream closed before the answer");
      co_return out;
    }
    out.kind = Outcome::kDone;
    out.result = std::move(*call.result);
    co_return out;
  }

  // ---- the standalone GET stream: server-initiated requests and notifications ----

  bool closing = false;
  std::shared_ptr<net::steady_timer> listen_stop;   // cancelled by close()
  std::shared_ptr<net::steady_timer> listen_ready;  // cancelled when the GET got its answer

  awaitable<void> wait_stop(std::shared_ptr<net::steady_timer> t) {
    co_await t->async_wait(net::as_tuple(net::use_awaitable));
  }

  bool listening = false;

  static awaitable<void> listen(std::shared_ptr<Impl> self) {
    self->listening = true;
    struct Done {
      Impl* impl;
      ~Done() { impl->listening = false; }
    } done{self.get()};
    http::SseParser parser;
    Call none;  // messages on this stream answer no call of ours
    none.id = json::value("standalone");
    int failures = 0;
    while (!self->closing && !self->session_id.empty()) {
      http::ClientRequest get;
      get.method = "GET";
      get.url = self->url;
      get.headers = co_await self->headers(true);
      get.headers.set("Accept", "text/event-stream");
      if (!parser.last_event_id().empty()) get.headers.set("Last-Event-ID", parser.last_event_id());
      get.read_timeout = std::chrono::minutes(5);
      parser.reset();
      int status = 0;
      auto on_head = [&](const http::ClientResponse& head) {
        status = head.status;
        if (self->listen_ready) self->listen_ready->cancel();
      };
      auto on_chunk = [&](std::string_view chunk) {
        if (status != 200 || self->closing) return false;
        for (auto& ev : parser.feed(chunk)) {
          if (!ev.data.empty()) self->on_message(none, ev.data);
        }
        return !parser.failed();
      };
      auto stop = self->listen_stop;
      auto raced = co_await (self->http.stream(std::move(get), on_head, on_chunk) ||
                             self->wait_stop(stop));
      if (self->listen_ready) self->listen_ready->cancel();
      if (self->closing || raced.index() == 1) break;
      auto& r = std::get<0>(raced);
      if (r && (*r == 405 || *r == 404 || *r == 400 || *r == 409)) {
        // The server offers no standalone stream (or forgot the session): nothing to listen to.
        log::debug("{}: no standalone SSE stream (HTTP {})", self->url, *r);
        break;
      }
      failures = (r && *r == 200) ? 0 : failures + 1;
      auto delay = std::chrono::milliseconds(
          parser.retry_ms().value_or(static_cast<int>(self->opt.default_retry.count())));
      delay = std::min(delay * (1 << std::min(failures, 5)), std::chrono::milliseconds(30'000));
      net::steady_timer timer(self->executor, delay);
      auto raced_wait = co_await (timer.async_wait(net::as_tuple(net::use_awaitable)) ||
                                  self->wait_stop(stop));
      if (raced_wait.index() == 1) break;
    }
  }

  // Opens the standalone stream and waits (briefly) until the server has answered it, so that
  // server-initiated messages sent right after connect() are not missed.
  awaitable<void> start_listening() {
    if (!opt.listen || listening) co_return;
    if (!modern && session_id.empty()) co_return;
    if (modern) {
      // The 2026-07-28 stream carries only the change notifications asked for: worth opening
      // when the server says its tool list can change.
      const json::object* tools = ::idp::json::find_object(server_capabilities, "tools");
      if (!tools || ::idp::json::find_bool(*tools, "listChanged") != true) co_return;
    }
    closing = false;
    listen_stop = std::make_shared<net::steady_timer>(executor, std::chrono::steady_clock::time_point::max());
    listen_ready = std::make_shared<net::steady_timer>(executor, std::chrono::seconds(2));
    auto ready = listen_ready;
    if (modern) {
      net::co_spawn(executor, listen_modern(shared_from_this()), net::detached);
    } else {
      net::co_spawn(executor, listen(shared_from_this()), net::detached);
    }
    co_await ready->async_wait(net::as_tuple(net::use_awaitable));
    listen_ready.reset();
  }

  // The modern era's notification stream: a subscriptions/listen request whose SSE response
  // stays open and carries notifications/tools/list_changed. Reopened after the server ends it
  // (with backoff); given up when the server does not offer it. close() closes it, which ends
  // the subscription.
  static awaitable<void> listen_modern(std::shared_ptr<Impl> self) {
    self->listening = true;
    struct Done {
      Impl* impl;
      ~Done() { impl->listening = false; }
    } done{self.get()};
    int failures = 0;
    while (!self->closing && self->modern) {
      Call sub;
      sub.id = json::value(self->next_id.fetch_add(1));
      json::object filter{{"toolsListChanged", true}};
      json::object params{{"notifications", std::move(filter)}};
      self->add_envelope(params);
      http::ClientRequest post;
      post.method = "POST";
      post.url = self->url;
      post.headers = co_await self->headers(false);
      post.headers.set("Mcp-Method", "subscriptions/listen");
      post.body = jsonrpc::request(sub.id, "subscriptions/listen", params);
      post.read_timeout = std::chrono::minutes(5);
      http::SseParser parser;
      int status = 0;
      bool sse = false;
      std::string text;
      auto on_head = [&](const http::ClientResponse& head) {
        status = head.status;
        sse = std::string_view(head.headers.get("Content-Type").value_or("")).starts_with("text/event-stream");
        if (self->listen_ready) self->listen_ready->cancel();
      };
      auto on_chunk = [&](std::string_view chunk) {
        if (self->closing) return false;
        if (status != 200 || !sse) {
          if (text.size() < 64 * 1024) text.append(chunk);
          return true;
        }
        for (auto& ev : parser.feed(chunk)) {
          if (!ev.data.empty()) self->on_message(sub, ev.data);
        }
        return !parser.failed() && !sub.result && !sub.rpc_error;
      };
      auto stop = self->listen_stop;
      auto raced = co_await (self->http.stream(std::move(post), on_head, on_chunk) || self->wait_stop(stop));
      if (self->listen_ready) self->listen_ready->cancel();
      if (self->closing || raced.index() == 1) break;
      auto& r = std::get<0>(raced);
      if (r && (*r != 200 || !sse || sub.rpc_error)) {
        // Not offered (405/404/-32601...) or refused: nothing to listen to.
        log::debug("{}: no subscriptions/listen stream (HTTP {}{})", self->url, *r,
                   sub.rpc_error ? ", " + sub.rpc_error->message : "");
        break;
      }
      // The server ended the subscription (a result: shutting down) or the stream broke.
      failures = (r && sub.result) ? 1 : failures + 1;
      auto delay = std::min(self->opt.default_retry * (1 << std::min(failures, 5)), std::chrono::milliseconds(30'000));
      net::steady_timer timer(self->executor, delay);
      auto raced_wait = co_await (timer.async_wait(net::as_tuple(net::use_awaitable)) || self->wait_stop(stop));
      if (raced_wait.index() == 1) break;
    }
  }

  void stop_listening() {
    closing = true;
    if (listen_stop) listen_stop->cancel();
  }

  // Waits until the call's deadline (which progress moves) or its cancellation. Ends quietly
  // when the exchange finishes first (the || operator cancels it).
  awaitable<void> watchdog(Call& call) {
    auto timer = std::make_shared<net::steady_timer>(executor);
    CancelSignal::Subscription cancel_sub;
    if (call.options.cancel) {
      auto ex = executor;
      std::weak_ptr<net::steady_timer> weak = timer;
      cancel_sub = call.options.cancel->subscribe([weak, ex] {
        net::post(ex, [weak] {
          if (auto t = weak.lock()) t->cancel();
        });
      });
    }
    for (;;) {
      if (call.options.cancel && call.options.cancel->cancelled()) {
        call.cancelled = true;
        co_return;
      }
      if (std::chrono::steady_clock::now() >= call.deadline) {
        call.timed_out = true;
        co_return;
      }
      timer->expires_at(call.deadline);
      co_await timer->async_wait(net::as_tuple(net::use_awaitable));
      auto cs = co_await net::this_coro::cancellation_state;
      if (cs.cancelled() != net::cancellation_type::none) co_return;
    }
  }

  json::object capabilities() const {
    json::object caps;
    if (opt.hooks.sampling) caps["sampling"] = json::object{};
    if (opt.hooks.elicitation) caps["elicitation"] = json::object{{"form", json::object{}}};
    if (opt.hooks.roots) {
      if (modern) caps["roots"] = json::object{};
      else caps["roots"] = json::object{{"listChanged", false}};
    }
    return caps;
  }

  // The per-request `_meta` envelope of the modern era (kept beside a progressToken).
  void add_envelope(json::object& params) const {
    json::value& meta = params["_meta"];
    if (!meta.is_object()) meta = json::object{};
    json::object& m = meta.get_object();
    m[kMetaProtocolVersion] = protocol_version;
    m[kMetaClientCapabilities] = capabilities();
    m[kMetaClientInfo] = json::value_from(opt.info);
    // 2026-07-28 has no logging/setLevel: a request gets notifications/message only when it
    // names a level.
    if (opt.hooks.log && !opt.log_level.empty()) m[kMetaLogLevel] = opt.log_level;
  }

  // The request metadata headers of the modern era: Mcp-Method always; Mcp-Name for the methods
  // that name a thing; Mcp-Param-* for the tool's x-mcp-header arguments (when the tool was
  // listed by this client).
  http::Headers modern_headers(std::string_view method, const json::object& params) const {
    http::Headers h;
    h.set("Mcp-Method", std::string(method));
    std::string_view key;
    if (method == "tools/call" || method == "prompts/get") key = "name";
    if (method == "resources/read") key = "uri";
    const json::string* name = key.empty() ? nullptr : ::idp::json::find_string(params, key);
    if (name) h.set("Mcp-Name", header_value(*name));
    if (method != "tools/call" || !name) return h;
    auto tool = tool_headers.find(std::string_view(*name));
    const json::object* args = ::idp::json::find_object(params, "arguments");
    if (tool == tool_headers.end() || !args) return h;
    for (const auto& ph : tool->second) {
      const json::value* v = nullptr;
      const json::object* at = args;
      for (std::size_t i = 0; i < ph.path.size() && at; ++i) {
        auto it = at->find(ph.path[i]);
        if (it == at->end()) {
          v = nullptr;
          break;
        }
        v = &it->value();
        at = i + 1 < ph.path.size() ? v->if_object() : nullptr;
        if (i + 1 < ph.path.size() && !at) v = nullptr;
      }
      if (!v) continue;
      if (auto value = param_value(*v)) h.set("Mcp-Param-" + ph.name, std::move(*value));
    }
    return h;
  }

  awaitable<Result<json::value>> send_request(std::string_view method, json::object params,
                                              CallOptions options, bool allow_reinit,
                                              Failure* failure = nullptr) {
    Call call;
    call.id = json::value(next_id.fetch_add(1));
    call.options = std::move(options);
    call.timeout = call.options.timeout.value_or(opt.timeout);
    auto now = std::chrono::steady_clock::now();
    call.hard_deadline = now + std::max(opt.max_timeout, call.timeout);
    call.deadline = std::min(now + call.timeout, call.hard_deadline);
    call.watchdog = static_cast<bool>(call.options.on_progress) || call.options.cancel;
    struct Unregister {
      Impl* impl;
      std::string key;
      ~Unregister() {
        if (!key.empty()) impl->progress_calls.erase(key);
      }
    } unregister{this, {}};
    if (call.options.on_progress) {
      call.progress_token = call.id;
      json::object& meta = params["_meta"].emplace_object();
      meta["progressToken"] = call.id;
      unregister.key = jsonrpc::id_key(call.id);
      progress_calls[unregister.key] = &call;
    }
    if (modern) {
      add_envelope(params);
      call.extra = modern_headers(method, params);
    }
    std::string body = jsonrpc::request(call.id, method, params);

    bool retried_session = false;
    bool retried_auth = false;
    bool retried_headers = false;
    for (;;) {
      // if/else, not ?: (GCC 12 evaluates both co_await arms of a conditional).
      std::variant<Outcome, std::monostate> raced;
      if (call.watchdog) {
        if (legacy()) {
          raced = co_await (exchange_legacy(body, call, method) || watchdog(call));
        } else {
          raced = co_await (exchange(body, call, method) || watchdog(call));
        }
      } else {
        Outcome plain;
        if (legacy()) {
          plain = co_await exchange_legacy(body, call, method);
        } else {
          plain = co_await exchange(body, call, method);
        }
        // The HTTP layer's deadline is the call's: a timeout there is the call timing out.
        if (plain.kind == Outcome::kFailed && plain.error.code() == ErrorCode::kTimeout) {
          call.timed_out = true;
          raced.emplace<1>();
        } else {
          raced.emplace<0>(std::move(plain));
        }
      }
      if (raced.index() == 1) {
        // Timed out or cancelled: tell the server in the background (a server that hangs must
        // not hold the caller), then report. initialize is never cancelled (spec). In the
        // modern era closing the response stream (done: the exchange was abandoned) is the
        // cancellation.
        if (method != "initialize" && !modern) {
          json::object cp{{"requestId", call.id},
                          {"reason", call.cancelled ? "cancelled by the client" : "timed out"}};
          net::co_spawn(executor,
                        notify_cancelled(shared_from_this(),
                                         jsonrpc::notification("notifications/cancelled", cp)),
                        net::detached);
        }
        if (call.cancelled) co_return make_error(ErrorCode::kCancelled, where(method) + ": cancelled");
        co_return make_error(ErrorCode::kTimeout,
                             where(method) + ": no answer within " + std::to_string(call.timeout.count()) +
                                 " ms");
      }
      Outcome out = std::move(std::get<0>(raced));
      switch (out.kind) {
        case Outcome::kDone:
          co_return std::move(out.result);
        case Outcome::kAccepted:
          co_return make_error(ErrorCode::kProtocol,
                               where(method) + ": the server answered a request with 202 Accepted");
        case Outcome::kSessionGone: {
          if (!allow_reinit || retried_session) {
            co_return make_error(ErrorCode::kUnavailable,
                                 where(method) + ": the server does not know the session (HTTP 404)");
          }
          retried_session = true;
          log::info("{}: the server forgot session {}...; starting a new one", url,
                    session_id.substr(0, 8));
          session_id.clear();
          auto again = co_await initialize();
          if (!again) co_return std::unexpected(again.error());
          call.result.reset();
          call.rpc_error.reset();
          continue;
        }
        case Outcome::kUnauthorized: {
          if (!opt.token_provider || retried_auth) co_return std::unexpected(out.error);
          retried_auth = true;
          auto fresh = co_await opt.token_provider->token(true);
          if (!fresh) co_return std::unexpected(fresh.error().with_context(where(method)));
          token = std::move(*fresh);
          continue;
        }
        case Outcome::kFailed: {
          if (modern && out.rpc && out.rpc->code == kHeaderMismatch && method == "tools/call" &&
              !retried_headers) {
            // The tool's x-mcp-header annotations may have changed: list again, then retry
            // with the headers the new definition asks for.
            retried_headers = true;
            log::info("{}: header mismatch on tools/call; listing the tools again", url);
            auto relisted = co_await fetch_tools();
            if (relisted) {
              call.extra = modern_headers(method, params);
              call.result.reset();
              call.rpc_error.reset();
              continue;
            }
          }
          if (modern && out.rpc && out.rpc->code == kUnsupportedProtocolVersion) {
            forget_era(url);  // the server changed; the next connect() probes again
          }
          if (failure) {
            failure->status = out.status;
            failure->rpc = out.rpc;
          }
          co_return std::unexpected(out.error);
        }
      }
    }
  }

  awaitable<Result<void>> initialize() {
    modern = false;
    json::object caps = capabilities();
    std::optional<Error> last;
    if (legacy()) {
      auto opened = co_await legacy_open();
      if (!opened) co_return std::unexpected(opened.error());
    }
    std::vector<std::string_view> versions(std::begin(kVersions), std::end(kVersions));
    if (legacy()) versions = {"2024-11-05"};
    for (std::string_view version : versions) {
      json::object params{{"protocolVersion", version},
                          {"capabilities", caps},
                          {"clientInfo", json::value_from(opt.info)}};
      protocol_version.clear();
      session_id.clear();
      const std::string_view method = "initialize";
      CallOptions defaults;  // named: GCC 12 and temporaries across co_await
      auto r = co_await send_request(method, std::move(params), std::move(defaults), false);
      if (!r) {
        // A server that rejects the version outright (HTTP 400 / JSON-RPC error): try older.
        last = r.error();
        if (r.error().code() == ErrorCode::kProtocol &&
            r.error().message().find("ersion") != std::string::npos) {
          continue;
        }
        co_return std::unexpected(r.error());
      }
      const json::object* o = r->if_object();
      const json::string* v = o ? ::idp::json::find_string(*o, "protocolVersion") : nullptr;
      if (!v) {
        co_return make_error(ErrorCode::kProtocol, where("initialize") + ": the result has no protocolVersion");
      }
      bool supported = false;
      for (auto s : kVersions) supported = supported || s == std::string_view(*v);
      if (legacy()) supported = supported || std::string_view(*v) == "2024-11-05";
      if (!supported) {
        co_return make_error(ErrorCode::kProtocol,
                             where("initialize") + ": the server speaks MCP " + std::string(*v) +
                                 ", which this client does not support (it speaks 2025-11-25, "
                                 "2025-06-18, 2025-03-26)");
      }
      protocol_version = std::string(*v);
      if (auto* info = ::idp::json::find_object(*o, "serverInfo")) {
        try {
          server_info = json::value_to<Implementation>(json::value(*info));
        } catch (const std::exception&) {
        }
      }
      if (auto* caps_in = ::idp::json::find_object(*o, "capabilities")) server_capabilities = *caps_in;
      if (auto* ins = ::idp::json::find_string(*o, "instructions")) instructions = std::string(*ins);
      auto note = co_await post_message(jsonrpc::notification("notifications/initialized", {}),
                                        "notifications/initialized");
      if (!note) co_return std::unexpected(note.error());
      connected = true;
      era = ProtocolEra::kLegacy;
      if (!legacy()) co_await start_listening();
      co_return Result<void>{};
    }
    co_return std::unexpected(last.value_or(Error(ErrorCode::kProtocol, where("initialize") + ": no common protocol version")));
  }

  // ---- the modern era: negotiation, multi round-trip requests, the tool list ----

  ProtocolEra era = ProtocolEra::kAuto;  // in use since connect()

  void apply_discover(const json::object& o) {
    const json::object* meta = ::idp::json::find_object(o, "_meta");
    const json::object* info = meta ? ::idp::json::find_object(*meta, kMetaServerInfo) : nullptr;
    if (!info) info = ::idp::json::find_object(o, "serverInfo");  // seen in some test servers
    if (info) {
      try {
        server_info = json::value_to<Implementation>(json::value(*info));
      } catch (const std::exception&) {
      }
    }
    if (auto* caps_in = ::idp::json::find_object(o, "capabilities")) server_capabilities = *caps_in;
    if (auto* ins = ::idp::json::find_string(o, "instructions")) instructions = std::string(*ins);
  }

  static bool lists_version(const json::array* versions, std::string_view v) {
    if (!versions) return false;
    for (const auto& x : *versions) {
      if (x.is_string() && x.get_string() == v) return true;
    }
    return false;
  }

  static std::string join(const json::array* versions) {
    std::string out;
    if (!versions) return out;
    for (const auto& x : *versions) {
      if (!x.is_string()) continue;
      if (!out.empty()) out += ", ";
      out += std::string(x.get_string());
    }
    return out;
  }

  // server/discover. true: the server speaks 2026-07-28 (the era is set up). false: it gave no
  // modern evidence and `fallback` allows the initialize handshake; `definitive` then says the
  // answer was a clear "not modern" (worth remembering) rather than a timeout or a 5xx. An
  // error: negotiation cannot go on (no answer, authentication, a modern server that rejects
  // this client, or no fallback allowed).
  awaitable<Result<bool>> discover(bool fallback, bool& definitive) {
    definitive = false;
    const std::string_view method = "server/discover";
    bool corrected = false;
    for (;;) {
      modern = true;
      protocol_version = std::string(kModernVersion);
      session_id.clear();
      Failure failure;
      json::object params;
      CallOptions options;
      // A legacy server that never answers unknown methods must not hold auto mode for long.
      if (fallback) options.timeout = std::min(opt.timeout, std::chrono::milliseconds(10'000));
      auto r = co_await send_request(method, std::move(params), std::move(options), false, &failure);
      modern = false;
      protocol_version.clear();
      if (r) {
        const json::object* o = r->if_object();
        const json::array* versions = o ? ::idp::json::find_array(*o, "supportedVersions") : nullptr;
        if (lists_version(versions, kModernVersion)) {
          modern = true;
          protocol_version = std::string(kModernVersion);
          apply_discover(*o);
          co_return true;
        }
        if (!fallback) {
          co_return make_error(ErrorCode::kProtocol,
                               where(method) + ": the server does not offer MCP " + std::string(kModernVersion) +
                                   (versions ? " (it offers " + join(versions) + ")"
                                             : " (the answer is not a DiscoverResult)") +
                                   "; try the auto or legacy protocol era");
        }
        definitive = true;
        co_return false;
      }
      const Error& e = r.error();
      const int code = failure.rpc ? failure.rpc->code : 0;
      if (code == kUnsupportedProtocolVersion) {
        const json::object* data = failure.rpc->data ? failure.rpc->data->if_object() : nullptr;
        const json::array* supported = data ? ::idp::json::find_array(*data, "supported") : nullptr;
        if (lists_version(supported, kModernVersion) && !corrected) {
          corrected = true;  // the server named our version after all: one corrected retry
          continue;
        }
        bool any_modern = false;
        if (supported) {
          for (const auto& v : *supported) any_modern = any_modern || (v.is_string() && v.get_string() > "2026");
        }
        if (!any_modern && fallback) {  // no list at all: not a modern error either
          definitive = supported != nullptr;
          co_return false;
        }
        co_return make_error(ErrorCode::kProtocol,
                             where(method) + ": the server does not support MCP " + std::string(kModernVersion) +
                                 (supported ? " (it supports " + join(supported) + ")" : ""));
      }
      switch (e.code()) {
        case ErrorCode::kUnauthenticated:
        case ErrorCode::kPermissionDenied:
        case ErrorCode::kUnavailable:
        case ErrorCode::kCancelled:
        case ErrorCode::kInvalidArgument:
          co_return std::unexpected(e);
        default:
          break;
      }
      if (!fallback) {
        co_return make_error(e.code(), e.message() + " (no MCP " + std::string(kModernVersion) +
                                           " here; try the auto or legacy protocol era)");
      }
      if (code == kHeaderMismatch || code == kMissingClientCapability) {
        // A modern server that rejects this request; a dual-era one may still take initialize.
        log::warn("{}: falling back to initialize: {}", url, e.message());
        co_return false;
      }
      const int st = failure.status;
      definitive = (st >= 400 && st < 500 && st != 408 && st != 429) || (st == 200 && failure.rpc);
      log::debug("{}: no 2026-07-28 ({}); using initialize", url, e.message());
      co_return false;
    }
  }

  awaitable<Result<void>> connect() {
    tools_cache.reset();
    tool_headers.clear();
    if (legacy() || opt.protocol_era == ProtocolEra::kLegacy) co_return co_await initialize();
    bool definitive = false;
    if (opt.protocol_era == ProtocolEra::kModern) {
      auto d = co_await discover(false, definitive);
      if (!d) co_return std::unexpected(d.error());
      connected = true;
      era = ProtocolEra::kModern;
      co_await start_listening();
      co_return Result<void>{};
    }
    if (remembered_era(url) == ProtocolEra::kLegacy) {
      auto r = co_await initialize();
      if (r || r.error().code() != ErrorCode::kProtocol) co_return r;
      // The server may have moved on to the modern era: probe again.
      forget_era(url);
      auto d = co_await discover(true, definitive);
      if (!d || !*d) co_return r;
      remember_era(url, ProtocolEra::kModern);
      connected = true;
      era = ProtocolEra::kModern;
      co_await start_listening();
      co_return Result<void>{};
    }
    auto d = co_await discover(true, definitive);
    if (!d) co_return std::unexpected(d.error());
    if (*d) {
      remember_era(url, ProtocolEra::kModern);
      connected = true;
      era = ProtocolEra::kModern;
      co_await start_listening();
      co_return Result<void>{};
    }
    auto r = co_await initialize();
    if (r && definitive) remember_era(url, ProtocolEra::kLegacy);
    co_return r;
  }

  // A request with multi round-trip handling (modern era): an InputRequiredResult is answered
  // through the hooks and the request retried, with this round's inputResponses and the exact
  // requestState, under a new id, up to max_input_rounds times.
  awaitable<Result<json::value>> request(std::string_view method, json::object params, CallOptions options) {
    std::optional<json::object> responses;
    std::optional<json::value> state;
    const int max_rounds = std::max(1, opt.max_input_rounds);
    for (int round = 0;; ++round) {
      json::object p = params;
      if (responses) p["inputResponses"] = *responses;
      if (state) p["requestState"] = *state;
      CallOptions o = options;
      auto r = co_await send_request(method, std::move(p), std::move(o), true);
      if (!r || !modern) co_return r;
      const json::object* res = r->if_object();
      const json::string* type = res ? ::idp::json::find_string(*res, "resultType") : nullptr;
      if (!type || *type == "complete") co_return r;  // absent means complete
      if (*type != "input_required") {
        co_return make_error(ErrorCode::kProtocol, where(method) + ": unsupported resultType '" + std::string(*type) + "'");
      }
      if (round >= max_rounds) {
        co_return make_error(ErrorCode::kResourceExhausted,
                             where(method) + ": the server still asks for input after " +
                                 std::to_string(max_rounds) + " rounds");
      }
      const json::object* requests = ::idp::json::find_object(*res, "inputRequests");
      const json::string* request_state = ::idp::json::find_string(*res, "requestState");
      if ((!requests || requests->empty()) && !request_state) {
        co_return make_error(ErrorCode::kProtocol,
                             where(method) + ": an input_required result without inputRequests or requestState");
      }
      json::object answers;
      if (requests) {
        for (const auto& [key, value] : *requests) {
          const json::object* ask = value.if_object();
          const json::string* ask_method = ask ? ::idp::json::find_string(*ask, "method") : nullptr;
          if (!ask_method) {
            co_return make_error(ErrorCode::kProtocol, where(method) + ": input request '" + std::string(key) +
                                                           "' has no method");
          }
          const json::object* ask_params = ::idp::json::find_object(*ask, "params");
          json::object given = ask_params ? *ask_params : json::object{};
          std::string name(*ask_method);
          bool handled = false;
          auto answer = co_await fulfil(name, given, handled);
          if (!answer) {
            co_return make_error(answer.error().code() == ErrorCode::kNotFound ? ErrorCode::kProtocol : answer.error().code(),
                                 where(method) + ": the server asked for input '" + std::string(key) + "' (" + name +
                                     "): " + answer.error().message());
          }
          answers[key] = std::move(*answer);
        }
      }
      responses.reset();
      if (!answers.empty()) responses = std::move(answers);
      state.reset();
      if (request_state) state = json::value(*request_state);
      if (!requests || requests->empty()) {
        // Nothing to gather: pace the retries a server asks for with state alone.
        net::steady_timer pause(executor, std::chrono::milliseconds(250));
        co_await pause.async_wait(net::as_tuple(net::use_awaitable));
      }
      if (options.cancel && options.cancel->cancelled()) {
        co_return make_error(ErrorCode::kCancelled, where(method) + ": cancelled");
      }
    }
  }

  // tools/list to the end. Serves from the cache when `use_cache` and the last listing's ttlMs
  // has not run out; modern era: leaves out tools with invalid x-mcp-header annotations and
  // records the valid ones for Mcp-Param-* headers.
  awaitable<Result<std::vector<Tool>>> list_tools(bool use_cache) {
    if (use_cache && tools_cache && std::chrono::steady_clock::now() < tools_cache_until) co_return *tools_cache;
    const std::string_view method = "tools/list";
    std::vector<Tool> tools;
    std::map<std::string, std::vector<ParamHeader>, std::less<>> headers_by_tool;
    std::string cursor;
    std::set<std::string> seen;
    std::optional<double> ttl_ms;
    bool every_page_has_ttl = true;
    for (int page = 0;; ++page) {
      if (page >= 10'000) co_return make_error(ErrorCode::kResourceExhausted, where(method) + ": more than 10000 pages");
      json::object params;
      if (!cursor.empty()) params["cursor"] = cursor;
      CallOptions none;
      auto r = co_await send_request(method, std::move(params), std::move(none), true);
      if (!r) co_return std::unexpected(r.error());
      const json::object* o = r->if_object();
      const json::array* list = o ? ::idp::json::find_array(*o, "tools") : nullptr;
      if (!list) co_return make_error(ErrorCode::kProtocol, where(method) + ": the result has no tools array");
      auto ttl = ::idp::json::find_number(*o, "ttlMs");
      if (!ttl) every_page_has_ttl = false;
      else ttl_ms = ttl_ms ? std::min(*ttl_ms, *ttl) : *ttl;
      for (const auto& t : *list) {
        Tool tool;
        try {
          tool = json::value_to<Tool>(t);
        } catch (const std::exception& e) {
          log::warn("{}: skipping a malformed tool: {}", url, e.what());
          continue;
        }
        if (modern) {
          auto annotated = param_headers(tool.input_schema);
          if (!annotated) {
            log::warn("{}: leaving out tool '{}': {}", url, tool.name, annotated.error().message());
            continue;
          }
          if (!annotated->empty()) headers_by_tool[tool.name] = std::move(*annotated);
        }
        tools.push_back(std::move(tool));
      }
      const json::string* next = ::idp::json::find_string(*o, "nextCursor");
      if (!next || next->empty()) break;
      cursor = std::string(*next);
      if (!seen.insert(cursor).second) {
        co_return make_error(ErrorCode::kProtocol, where(method) + ": the server repeated cursor '" + cursor + "'");
      }
    }
    if (modern) tool_headers = std::move(headers_by_tool);
    tools_cache.reset();
    if (every_page_has_ttl && ttl_ms && *ttl_ms >= 1) {
      auto ttl = std::chrono::milliseconds(static_cast<std::int64_t>(std::min(*ttl_ms, 86'400'000.0)));
      tools_cache = tools;
      tools_cache_until = std::chrono::steady_clock::now() + ttl;
    }
    co_return tools;
  }

  awaitable<Result<std::vector<Tool>>> fetch_tools() { co_return co_await list_tools(false); }
};

// ---- Client -----------------------------------------------------------------------------------

Client::Client(net::any_io_executor executor, std::string url, ClientOptions options)
    : impl_(std::make_shared<Impl>(executor, std::move(url), std::move(options))) {}

Client::~Client() { impl_->stop_listening(); }

awaitable<Result<void>> Client::connect() {
  auto policy = check_url_policy(impl_->url);
  if (!policy) co_return std::unexpected(policy.error());
  co_return co_await impl_->connect();
}

awaitable<Result<std::vector<Tool>>> Client::list_tools() {
  if (!impl_->connected) {
    co_return make_error(ErrorCode::kInvalidArgument, impl_->where("tools/list") + ": call connect() first");
  }
  co_return co_await impl_->list_tools(true);
}

awaitable<Result<CallToolResult>> Client::call_tool(std::string_view name, json::object arguments,
                                                    CallOptions options) {
  json::object params{{"name", name}, {"arguments", std::move(arguments)}};
  auto r = co_await request("tools/call", std::move(params), std::move(options));
  if (!r) co_return std::unexpected(r.error());
  try {
    co_return json::value_to<CallToolResult>(*r);
  } catch (const std::exception& e) {
    co_return make_error(ErrorCode::kProtocol, impl_->where("tools/call") + ": malformed result: " + e.what());
  }
}

namespace {
// Follows nextCursor of a paginated list method and concatenates `key`.
awaitable<Result<json::array>> list_all(Client& c, std::string_view method, std::string_view key) {
  json::array all;
  std::string cursor;
  std::set<std::string> seen;
  for (;;) {
    json::object params;
    if (!cursor.empty()) params["cursor"] = cursor;
    CallOptions defaults;  // named: GCC 12 and temporaries across co_await
    auto r = co_await c.request(method, std::move(params), std::move(defaults));
    if (!r) co_return std::unexpected(r.error());
    const json::object* o = r->if_object();
    const json::array* items = o ? ::idp::json::find_array(*o, key) : nullptr;
    if (!items) {
      co_return make_error(ErrorCode::kProtocol, std::string(method) + " " + c.url() +
                                                     ": the result has no " + std::string(key) + " array");
    }
    for (const auto& i : *items) all.push_back(i);
    const json::string* next = ::idp::json::find_string(*o, "nextCursor");
    if (!next || next->empty()) co_return all;
    cursor = std::string(*next);
    if (!seen.insert(cursor).second) {
      co_return make_error(ErrorCode::kProtocol, std::string(method) + " " + c.url() +
                                                     ": the server repeated cursor '" + cursor + "'");
    }
  }
}
}  // namespace

awaitable<Result<json::array>> Client::list_resources() {
  co_return co_await list_all(*this, "resources/list", "resources");
}

awaitable<Result<json::array>> Client::list_prompts() {
  co_return co_await list_all(*this, "prompts/list", "prompts");
}

awaitable<Result<json::array>> Client::read_resource(std::string_view uri) {
  json::object params;
  params["uri"] = uri;
  const std::string_view method = "resources/read";
  CallOptions defaults;
  auto r = co_await request(method, std::move(params), std::move(defaults));
  if (!r) co_return std::unexpected(r.error());
  const json::object* o = r->if_object();
  const json::array* contents = o ? ::idp::json::find_array(*o, "contents") : nullptr;
  if (!contents) {
    co_return make_error(ErrorCode::kProtocol, impl_->where("resources/read") + ": no contents array");
  }
  co_return *contents;
}

awaitable<Result<json::object>> Client::get_prompt(std::string_view name, json::object arguments) {
  json::object params;
  params["name"] = name;
  if (!arguments.empty()) params["arguments"] = std::move(arguments);
  const std::string_view method = "prompts/get";
  CallOptions defaults;
  auto r = co_await request(method, std::move(params), std::move(defaults));
  if (!r) co_return std::unexpected(r.error());
  if (!r->is_object()) {
    co_return make_error(ErrorCode::kProtocol, impl_->where("prompts/get") + ": the result is not an object");
  }
  co_return std::move(r->get_object());
}

awaitable<Result<void>> Client::ping() {
  // 2026-07-28 has no ping; server/discover is the cheapest request that proves the server alive.
  const std::string_view method = impl_->modern ? "server/discover" : "ping";
  json::object none;
  CallOptions defaults;
  auto r = co_await request(method, std::move(none), std::move(defaults));
  if (!r) co_return std::unexpected(r.error());
  co_return Result<void>{};
}

awaitable<Result<json::value>> Client::request(std::string_view method, json::object params,
                                               CallOptions options) {
  if (!impl_->connected) {
    co_return make_error(ErrorCode::kInvalidArgument, impl_->where(method) + ": call connect() first");
  }
  co_return co_await impl_->request(method, std::move(params), std::move(options));
}

awaitable<Result<void>> Client::notify(std::string_view method, json::object params) {
  co_return co_await impl_->post_message(jsonrpc::notification(method, params), std::string(method));
}

awaitable<void> Client::close() {
  impl_->stop_listening();
  if (!impl_->session_id.empty()) {
    http::ClientRequest req;
    req.method = "DELETE";
    req.url = impl_->url;
    req.headers = co_await impl_->headers(true);
    req.headers.set("Accept", "application/json");
    auto r = co_await impl_->http.request(std::move(req));
    if (r && r->status != 200 && r->status != 204 && r->status != 405 && r->status != 404) {
      log::debug("{}: DELETE of the session answered HTTP {}", impl_->url, r->status);
    }
    impl_->session_id.clear();
  }
  impl_->connected = false;
  impl_->http.close_idle();
}

const std::string& Client::url() const { return impl_->url; }
const std::string& Client::protocol_version() const { return impl_->protocol_version; }
ProtocolEra Client::era() const { return impl_->era; }
const Implementation& Client::server_info() const { return impl_->server_info; }
const json::object& Client::server_capabilities() const { return impl_->server_capabilities; }
const std::string& Client::instructions() const { return impl_->instructions; }
const std::string& Client::session_id() const { return impl_->session_id; }
http::ClientStats Client::http_stats() const { return impl_->http.stats(); }

}  // namespace idp::mcp
