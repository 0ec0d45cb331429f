// What the store tests share: running one store call to its end, and the records and calls a
// test builds a turn from (a session, a begun turn, appended events, a finished turn).
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "store.h"

namespace idp::service::store_testing {

template <class T>
T run(boost::asio::awaitable<T> op) {
  boost::asio::io_context ioc;
  std::optional<T> out;
  boost::asio::co_spawn(ioc, std::move(op), [&](std::exception_ptr e, T v) {
    if (e) std::rethrow_exception(e);
    out = std::move(v);
  });
  ioc.run();
  return std::move(*out);
}

inline SessionRecord session(std::string id, std::string owner = "alice") {
  SessionRecord r;
  r.id = std::move(id);
  r.owner = std::move(owner);
  r.agent_ids = {"calc"};
  r.created_at = r.updated_at = std::chrono::system_clock::now();
  return r;
}

inline void create(Store& store, std::string id, std::string owner = "alice") {
  auto r = run(store.create_session(session(std::move(id), std::move(owner)), 200));
  ASSERT_TRUE(r) << r.error().message();
}

inline TurnBegun begin(Store& store, std::string sid, std::string turn,
                       std::string owner = "alice") {
  TurnStart t{.session_id = sid,
              .owner = owner,
              .turn_id = turn,
              .user_message_id = turn + "-u",
              .assistant_message_id = turn + "-a",
              .text = "question of " + turn,
              .agent_ids = std::vector<std::string>{"calc"},
              .title = "question of " + turn,
              .preview = "question"};
  auto r = run(store.begin_turn(t));
  EXPECT_TRUE(r) << r.error().message();
  return r ? *r : TurnBegun{};
}

inline std::vector<EventRecord> append(Store& store, std::string sid, std::string turn, int n,
                                       std::string text = {}) {
  std::vector<boost::json::object> events;
  for (int i = 0; i < n; ++i) events.push_back({{"type", "text_delta"}, {"text", "x"}});
  auto r = run(store.append_events(sid, turn, turn + "-a", std::move(events), std::move(text)));
  EXPECT_TRUE(r) << r.error().message();
  return r ? *r : std::vector<EventRecord>{};
}

inline EventRecord finish(Store& store, std::string sid, std::string turn, std::string answer) {
  namespace bj = boost::json;
  TurnEnd e{
      .session_id = sid,
      .turn_id = turn,
      .assistant_message_id = turn + "-a",
      .status = "complete",
      .text = answer,
      .structured = bj::object{{"responseType", "table"}, {"data", bj::array{1, 2}}},
      .terminal_event = {{"type", "final"}, {"text", answer}},
      .new_messages = bj::array{bj::object{{"role", "user"}}, bj::object{{"role", "assistant"}}},
      .preview = answer};
  auto r = run(store.finish_turn(e));
  EXPECT_TRUE(r) << r.error().message();
  return r ? r->terminal : EventRecord{};
}

}  // namespace idp::service::store_testing
