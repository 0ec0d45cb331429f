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
#include "idp/mcp/jsonrpc.h"

namespace idp::mcp {

namespace bj = boost::json;
using boost::asio::awaitable;

namespace {

// The method label of the metrics: known MCP methods only, so that a client cannot grow the
// number of series by inventing method names.
std::string method_label(std::string_view method) {
  static constexpr std::array<std::string_view, 17> kKnown = {"initialize",
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
                                                              "DELETE"};
  for (auto k : kKnown) {
    if (k == method) return std::string(k);
  }
  return "other";
}

std::string claim(const bj::object& claims, std::string_view name) {
  const auto* s = ::idp::json::find_string(claims, name);
  return s ? std::string(*s) : std::string();
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

// The audit outcome of a request; tools/call errors of the dispatcher (an unknown tool, bad
// params, a deadline) are the call's failure: `invalid` for bad params, else `tool_error`.
AuditOutcome audit_outcome(const RequestEvent& e) {
  switch (e.outcome) {
    case RequestOutcome::kOk:
      return AuditOutcome::kOk;
    case RequestOutcome::kToolError:
      return AuditOutcome::kToolError;
    case RequestOutcome::kInvalid:
      return AuditOutcome::kInvalid;
    case RequestOutcome::kDenied:
      return AuditOutcome::kDenied;
    case RequestOutcome::kRateLimited:
      return AuditOutcome::kRateLimited;
    case RequestOutcome::kError:
      break;
  }
  return e.rpc_error == jsonrpc::kInvalidParams ? AuditOutcome::kInvalid : AuditOutcome::kToolError;
}

}  // namespace

struct ServerGuard::Impl {
  Server& server;
  ServerGuardOptions opt;
  mutable std::shared_mutex mu;
  // The guard's tools, with the property names their inputSchema declares.
  std::map<std::string, std::set<std::string>, std::less<>> tools;
  std::atomic<bool> stopping{false};

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
                          "denied, rate_limited, error)",
                          {"method", "status"});
    latency = &m.histogram("idp_mcp_tool_call_duration_seconds",
                           "Time from a tool call's arrival to its answer, by tool", {"tool"});
    tool_errors = &m.counter("idp_mcp_tool_errors_total",
                             "Tool calls that failed, by tool and outcome (tool_error, invalid)",
                             {"tool", "outcome"});
    rate_limited = &m.counter("idp_mcp_rate_limited_total",
                              "Requests refused by a rate limit, by limit", {"limit"});
    denied = &m.counter("idp_mcp_denied_total",
                        "Requests refused by authentication, by OAuth error", {"reason"});
    m.gauge("idp_mcp_tool_calls_in_flight", "Tool calls being handled now",
            [this] { return static_cast<double>(server.tool_calls_in_flight()); });
  }

  // The tool's label: its name when it is one of the guard's, so that a client cannot grow
  // the number of series (or the audit vocabulary) by inventing names.
  std::string tool_label(std::string_view name, const std::set<std::string>** declared) const {
    std::shared_lock lock(mu);
    auto it = tools.find(name);
    if (it == tools.end()) return name.empty() ? std::string() : std::string("unknown");
    if (declared) *declared = &it->second;
    return std::string(name);
  }

  http::Response health() const {
    if (!stopping.load()) return http::Response::json(200, R"({"status":"ok"})");
    return http::Response::json(
        503, fmt::format(R"({{"status":"stopping","in_flight":{}}})", server.in_flight()));
  }

  void observe(const RequestEvent& e) {
    const bool tool_call = e.method == "tools/call";
    const bool audited = tool_call || e.outcome == RequestOutcome::kDenied ||
                         e.outcome == RequestOutcome::kRateLimited;
    if (!audited && !requests) return;
    const std::set<std::string>* declared = nullptr;
    std::string tool = tool_call ? tool_label(e.tool, &declared) : std::string();
    const AuditOutcome outcome = audit_outcome(e);
    const std::string method =
        e.method.empty() ? std::string("unparsable") : method_label(e.method);
    if (requests) {
      const char* status = tool_call ? to_string(outcome) : to_string(e.outcome);
      requests->add({method, status});
    }
    if (tool_call && latency &&
        (outcome == AuditOutcome::kOk || outcome == AuditOutcome::kToolError)) {
      latency->observe({tool}, std::chrono::duration<double>(e.duration).count());
    }
    if (tool_call && tool_errors &&
        (outcome == AuditOutcome::kToolError || outcome == AuditOutcome::kInvalid)) {
      tool_errors->add({tool, to_string(outcome)});
    }
    if (e.outcome == RequestOutcome::kDenied && denied) denied->add({std::string(e.detail)});
    if (e.outcome == RequestOutcome::kRateLimited && rate_limited) {
      rate_limited->add({std::string(e.detail.substr(0, e.detail.find(' ')))});
    }
    if (!audited || !opt.audit) return;
    AuditRecord r;
    r.trace_id = std::string(e.trace_id);
    r.peer = std::string(e.peer);
    if (!e.session_id.empty()) r.session = session_label(e.session_id);
    r.method = method;
    r.tool = std::move(tool);
    if (tool_call) {
      const bj::value no_arguments = bj::object();
      const bj::value& args = e.arguments ? *e.arguments : no_arguments;
      r.argument_names = argument_names(args, declared);
      r.arguments_sha256 = crypto::sha256_hex(canonical_json(args));
    }
    if (e.identity && e.identity->authenticated) {
      const Identity& id = *e.identity;
      r.sub = id.subject;
      r.username = claim(id.claims, "username");
      if (r.username.empty()) r.username = claim(id.claims, "cognito:username");
      r.client_id = claim(id.claims, "client_id");
    }
    r.outcome = outcome;
    r.detail = std::string(e.detail);
    r.duration = e.duration;
    opt.audit->write(r);
  }
};

ServerGuard::ServerGuard(Server& server, ServerGuardOptions options)
    : impl_(std::make_shared<Impl>(server, std::move(options))) {}
ServerGuard::~ServerGuard() = default;

std::size_t ServerGuard::in_flight() const { return impl_->server.in_flight(); }

Result<void> ServerGuard::add_tool(Tool tool, ToolHandler handler) {
  std::set<std::string> declared;
  if (const auto* props = ::idp::json::find_object(tool.input_schema, "properties")) {
    for (const auto& kv : *props) declared.emplace(kv.key());
  }
  const std::string name = tool.name;
  {
    std::shared_lock lock(impl_->mu);
    if (impl_->tools.contains(name)) {
      return make_error(ErrorCode::kInvalidArgument, "tool '" + name + "' is already registered");
    }
  }
  if (auto r = impl_->server.add_tool(std::move(tool), std::move(handler)); !r) return r;
  std::unique_lock lock(impl_->mu);
  impl_->tools.emplace(name, std::move(declared));
  return {};
}

void ServerGuard::install(StreamableHttpOptions& options) {
  std::shared_ptr<Impl> self = impl_;
  if (self->opt.rate_limiter) {
    options.limit = [self](const RequestInfo& r) -> std::optional<RateRefusal> {
      auto d = self->opt.rate_limiter->check(principal_of(r.identity, r.peer), r.method, r.tool);
      if (d.allowed) return std::nullopt;
      return RateRefusal{d.limit, d.rate, std::chrono::seconds(d.retry_after_seconds())};
    };
  }
  RequestObserver before = std::move(options.observe);
  if (before) {
    options.observe = [self, before = std::move(before)](const RequestEvent& e) {
      before(e);
      self->observe(e);
    };
  } else {
    options.observe = [self](const RequestEvent& e) { self->observe(e); };
  }
}

http::Response ServerGuard::health() const { return impl_->health(); }

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
  http.route("GET", self->opt.health_path,
             [self](const http::Request&, http::Responder& res) -> awaitable<void> {
               if (res.stopping()) self->stopping = true;
               http::Response r = self->health();
               co_await res.send(std::move(r));
             });
  http.on_stop([self] { self->stopping = true; });
}

}  // namespace idp::mcp
