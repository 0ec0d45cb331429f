// /api/chat/sessions: create, list, read, delete; send a message (the turn's events as
// text/event-stream); follow a turn from another tab (?after=N / Last-Event-ID); cancel.
#include <boost/asio/this_coro.hpp>
#include <boost/json/object.hpp>

#include <map>

#include "api.h"
#include "idp/core/clock.h"
#include "idp/core/random.h"
#include "remote_follow.h"
#include "sse_stream.h"
#include "text_util.h"

namespace idp::service {

namespace bj = boost::json;
using boost::asio::awaitable;

namespace {

constexpr std::string_view kPrefix = "/api/chat/sessions/";

bj::array strings_json(const std::vector<std::string>& items) {
  bj::array a;
  for (const auto& s : items) a.emplace_back(s);
  return a;
}

bj::object summary_json(const SessionRecord& s) {
  return bj::object{{"session_id", s.id},
                    {"title", s.title},
                    {"agent_ids", strings_json(s.agent_ids)},
                    {"message_count", s.message_count},
                    {"last_message", s.last_message},
                    {"created_at", format_utc(s.created_at)},
                    {"updated_at", format_utc(s.updated_at)},
                    {"running", s.running},
                    {"last_status", s.last_status}};
}

bj::object detail_json(SessionDetail& d) {
  std::map<std::string, bj::array> by_turn;
  for (auto& e : d.events) by_turn[e.turn_id].push_back(std::move(e.event));
  bj::array messages;
  for (auto& m : d.messages) {
    bj::object o{{"message_id", m.id}, {"role", m.role},
                 {"text", m.text},     {"turn_id", m.turn_id},
                 {"status", m.status}, {"created_at", format_utc(m.created_at)}};
    if (m.structured) o["structured"] = std::move(*m.structured);
    if (m.role == "assistant") {
      auto it = by_turn.find(m.turn_id);
      o["events"] = it == by_turn.end() ? bj::array{} : std::move(it->second);
    }
    messages.push_back(std::move(o));
  }
  bj::object o = summary_json(d.session);
  o.erase("message_count");
  o.erase("last_message");
  o["messages"] = std::move(messages);
  return o;
}

// Where a follower resumes: ?after=N and/or Last-Event-ID: N (the later of both), else 0.
// A plain function: GCC 12 mishandles arrays and structured bindings in coroutine frames.
std::expected<std::int64_t, http::Response> event_position(const http::Request& req) {
  std::int64_t after = 0;
  auto check = [&](const char* name,
                   const std::optional<std::string>& value) -> std::optional<http::Response> {
    if (!value || value->empty()) return std::nullopt;
    auto n = parse_count(*value);
    if (!n) {
      return error_response(400, "invalid_argument",
                            std::string(name) + " must be an event number (0, 1, 2...)");
    }
    after = std::max(after, *n);
    return std::nullopt;
  };
  if (auto bad = check("after", query_param(req.query(), "after")))
    return std::unexpected(std::move(*bad));
  std::optional<std::string> last_id;
  if (auto h = req.header("Last-Event-ID")) last_id = std::string(*h);
  if (auto bad = check("Last-Event-ID", last_id)) return std::unexpected(std::move(*bad));
  return after;
}

awaitable<void> create_session(Ctx ctx, const http::Request& req, http::Responder& res,
                               const User& u) {
  auto body = parse_body(req, true);
  if (!body) co_return co_await res.send(std::move(body.error()));
  auto ids = agent_ids_field(*body);
  if (!ids) co_return co_await res.send(std::move(ids.error()));
  std::vector<std::string> agent_ids = ids->value_or(std::vector<std::string>{});
  if (auto bad = unknown_agent(*ctx->registry, agent_ids))
    co_return co_await res.send(std::move(*bad));
  SessionRecord s;
  s.id = "ses_" + random_token(16);
  s.owner = u.subject;
  s.agent_ids = agent_ids;
  s.created_at = s.updated_at = std::chrono::system_clock::now();
  auto created = co_await ctx->store->create_session(s, ctx->limits.max_sessions_per_user);
  if (!created) co_return co_await res.send(error_response(created.error()));
  bj::object out{{"session_id", s.id},
                 {"title", s.title},
                 {"agent_ids", strings_json(s.agent_ids)},
                 {"created_at", format_utc(s.created_at)}};
  co_await res.send(json_response(201, out));
}

awaitable<void> list_sessions(Ctx ctx, const http::Request&, http::Responder& res, const User& u) {
  auto list = co_await ctx->store->list_sessions(u.subject);
  if (!list) co_return co_await res.send(error_response(list.error()));
  bj::array out;
  for (const auto& s : *list) out.push_back(summary_json(s));
  bj::object body{{"sessions", std::move(out)}};
  co_await res.send(json_response(200, body));
}

awaitable<void> get_session(Ctx ctx, std::string id, http::Responder& res, const User& u) {
  auto d = co_await ctx->store->session_detail(u.subject, id);
  if (!d) co_return co_await res.send(error_response(d.error()));
  co_await res.send(json_response(200, detail_json(*d)));
}

awaitable<void> delete_session(Ctx ctx, std::string id, http::Responder& res, const User& u) {
  auto s = co_await ctx->store->get_session(u.subject, id);
  if (!s) co_return co_await res.send(error_response(s.error()));
  // Its later writes find no session and stop; a turn of another replica is told to stop now.
  if (s->running && !ctx->turns->cancel(id)) co_await ctx->store->request_cancel(u.subject, id);
  auto deleted = co_await ctx->store->delete_session(u.subject, id);
  if (!deleted) co_return co_await res.send(error_response(deleted.error()));
  http::Response r = http::Response::empty(204);
  add_api_headers(r);
  co_await res.send(std::move(r));
}

awaitable<void> post_message(Ctx ctx, std::string id, const http::Request& req,
                             http::Responder& res, const User& u) {
  auto body = parse_body(req, false);
  if (!body) co_return co_await res.send(std::move(body.error()));
  auto text = required_string(*body, "text");
  if (!text) co_return co_await res.send(std::move(text.error()));
  if (auto bad = check_text(ctx->limits, "text", *text))
    co_return co_await res.send(std::move(*bad));
  auto ids = agent_ids_field(*body);
  if (!ids) co_return co_await res.send(std::move(ids.error()));
  if (*ids) {
    if (auto bad = unknown_agent(*ctx->registry, **ids))
      co_return co_await res.send(std::move(*bad));
  }
  NewTurn turn{
      .owner = u.subject, .session_id = id, .text = std::move(*text), .agent_ids = std::move(*ids)};
  auto started = co_await ctx->turns->start(std::move(turn));
  if (!started) co_return co_await res.send(error_response(started.error()));
  if (started->busy) {
    co_return co_await res.send(error_response(
        409, "conflict",
        "a turn of this chat session is still running: wait for its answer or cancel it"));
  }
  co_await stream_feed(res, started->feed, ctx->keepalive);
}

awaitable<void> follow_events(Ctx ctx, std::string id, const http::Request& req,
                              http::Responder& res, const User& u) {
  auto position = event_position(req);
  if (!position) co_return co_await res.send(std::move(position.error()));
  std::int64_t after = *position;
  std::string turn_id = query_param(req.query(), "turn_id").value_or("");
  if (!turn_id.empty() && !is_plain_id(turn_id)) {
    co_return co_await res.send(
        error_response(404, "not_found", "turn '" + turn_id + "' was not found"));
  }
  auto s = co_await ctx->store->get_session(u.subject, id);
  if (!s) co_return co_await res.send(error_response(s.error()));
  if (auto feed = ctx->turns->follow(id, turn_id, after)) {
    co_return co_await stream_feed(res, feed, ctx->keepalive);
  }
  auto stored = co_await ctx->store->turn_events(u.subject, id, turn_id, after);
  if (!stored) co_return co_await res.send(error_response(stored.error()));
  if (stored->turn_id.empty()) {
    // Nothing to follow: 204 is also what tells an EventSource to stop reconnecting.
    http::Response r = http::Response::empty(204);
    add_api_headers(r);
    co_return co_await res.send(std::move(r));
  }
  if (stored->status == "running" && ctx->store->shared()) {
    // Another replica runs it (or ran it until it stopped): follow it through the store.
    auto executor = co_await boost::asio::this_coro::executor;
    auto feed = follow_stored_turn(executor, ctx->store, u.subject, id, stored->turn_id, after);
    co_return co_await stream_feed(res, std::move(feed), ctx->keepalive);
  }
  std::vector<FeedItem> items;
  for (const auto& e : stored->events) items.push_back(to_feed_item(e));
  auto replay = EventFeed::replay(std::move(items));  // named: GCC 12 and temporaries
  co_await stream_feed(res, std::move(replay), ctx->keepalive);
}

awaitable<void> cancel_turn(Ctx ctx, std::string id, http::Responder& res, const User& u) {
  auto s = co_await ctx->store->get_session(u.subject, id);
  if (!s) co_return co_await res.send(error_response(s.error()));
  bool cancelled = ctx->turns->cancel(id);
  if (!cancelled && s->running) {
    // The turn runs in another replica (shared store): it is told through the store.
    auto requested = co_await ctx->store->request_cancel(u.subject, id);
    if (!requested) co_return co_await res.send(error_response(requested.error()));
    cancelled = *requested;
  }
  bj::object body{{"cancelled", cancelled}};
  co_await res.send(json_response(202, body));
}

}  // namespace

void register_chat_routes(http::Server& server, Ctx ctx) {
  server.route(
      "*", "/api/chat/sessions",
      by_method(
          {{"GET", with_user(ctx, "/api/chat/sessions",
                             [ctx](const http::Request& q, http::Responder& r, const User& u) {
                               return list_sessions(ctx, q, r, u);
                             })},
           {"POST", with_user(ctx, "/api/chat/sessions",
                              [ctx](const http::Request& q, http::Responder& r, const User& u) {
                                return create_session(ctx, q, r, u);
                              })}}));

  // The id (and the sub-resource) come from the path; each shape is one route for the metrics.
  auto id_of = [](const http::Request& q) {
    return std::string(path_segments(q.path().substr(kPrefix.size())).at(0));
  };
  auto session = by_method(
      {{"GET", with_user(ctx, "/api/chat/sessions/{id}",
                         [ctx, id_of](const http::Request& q, http::Responder& r, const User& u) {
                           return get_session(ctx, id_of(q), r, u);
                         })},
       {"DELETE",
        with_user(ctx, "/api/chat/sessions/{id}",
                  [ctx, id_of](const http::Request& q, http::Responder& r, const User& u) {
                    return delete_session(ctx, id_of(q), r, u);
                  })}});
  auto messages = by_method(
      {{"POST", with_user(ctx, "/api/chat/sessions/{id}/messages",
                          [ctx, id_of](const http::Request& q, http::Responder& r, const User& u) {
                            return post_message(ctx, id_of(q), q, r, u);
                          })}});
  auto events = by_method(
      {{"GET", with_user(ctx, "/api/chat/sessions/{id}/events",
                         [ctx, id_of](const http::Request& q, http::Responder& r, const User& u) {
                           return follow_events(ctx, id_of(q), q, r, u);
                         })}});
  auto cancel = by_method(
      {{"POST", with_user(ctx, "/api/chat/sessions/{id}/cancel",
                          [ctx, id_of](const http::Request& q, http::Responder& r, const User& u) {
                            return cancel_turn(ctx, id_of(q), r, u);
                          })}});
  auto unknown =
      recorded(ctx, "/api/*", [](const http::Request& q, http::Responder& r) -> awaitable<void> {
        co_await r.send(error_response(
            404, "not_found",
            "no API route " + std::string(q.method()) + " " + std::string(q.path())));
      });
  server.route_prefix("*", std::string(kPrefix),
                      [=](const http::Request& q, http::Responder& r) -> awaitable<void> {
                        auto parts = path_segments(q.path().substr(kPrefix.size()));
                        if (parts.empty() || !is_plain_id(parts[0]) || parts.size() > 2) {
                          co_return co_await unknown(q, r);
                        }
                        if (parts.size() == 1) co_return co_await session(q, r);
                        if (parts[1] == "messages") co_return co_await messages(q, r);
                        if (parts[1] == "events") co_return co_await events(q, r);
                        if (parts[1] == "cancel") co_return co_await cancel(q, r);
                        co_await unknown(q, r);
                      });
}

}  // namespace idp::service
