// /api/jobs: background questions (PENDING -> PROCESSING -> COMPLETED | FAILED), run by the
// JobWorker; create, list (my last 20), read (with the run's events as steps), delete.
#include <boost/json/object.hpp>

#include "api.h"
#include "idp/core/clock.h"
#include "idp/core/random.h"
#include "job_worker.h"

namespace idp::service {

namespace bj = boost::json;
using boost::asio::awaitable;

namespace {

constexpr std::string_view kPrefix = "/api/jobs/";
constexpr std::int64_t kListed = 20;

bj::object job_json(JobRecord& j, bool with_steps) {
  bj::array agents;
  for (const auto& a : j.agent_ids) agents.emplace_back(a);
  bj::object o{{"job_id", j.id},
               {"query", j.query},
               {"agent_ids", std::move(agents)},
               {"status", j.status},
               {"created_at", format_utc(j.created_at)}};
  if (j.completed_at) o["completed_at"] = format_utc(*j.completed_at);
  if (j.status == "COMPLETED") {
    bj::object result{{"text", j.result_text}};
    if (j.structured) result["structured"] = std::move(*j.structured);
    o["result"] = std::move(result);
  }
  if (!j.error.empty()) o["error"] = j.error;
  if (with_steps) {
    bj::array steps;
    for (auto& s : j.steps) steps.push_back(std::move(s));
    o["steps"] = std::move(steps);
  }
  return o;
}

awaitable<void> create_job(Ctx ctx, const http::Request& req, http::Responder& res, const User& u) {
  auto body = parse_body(req, false);
  if (!body) co_return co_await res.send(std::move(body.error()));
  auto query = required_string(*body, "query");
  if (!query) co_return co_await res.send(std::move(query.error()));
  if (auto bad = check_text(ctx->limits, "query", *query))
    co_return co_await res.send(std::move(*bad));
  auto ids = agent_ids_field(*body);
  if (!ids) co_return co_await res.send(std::move(ids.error()));
  std::vector<std::string> agent_ids = ids->value_or(std::vector<std::string>{});
  if (auto bad = unknown_agent(*ctx->registry, agent_ids))
    co_return co_await res.send(std::move(*bad));
  JobRecord j;
  j.id = "job_" + random_token(16);
  j.owner = u.subject;
  j.query = std::move(*query);
  j.agent_ids = std::move(agent_ids);
  j.created_at = std::chrono::system_clock::now();
  std::string id = j.id;
  auto created =
      co_await ctx->store->create_job(std::move(j), ctx->limits.max_active_jobs_per_user);
  if (!created) co_return co_await res.send(error_response(created.error()));
  ctx->jobs->wake();
  bj::object accepted{{"job_id", id}, {"status", "PENDING"}};
  co_await res.send(json_response(202, accepted));
}

awaitable<void> list_jobs(Ctx ctx, http::Responder& res, const User& u) {
  auto list = co_await ctx->store->list_jobs(u.subject, kListed);
  if (!list) co_return co_await res.send(error_response(list.error()));
  bj::array out;
  for (auto& j : *list) out.push_back(job_json(j, false));
  bj::object body{{"jobs", std::move(out)}};
  co_await res.send(json_response(200, body));
}

awaitable<void> get_job(Ctx ctx, std::string id, http::Responder& res, const User& u) {
  auto j = co_await ctx->store->get_job(u.subject, id);
  if (!j) co_return co_await res.send(error_response(j.error()));
  co_await res.send(json_response(200, job_json(*j, true)));
}

awaitable<void> delete_job(Ctx ctx, std::string id, http::Responder& res, const User& u) {
  auto j = co_await ctx->store->get_job(u.subject, id);
  if (!j) co_return co_await res.send(error_response(j.error()));
  ctx->jobs->cancel(id);  // a running job stops; its outcome finds no row to update
  auto deleted = co_await ctx->store->delete_job(u.subject, id);
  if (!deleted) co_return co_await res.send(error_response(deleted.error()));
  http::Response r = http::Response::empty(204);
  add_api_headers(r);
  co_await res.send(std::move(r));
}

}  // namespace

void register_job_routes(http::Server& server, Ctx ctx) {
  server.route(
      "*", "/api/jobs",
      by_method({{"GET", with_user(ctx, "/api/jobs",
                                   [ctx](const http::Request&, http::Responder& r, const User& u) {
                                     return list_jobs(ctx, r, u);
                                   })},
                 {"POST", with_user(ctx, "/api/jobs",
                                    [ctx](const http::Request& q, http::Responder& r,
                                          const User& u) { return create_job(ctx, q, r, u); })}}));
  auto id_of = [](const http::Request& q) { return std::string(q.path().substr(kPrefix.size())); };
  auto job = by_method(
      {{"GET", with_user(ctx, "/api/jobs/{id}",
                         [ctx, id_of](const http::Request& q, http::Responder& r, const User& u) {
                           return get_job(ctx, id_of(q), r, u);
                         })},
       {"DELETE",
        with_user(ctx, "/api/jobs/{id}",
                  [ctx, id_of](const http::Request& q, http::Responder& r, const User& u) {
                    return delete_job(ctx, id_of(q), r, u);
                  })}});
  server.route_prefix(
      "*", std::string(kPrefix),
      [ctx, job](const http::Request& q, http::Responder& r) -> awaitable<void> {
        if (!is_plain_id(q.path().substr(kPrefix.size()))) {
          co_return co_await r.send(error_response(
              404, "not_found",
              "no API route " + std::string(q.method()) + " " + std::string(q.path())));
        }
        co_await job(q, r);
      });
}

}  // namespace idp::service
