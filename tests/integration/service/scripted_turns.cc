#include "scripted_turns.h"

#include <boost/json/array.hpp>

#include <map>

#include "idp/core/cancel_wait.h"

namespace idp::service::test {

namespace bj = boost::json;
using boost::asio::awaitable;

struct ScriptedTurns::State {
  mutable std::mutex mu;
  std::map<std::string, std::shared_ptr<CancelSignal>> gates;
  std::vector<agents::TurnRequest> requests;

  std::shared_ptr<CancelSignal> gate(const std::string& name) {
    std::lock_guard lock(mu);
    auto& g = gates[name];
    if (!g) g = std::make_shared<CancelSignal>();
    return g;
  }
};

ScriptedTurns::ScriptedTurns() : state_(std::make_shared<State>()) {}

void ScriptedTurns::open(const std::string& name) { state_->gate(name)->cancel(); }

std::vector<agents::TurnRequest> ScriptedTurns::requests() const {
  std::lock_guard lock(state_->mu);
  return state_->requests;
}

namespace {

agents::TurnResult answered(const agents::TurnRequest& req, std::string text) {
  agents::TurnResult r;
  r.ok = true;
  r.final_text = text;
  r.new_messages = {llm::Message::user_text(req.question), llm::Message::assistant_text(text)};
  return r;
}

agents::TurnResult failed(ErrorCode code, std::string message) {
  agents::TurnResult r;
  r.error = Error(code, std::move(message));
  return r;
}

}  // namespace

TurnFunction ScriptedTurns::function() {
  auto state = state_;
  return [state](agents::TurnRequest req, agents::EventSink sink,
                 std::shared_ptr<CancelSignal> cancel) -> awaitable<agents::TurnResult> {
    {
      std::lock_guard lock(state->mu);
      state->requests.push_back(req);
    }
    std::string q = req.question;
    std::string word = q.substr(0, q.find(' '));
    bj::array agents;
    for (const auto& a : req.agent_ids) agents.emplace_back(a);
    sink(bj::object{
        {"type", "turn_start"}, {"agent_ids", agents}, {"model", "scripted"}, {"offline", true}});
    if (word == "hello") {
      sink(bj::object{{"type", "text_delta"}, {"text", "Hel"}});
      sink(bj::object{{"type", "text_delta"}, {"text", "lo"}});
      sink(bj::object{{"type", "usage"}, {"input_tokens", 12}, {"output_tokens", 2}});
      sink(bj::object{{"type", "final"}, {"text", "Hello"}});
      co_return answered(req, "Hello");
    }
    if (word == "tools") {
      for (auto [id, is_error, ms] : {std::tuple{"c1", false, 20}, std::tuple{"c2", true, 5}}) {
        sink(bj::object{{"type", "tool_start"},
                        {"call_id", id},
                        {"agent_id", "echoer"},
                        {"tool", "echo_text"},
                        {"input", bj::object{{"text", "x"}}}});
        sink(bj::object{{"type", "tool_end"},
                        {"call_id", id},
                        {"agent_id", "echoer"},
                        {"tool", "echo_text"},
                        {"is_error", is_error},
                        {"output", bj::object{{"content", bj::array{}}}},
                        {"ms", ms}});
      }
      sink(bj::object{{"type", "final"}, {"text", "used tools"}});
      co_return answered(req, "used tools");
    }
    if (word == "table") {
      bj::object data{{"columns", bj::array{"id", "name"}},
                      {"rows", bj::array{bj::array{1, "a"}, bj::array{2, "b"}, bj::array{3, "c"}}}};
      sink(bj::object{{"type", "structured_data"}, {"responseType", "table"}, {"data", data}});
      sink(bj::object{{"type", "final"}, {"text", "Here is the table."}});
      auto r = answered(req, "Here is the table.");
      r.structured = bj::object{{"responseType", "table"}, {"data", data}};
      co_return r;
    }
    if (word == "wait") {
      sink(bj::object{{"type", "text_delta"}, {"text", "working"}});
      co_await wait_cancelled(cancel);
      sink(bj::object{
          {"type", "error"}, {"code", "cancelled"}, {"message", "the turn was cancelled"}});
      co_return failed(ErrorCode::kCancelled, "the turn was cancelled");
    }
    if (word == "gate") {
      sink(bj::object{{"type", "text_delta"}, {"text", "step1"}});
      auto gate = state->gate(q.substr(q.find(' ') + 1));  // named: GCC 12 and temporaries
      co_await wait_cancelled(std::move(gate));
      sink(bj::object{{"type", "text_delta"}, {"text", "step2"}});
      sink(bj::object{{"type", "final"}, {"text", "done"}});
      co_return answered(req, "done");
    }
    if (word == "stuck") {
      auto gate = state->gate("stuck");
      co_await wait_cancelled(std::move(gate));
      sink(bj::object{{"type", "final"}, {"text", "too late"}});
      co_return answered(req, "too late");
    }
    if (word == "fail") {
      sink(
          bj::object{{"type", "error"}, {"code", "unavailable"}, {"message", "no agent is ready"}});
      co_return failed(ErrorCode::kUnavailable, "no agent is ready");
    }
    std::string text = "echo: " + q;
    sink(bj::object{{"type", "final"}, {"text", text}});
    co_return answered(req, text);
  };
}

}  // namespace idp::service::test
