// /api/agents and /api/agents/refresh: the registry's agents with a fix for each that is not
// ready, and the secret check's findings with theirs.
#include <boost/json/object.hpp>

#include "api.h"
#include "idp/agents/advice.h"

namespace idp::service {

namespace bj = boost::json;
using boost::asio::awaitable;

namespace {

bj::object agents_body(const agents::AgentRegistry& registry) {
  bj::array list;
  for (const auto& a : registry.list_available_agents()) {
    bj::object o = agents::to_json(a);
    o["fix"] = agents::advice::fix_for(a);
    list.push_back(std::move(o));
  }
  auto findings = registry.findings();
  bj::array fs = agents::findings_to_json(findings);
  for (std::size_t i = 0; i < fs.size() && i < findings.size(); ++i) {
    fs[i].as_object()["fix"] = agents::advice::fix_for(findings[i]);
  }
  return bj::object{{"agents", std::move(list)},
                    {"version", registry.version()},
                    {"source", registry.source_description()},
                    {"findings", std::move(fs)}};
}

}  // namespace

void register_agent_routes(http::Server& server, Ctx ctx) {
  server.route("*", "/api/agents",
               by_method({{"GET", with_user(ctx, "/api/agents",
                                            [ctx](const http::Request&, http::Responder& res,
                                                  const User&) -> awaitable<void> {
                                              co_await res.send(
                                                  json_response(200, agents_body(*ctx->registry)));
                                            })}}));

  server.route("*", "/api/agents/refresh",
               by_method({{"POST", with_user(ctx, "/api/agents/refresh",
                                             [ctx](const http::Request&, http::Responder& res,
                                                   const User&) -> awaitable<void> {
                                               // A failed read is a finding in the body (the agents
                                               // of the last good version stay).
                                               co_await ctx->registry->refresh();
                                               co_await res.send(
                                                   json_response(200, agents_body(*ctx->registry)));
                                             })}}));
}

}  // namespace idp::service
