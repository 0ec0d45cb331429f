#include "observed_request.h"

#include <fmt/format.h>
#include <boost/json/serialize.hpp>

#include "idp/core/json_util.h"
#include "idp/core/log.h"
#include "streamable_http_checks.h"

namespace idp::mcp {

namespace {

using Clock = std::chrono::steady_clock;

// The method, tool and arguments of a tools/call (or any request) into `seen`.
void take_request(ObservedRequest& seen, const jsonrpc::Message& m) {
  seen.method = m.method;
  if (m.method != "tools/call") return;
  if (const auto* name = ::idp::json::find_string(m.params, "name")) seen.tool = std::string(*name);
  if (auto it = m.params.find("arguments"); it != m.params.end()) {
    seen.arguments = json::value(it->value(), it->value().storage());
  }
}

// The error="..." of a WWW-Authenticate challenge, in our own vocabulary: "missing_token" for
// a challenge without one, "refused" for an error we do not know.
std::string challenge_error(const http::Response& r) {
  auto h = r.headers.get("WWW-Authenticate");
  if (!h) return r.status == 401 ? "missing_token" : fmt::format("http_{}", r.status);
  auto at = h->find("error=\"");
  if (at == std::string_view::npos) return "missing_token";
  auto end = h->find('"', at + 7);
  std::string e(h->substr(at + 7, end == std::string_view::npos ? 0 : end - at - 7));
  if (e == "invalid_token" || e == "insufficient_scope" || e == "invalid_request") return e;
  return "refused";
}

// The JSON-RPC error code in an error answer's body; 0 when it has none.
int rpc_code_of(const http::Response& r) {
  auto j = ::idp::json::parse(r.body);
  if (!j || !j->is_object()) return 0;
  const auto* e = ::idp::json::find_object(j->get_object(), "error");
  if (!e) return 0;
  auto it = e->find("code");
  return it != e->end() && it->value().is_int64() ? static_cast<int>(it->value().get_int64()) : 0;
}

}  // namespace

const char* to_string(RequestOutcome outcome) {
  switch (outcome) {
    case RequestOutcome::kOk:
      return "ok";
    case RequestOutcome::kToolError:
      return "tool_error";
    case RequestOutcome::kInvalid:
      return "invalid";
    case RequestOutcome::kDenied:
      return "denied";
    case RequestOutcome::kRateLimited:
      return "rate_limited";
    case RequestOutcome::kError:
      return "error";
  }
  return "error";
}

void ObservedRequest::report(const RequestObserver& observer, const Identity* identity,
                             RequestOutcome outcome, int rpc_error, int http_status,
                             std::string_view detail) {
  if (!observer || reported.exchange(true)) return;
  RequestEvent e;
  e.trace_id = trace_id;
  e.peer = peer;
  e.session_id = session_id;
  e.identity = identity;
  e.method = method;
  e.tool = tool;
  e.arguments = method == "tools/call" && !arguments.is_null() ? &arguments : nullptr;
  e.outcome = outcome;
  e.rpc_error = rpc_error;
  e.http_status = http_status;
  e.detail = detail;
  e.duration = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
  try {
    observer(e);
  } catch (const std::exception& ex) {
    log::error("the request observer threw (trace {}): {}", trace_id, ex.what());
  }
}

std::shared_ptr<ObservedRequest> observe_request(const StreamableHttpOptions& opt,
                                                 const http::Request& req,
                                                 std::optional<std::string_view> session_id,
                                                 const jsonrpc::Message& m,
                                                 Clock::time_point start) {
  if (!opt.observe) return nullptr;
  auto seen = std::make_shared<ObservedRequest>();
  seen->start = start;
  seen->trace_id = req.trace_id();
  seen->peer = std::string(req.remote_address());
  if (session_id) seen->session_id = std::string(*session_id);
  take_request(*seen, m);
  return seen;
}

void report_refusal(const RequestObserver& observer, ObservedRequest* seen,
                    const Identity* identity, const http::Response& answer) {
  if (!seen) return;
  seen->report(observer, identity, RequestOutcome::kError, rpc_code_of(answer), answer.status);
}

void report_denied(const RequestObserver& observer, const http::Request& req,
                   const http::Response& answer, Clock::time_point start) {
  ObservedRequest seen;
  seen.start = start;
  seen.trace_id = req.trace_id();
  seen.peer = std::string(req.remote_address());
  if (auto sid = req.header("Mcp-Session-Id")) seen.session_id = std::string(*sid);
  if (req.method() != "POST") {
    seen.method = std::string(req.method());  // a GET or DELETE of the endpoint
  } else if (auto doc = ::idp::json::parse(req.body())) {
    if (auto m = jsonrpc::parse(std::move(*doc)); m && m->is_request()) take_request(seen, *m);
  }
  const std::string reason = challenge_error(answer);
  seen.report(observer, nullptr, RequestOutcome::kDenied, rpc_code_of(answer), answer.status,
              reason);
}

void report_finished(const RequestObserver& observer, ObservedRequest& seen, const RequestState& rs,
                     bool has_response) {
  const int early = seen.answered.load();
  const bool streamed = seen.streamed.load();
  if (!has_response) {
    seen.report(observer, &*rs.identity, RequestOutcome::kError, 0,
                early ? early : (streamed ? 200 : 202), "cancelled");
    return;
  }
  const int status = early ? early : (streamed ? 200 : rs.http_status);
  seen.report(observer, &*rs.identity, rs.outcome, rs.rpc_error, status, rs.detail);
}

std::optional<http::Response> apply_limit(const StreamableHttpOptions& opt,
                                          const http::Request& req, const jsonrpc::Message& m,
                                          const Identity& identity, ObservedRequest* seen) {
  if (!opt.limit || !m.is_request()) return std::nullopt;
  std::string_view tool;
  if (m.method == "tools/call") {
    if (const auto* name = ::idp::json::find_string(m.params, "name")) tool = *name;
  }
  auto refusal = opt.limit(RequestInfo{identity, req.remote_address(), m.method, tool});
  if (!refusal) return std::nullopt;
  const long secs = std::max<long>(1, static_cast<long>(refusal->retry_after.count()));
  json::object data{
      {"limit", refusal->limit}, {"rate", refusal->rate}, {"retryAfterSeconds", secs}};
  http::Response r = rpc_error(429, kRateLimitedError,
                               fmt::format("Rate limit exceeded: {} allows {}; retry after {} s",
                                           refusal->limit, refusal->rate, secs),
                               m.id, json::value(std::move(data)));
  r.headers.set("Retry-After", std::to_string(secs));
  if (seen) {
    const std::string detail = refusal->limit + " " + refusal->rate;
    seen->report(opt.observe, &identity, RequestOutcome::kRateLimited, kRateLimitedError, 429,
                 detail);
  }
  return r;
}

}  // namespace idp::mcp
