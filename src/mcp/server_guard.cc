#include "idp/mcp/server_guard.h"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>

#include "idp/core/crypto.h"
#include "idp/core/json_util.h"
#include "idp/mcp/formats.h"
#include "idp/mcp/schema.h"

namespace idp::mcp {

namespace bj = boost::json;
using boost::asio::awaitable;
using Clock = std::chrono::steady_clock;

namespace {

// Where the guard leaves the request's trace id and peer for the tool wrapper: today's
// ToolContext carries the identity and nothing else of the HTTP request.
constexpr std::string_view kRequestClaim = "idp.request";

// The method label of the metrics: known MCP methods only, so that a client cannot grow the
// number of series by inventing method names.
std::string method_label(std::string_view method) {
  static constexpr std::array<std::string_view, 18> kKnown = {"initialize",
                                                              "ping",
                                                              "tools/list",
                                                              "tools/call",
                                                              "resources/list",
                                                              "resources/read",
                                                              "resources/templates/list",
                                                              "resources/subscribe",
                                                              "resources/unsubscribe",
                                                              "prompts/list",
                                                              "prompts/get",
                                                              "completion/complete",
                                                              "logging/setLevel",
                                                              "server/discover",
                                                              "subscriptions/listen",
                                                              "GET",
                                                              "DELETE",
                                                              "response"};
  for (auto k : kKnown) {
    if (k == method) return std::string(k);
  }
  if (method.starts_with("notifications/")) return "notification";
  return "other";
}

std::string claim(const bj::object& claims, std::string_view name) {
  const auto* s = ::idp::json::find_string(claims, name);
  return s ? std::string(*s) : std::string();
}

// What the guard needs from a request before the server parses it.
struct Peek {
  std::string method;  // JSON-RPC method, "GET"/"DELETE", "response", or "" when unparsable
  std::string tool;
  bj::value arguments;  // tools/call arguments (an object), else null
  bj::value id;         // the request id, for the 429 body
};

Peek peek(const http::Request& req) {
  Peek p;
  if (req.method() != "POST") {
    p.method = std::string(req.method());
    return p;
  }
  auto doc = ::idp::json::parse(req.body());
  if (!doc || !doc->is_object()) return p;
  const auto& o = doc->get_object();
  if (auto it = o.find("id"); it != o.end()) p.id = it->value();
  const auto* m = ::idp::json::find_string(o, "method");
  if (!m) {
    p.method = o.contains("result") || o.contains("error") ? "response" : "";
    return p;
  }
  p.method = std::string(*m);
  if (p.method == "tools/call") {
    if (const auto* params = ::idp::json::find_object(o, "params")) {
      if (const auto* n = ::idp::json::find_string(*params, "name")) p.tool = std::string(*n);
      if (auto it = params->find("arguments"); it != params->end()) p.arguments = it->value();
    }
  }
  return p;
}

// The argument names of a call, sorted. Names the tool's schema does not declare come from the
// caller and could carry anything (even a token), so they are counted, not written.
std::vector<std::string> argument_names(const bj::value& args,
                                        const std::set<std::string>* declared) {
  std::vector<std::string> names;
  std::size_t undeclared = 0;
  if (const auto* o = args.if_object()) {
    for (const auto& kv : *o) {
      std::string name(kv.key());
      if (declared && declared->contains(name)) {
        names.push_back(std::move(name));
      } else {
        ++undeclared;
      }
    }
    std::sort(names.begin(), names.end());
  }
  if (undeclared) names.push_back(fmt::format("({} undeclared)", undeclared));
  return names;
}

// A session id as our transport issues them (base64url); anything else is the caller's text.
std::string session_label(std::string_view id) {
  bool ok = !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
  return ok ? std::string(id) : std::string("(malformed)");
}

// The error="..." of a WWW-Authenticate challenge; "missing_token" when it has none.
std::string challenge_error(const http::Response& r) {
  auto h = r.headers.get("WWW-Authenticate");
  if (!h) return r.status == 401 ? "missing_token" : fmt::format("http_{}", r.status);
  auto at = h->find("error=\"");
  if (at == std::string_view::npos) return "missing_token";
  auto end = h->find('"', at + 7);
  std::string e(h->substr(at + 7, end == std::string_view::npos ? 0 : end - at - 7));
  // Our own vocabulary only: anything else is summarised.
  if (e == "invalid_token" || e == "insufficient_scope" || e == "invalid_request") return e;
  return "refused";
}

}  // namespace

struct ServerGuard::Impl {
  Server& server;
  ServerGuardOptions opt;
  struct ToolInfo {
    std::set<std::string> declared;  // the inputSchema's property names
    std::optional<SchemaValidator> schema;
    FormatChecker formats;
  };
  mutable std::shared_mutex mu;
  std::map<std::string, std::shared_ptr<const ToolInfo>, std::less<>> tools;
  std::atomic<std::size_t> in_flight{0};
  std::atomic<bool> stopping{false};
  std::atomic<bool> pre_dispatch{false};  // authenticator() installed: it audits `invalid`

  CounterFamily* requests = nullptr;
  HistogramFamily* latency = nullptr;
  CounterFamily* tool_errors = nullptr;
  CounterFamily* rate_limited = nullptr;
  CounterFamily* denied = nullptr;

  Impl(Server& s, ServerGuardOptions o) : server(s), opt(std::move(o)) {
    if (!opt.metrics) return;
    auto& m = *opt.metrics;
    requests = &m.counter("idp_mcp_requests_total",
                          "MCP requests by JSON-RPC method and status (ok, tool_error, invalid, "
                          "denied, rate_limited; other methods: accepted)",
                          {"method", "status"});
    latency = &m.histogram("idp_mcp_tool_call_duration_seconds",
                           "Time spent in tool handlers, by tool", {"tool"});
    tool_errors = &m.counter("idp_mcp_tool_errors_total",
                             "Tool calls that failed, by tool and outcome (tool_error, invalid)",
                             {"tool", "outcome"});
    rate_limited = &m.counter("idp_mcp_rate_limited_total",
                              "Requests refused by a rate limit, by limit", {"limit"});
    denied = &m.counter("idp_mcp_denied_total",
                        "Requests refused by authentication, by OAuth error", {"reason"});
    m.gauge("idp_mcp_tool_calls_in_flight", "Tool calls running now",
            [this] { return static_cast<double>(in_flight.load()); });
  }

  std::shared_ptr<const ToolInfo> find(std::string_view name) const {
    std::shared_lock lock(mu);
    auto it = tools.find(name);
    return it == tools.end() ? nullptr : it->second;
  }

  std::string tool_label(std::string_view name) const {
    return find(name) ? std::string(name) : std::string("unknown");
  }

  void count(std::string_view method, std::string_view status) {
    if (requests) requests->add({method_label(method), std::string(status)});
  }

  void audit(AuditRecord r) {
    if (opt.audit) opt.audit->write(r);
  }

  static void fill_identity(AuditRecord& r, const Identity& id) {
    if (!id.authenticated) return;
    r.sub = id.subject;
    r.username = claim(id.claims, "username");
    if (r.username.empty()) r.username = claim(id.claims, "cognito:username");
    r.client_id = claim(id.claims, "client_id");
  }

  AuditRecord record(const http::Request& req, const Peek& p, const Identity* id) {
    AuditRecord r;
    r.trace_id = req.trace_id();
    r.peer = std::string(req.remote_address());
    if (auto s = req.header("Mcp-Session-Id")) r.session = session_label(*s);
    r.method = p.method.empty() ? "unparsable" : method_label(p.method);
    if (!p.tool.empty()) r.tool = tool_label(p.tool);
    if (r.method == "tools/call") {
      auto info = find(p.tool);
      r.argument_names = argument_names(p.arguments, info ? &info->declared : nullptr);
      r.arguments_sha256 = crypto::sha256_hex(
          canonical_json(p.arguments.is_null() ? bj::value(bj::object()) : p.arguments));
    }
    if (id) fill_identity(r, *id);
    return r;
  }

  // Schema and formats, as the server and the tool wrapper will apply them; nullopt when valid
  // or the tool is not the guard's.
  std::optional<std::string> invalid(const Peek& p) const {
    auto info = find(p.tool);
    if (!info) return std::nullopt;
    const bj::value args = p.arguments.is_null() ? bj::value(bj::object()) : p.arguments;
    if (!args.is_object()) return "arguments must be an object";
    if (info->schema) {
      if (auto problem = info->schema->validate(args)) return problem;
    }
    if (opt.enforce_formats) return info->formats.check(args);
    return std::nullopt;
  }

  http::Response too_many(const Peek& p, const RateDecision& d) {
    long secs = d.retry_after_seconds();
    bj::object error{
        {"code", kRateLimitedError},
        {"message", fmt::format("Rate limit exceeded: {} allows {} per principal; "
                                "retry after {} s",
                                d.limit, d.rate, secs)},
        {"data", bj::object{{"limit", d.limit}, {"rate", d.rate}, {"retryAfterSeconds", secs}}}};
    bj::object body{{"jsonrpc", "2.0"}, {"id", p.id}, {"error", std::move(error)}};
    auto r = http::Response::json(429, bj::serialize(body));
    r.headers.set("Retry-After", std::to_string(secs));
    return r;
  }
};

ServerGuard::ServerGuard(Server& server, ServerGuardOptions options)
    : impl_(std::make_shared<Impl>(server, std::move(options))) {}
ServerGuard::~ServerGuard() = default;

std::size_t ServerGuard::in_flight() const { return impl_->in_flight.load(); }

Result<void> ServerGuard::add_tool(Tool tool, ToolHandler handler) {
  auto info = std::make_shared<Impl::ToolInfo>();
  auto compiled = SchemaValidator::compile(tool.input_schema);
  if (!compiled) {
    return std::unexpected(compiled.error().with_context("tool '" + tool.name + "'"));
  }
  info->schema = std::move(*compiled);
  info->formats = FormatChecker::compile(tool.input_schema);
  if (const auto* props = ::idp::json::find_object(tool.input_schema, "properties")) {
    for (const auto& kv : *props) info->declared.emplace(kv.key());
  }
  const std::string name = tool.name;
  std::weak_ptr<Impl> weak = impl_;
  ToolHandler wrapped = [weak, info, name, handler = std::move(handler)](
                            const json::object& args,
                            ToolContext& ctx) -> awaitable<CallToolResult> {
    auto self = weak.lock();
    if (!self) co_return co_await handler(args, ctx);
    Impl& I = *self;
    const auto t0 = Clock::now();
    AuditRecord r;
    const Identity& id = ctx.identity();
    if (const auto* req = ::idp::json::find_object(id.claims, kRequestClaim)) {
      r.trace_id = claim(*req, "trace_id");
      r.peer = claim(*req, "peer");
    }
    Impl::fill_identity(r, id);
    r.session = std::string(ctx.session_id());
    r.method = "tools/call";
    r.tool = name;
    const bj::value args_value(args);
    r.argument_names = argument_names(args_value, &info->declared);
    r.arguments_sha256 = crypto::sha256_hex(canonical_json(args_value));

    if (I.opt.enforce_formats) {
      if (auto problem = info->formats.check(args_value)) {
        // The pre-dispatch hook has audited and counted it already.
        if (!I.pre_dispatch.load()) {
          r.outcome = AuditOutcome::kInvalid;
          r.detail = "format";
          I.audit(std::move(r));
          I.count("tools/call", "invalid");
          if (I.tool_errors) I.tool_errors->add({name, "invalid"});
        }
        co_return CallToolResult::error("Invalid arguments for tool '" + name + "': " + *problem);
      }
    }
    ++I.in_flight;
    CallToolResult result;
    std::string failure;
    try {
      result = co_await handler(args, ctx);
    } catch (const std::exception& e) {
      failure = e.what();
    }
    --I.in_flight;
    const auto took = Clock::now() - t0;
    r.duration = std::chrono::duration_cast<std::chrono::microseconds>(took);
    const bool error = !failure.empty() || result.is_error;
    r.outcome = error ? AuditOutcome::kToolError : AuditOutcome::kOk;
    I.audit(std::move(r));
    I.count("tools/call", error ? "tool_error" : "ok");
    if (I.latency) I.latency->observe({name}, std::chrono::duration<double>(took).count());
    if (error && I.tool_errors) I.tool_errors->add({name, "tool_error"});
    if (!failure.empty()) throw std::runtime_error(failure);  // the server reports it as it does
    co_return result;
  };
  {
    std::unique_lock lock(impl_->mu);
    if (impl_->tools.contains(name)) {
      return make_error(ErrorCode::kInvalidArgument, "tool '" + name + "' is already registered");
    }
  }
  if (auto r = impl_->server.add_tool(std::move(tool), std::move(wrapped)); !r) return r;
  std::unique_lock lock(impl_->mu);
  impl_->tools.emplace(name, std::move(info));
  return {};
}

Authenticator ServerGuard::authenticator(Authenticator inner) {
  impl_->pre_dispatch = true;
  std::shared_ptr<Impl> self = impl_;
  return [self, inner = std::move(inner)](
             const http::Request& req) -> awaitable<std::expected<Identity, http::Response>> {
    Impl& I = *self;
    const auto t0 = Clock::now();
    Peek p = peek(req);
    Identity identity;
    if (inner) {
      auto who = co_await inner(req);
      if (!who) {
        const std::string reason = challenge_error(who.error());
        AuditRecord r = I.record(req, p, nullptr);
        r.outcome = AuditOutcome::kDenied;
        r.detail = reason;
        r.duration = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0);
        I.audit(std::move(r));
        I.count(p.method, "denied");
        if (I.denied) I.denied->add({reason});
        co_return who;
      }
      identity = std::move(*who);
    }
    if (I.opt.rate_limiter && p.method != "response" && !p.method.starts_with("notifications/")) {
      std::string principal = principal_of(identity, req.remote_address());
      auto d = I.opt.rate_limiter->check(principal, p.method, p.tool);
      if (!d.allowed) {
        AuditRecord r = I.record(req, p, &identity);
        r.outcome = AuditOutcome::kRateLimited;
        r.detail = d.limit + " " + d.rate;
        r.duration = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0);
        I.audit(std::move(r));
        I.count(p.method, "rate_limited");
        if (I.rate_limited) I.rate_limited->add({d.limit});
        co_return std::unexpected(I.too_many(p, d));
      }
    }
    if (p.method == "tools/call") {
      if (auto problem = I.invalid(p)) {
        AuditRecord r = I.record(req, p, &identity);
        r.outcome = AuditOutcome::kInvalid;
        r.detail = problem->find("(format ") != std::string::npos ? "format" : "schema";
        r.duration = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0);
        I.audit(std::move(r));
        I.count(p.method, "invalid");
        if (I.tool_errors) I.tool_errors->add({I.tool_label(p.tool), "invalid"});
      }
    } else {
      I.count(p.method.empty() ? "other" : p.method, "accepted");
    }
    identity.claims[kRequestClaim] =
        bj::object{{"trace_id", req.trace_id()}, {"peer", req.remote_address()}};
    co_return identity;
  };
}

void ServerGuard::serve(http::Server& http, std::function<std::size_t()> sessions) {
  std::shared_ptr<Impl> self = impl_;
  if (self->opt.metrics) {
    if (sessions) {
      self->opt.metrics->gauge("idp_mcp_active_sessions", "Open MCP sessions",
                               [sessions] { return static_cast<double>(sessions()); });
    }
    http.route("GET", self->opt.metrics_path,
               [self](const http::Request&, http::Responder& res) -> awaitable<void> {
                 http::Response r;
                 r.headers.set("Content-Type", std::string(MetricsRegistry::kContentType));
                 r.body = self->opt.metrics->render();
                 co_await res.send(std::move(r));
               });
  }
  http.route(
      "GET", self->opt.health_path,
      [self](const http::Request&, http::Responder& res) -> awaitable<void> {
        bool stopping = self->stopping.load() || res.stopping();
        co_await res.send(http::Response::json(
            stopping ? 503 : 200, stopping ? R"({"status":"stopping"})" : R"({"status":"ok"})"));
      });
  http.on_stop([self] { self->stopping = true; });
}

}  // namespace idp::mcp
