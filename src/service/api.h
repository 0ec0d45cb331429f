// The service's HTTP API (docs/api.md) on an idp::http::Server: what the route handlers share
// (ApiContext) and the registration of each resource's routes, one file per resource:
//   api_auth.cc    /api/config, /api/auth/login, /api/auth/refresh, /api/me
//   api_agents.cc  /api/agents, /api/agents/refresh
//   api_chat.cc    /api/chat/sessions[/{id}[/messages|/events|/cancel]]
//   api_jobs.cc    /api/jobs[/{id}]
//   api_ops.cc     /healthz, /readyz, /metrics
// Every /api route answers JSON errors; every route's answers are counted by route pattern.
// Handlers run on the HTTP server's threads; everything in ApiContext is thread-safe.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "api_common.h"
#include "idp/agents/registry.h"
#include "idp/http/server.h"
#include "idp/llm/model.h"
#include "idp/service/service.h"
#include "store.h"
#include "turn_manager.h"
#include "user_auth.h"

namespace idp::service {

class JobWorker;

struct ApiContext {
  ServiceLimits limits;
  std::string version;
  llm::ModelInfo model;
  std::shared_ptr<UserAuth> auth;
  std::shared_ptr<Store> store;
  std::shared_ptr<agents::AgentRegistry> registry;
  std::shared_ptr<TurnManager> turns;
  std::shared_ptr<JobWorker> jobs;
  RequestRecorder record;                       // may be empty
  std::function<std::string()> metrics_text;    // the /metrics body; empty: no metrics
  std::chrono::milliseconds keepalive{15'000};  // SSE comment interval
  std::atomic<bool> stopping{false};
  // Set once the registry's first start (read + discovery of every entry) has ended.
  std::shared_ptr<std::atomic<bool>> registry_started = std::make_shared<std::atomic<bool>>(false);
};

using Ctx = std::shared_ptr<ApiContext>;
using UserHandler = std::function<boost::asio::awaitable<void>(const http::Request&,
                                                               http::Responder&, const User&)>;

// `handler` with its answers counted under `route`.
http::Handler recorded(Ctx ctx, std::string route, http::Handler handler);
// The same, after authenticating the user (the answer is the 401/403 when that fails).
http::Handler with_user(Ctx ctx, std::string route, UserHandler handler,
                        bool allow_reviewer = false);
// One handler per method for one path; other methods get 405 with Allow.
http::Handler by_method(std::initializer_list<std::pair<std::string, http::Handler>> handlers);

void register_auth_routes(http::Server& server, Ctx ctx);
void register_agent_routes(http::Server& server, Ctx ctx);
void register_chat_routes(http::Server& server, Ctx ctx);
void register_job_routes(http::Server& server, Ctx ctx);
void register_ops_routes(http::Server& server, Ctx ctx);
// 400 naming the first id that is no agent of the registry (any status counts: an unavailable
// agent may come back); nullopt when all are known.
std::optional<http::Response> unknown_agent(const agents::AgentRegistry& registry,
                                            const std::vector<std::string>& ids);
// 400 for a blank text, 413 for one over the character limit; nullopt when fine.
std::optional<http::Response> check_text(const ServiceLimits& limits, std::string_view field,
                                         const std::string& text);

// 404 in the API's shape for every other /api path.
void register_api_fallback(http::Server& server, Ctx ctx);

}  // namespace idp::service
