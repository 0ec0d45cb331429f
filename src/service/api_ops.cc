// /healthz (the process runs), /readyz (the registry has read the secret and the store answers)
// and /metrics (Prometheus text, when the service has its metrics).
#include <boost/json/object.hpp>

#include "api.h"
#include "idp/core/metrics.h"

namespace idp::service {

namespace bj = boost::json;
using boost::asio::awaitable;

void register_ops_routes(http::Server& server, Ctx ctx) {
  server.route(
      "GET", "/healthz",
      recorded(ctx, "/healthz", [](const http::Request&, http::Responder& res) -> awaitable<void> {
        http::Response r = http::Response::text(200, "ok\n");
        add_api_headers(r);
        co_await res.send(std::move(r));
      }));

  server.route(
      "GET", "/readyz",
      recorded(
          ctx, "/readyz", [ctx](const http::Request&, http::Responder& res) -> awaitable<void> {
            auto store = co_await ctx->store->ping();
            std::string version = ctx->registry->version();
            std::size_t ready = 0, total = 0;
            for (const auto& a : ctx->registry->list_available_agents()) {
              ++total;
              ready += a.status == agents::AgentStatus::kReady;
            }
            std::string reason;
            if (ctx->stopping) {
              reason = "the service is stopping";
            } else if (!store) {
              reason = "the store does not answer: " + store.error().message();
            } else if (!*ctx->registry_started) {
              reason =
                  "the agents are being discovered (" + ctx->registry->source_description() + ")";
            } else if (version.empty()) {
              reason = "the agents' secret has not been read yet (" +
                       ctx->registry->source_description() + ")";
            }
            bj::object body{
                {"ready", reason.empty()},
                {"store", store ? "ok" : store.error().message()},
                {"agents", bj::object{{"version", version}, {"ready", ready}, {"total", total}}}};
            if (!reason.empty()) body["reason"] = reason;
            co_await res.send(json_response(reason.empty() ? 200 : 503, body));
          }));

  server.route("GET", "/metrics",
               recorded(ctx, "/metrics",
                        [ctx](const http::Request&, http::Responder& res) -> awaitable<void> {
                          if (!ctx->metrics_text) {
                            co_return co_await res.send(
                                error_response(404, "not_found", "this build has no metrics"));
                          }
                          http::Response r = http::Response::text(200, ctx->metrics_text());
                          r.headers.set("Content-Type", std::string(MetricsRegistry::kContentType));
                          add_api_headers(r);
                          co_await res.send(std::move(r));
                        }));
}

}  // namespace idp::service
