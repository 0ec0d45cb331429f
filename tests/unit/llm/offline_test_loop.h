// The test harness of the offline model's tests: the test plays the agent loop (calls
// converse, runs the tool uses against scripted tools, sends the results back) and records the
// tool calls and the final answer. Also the example MCP server's tool specs (issue 13) and their
// scripted behaviour. Test-only; not thread-safe.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "idp/llm/offline_planner.h"
#include "idp/llm/providers.h"

namespace idp::llm::offline_test {

namespace bj = boost::json;

inline bj::object obj(std::string_view json) { return bj::parse(json).as_object(); }

inline ToolSpec spec(std::string name, std::string description, std::string_view schema) {
  return ToolSpec{std::move(name), std::move(description), obj(schema)};
}

// The example MCP server's tools (issue 13).
inline std::vector<ToolSpec> example_tools() {
  return {
      spec("calculator",
           "Evaluate an arithmetic expression (+ - * / ^, parentheses, sqrt, sin, cos, log, ...).",
           R"({"type":"object","properties":{"expression":{"type":"string","maxLength":1000}},
               "required":["expression"]})"),
      spec("get_client_address",
           "Look up a client's postal address (and e-mail) by client id, e.g. C-1001.",
           R"({"type":"object","properties":{"client_id":{"type":"string",
               "pattern":"^C-[0-9]{4}$"}},"required":["client_id"]})"),
      spec("send_verification_email",
           "Send a verification e-mail to a client or an address; returns the outbox message id "
           "and status.",
           R"({"type":"object","properties":{
                 "client_id":{"type":"string","pattern":"^C-[0-9]{4}$"},
                 "email":{"type":"string","format":"email"},
                 "subject":{"type":"string","pattern":"^[^\\r\\n]*$"},
                 "idempotency_key":{"type":"string","pattern":"^[A-Za-z0-9._:-]{1,128}$"}},
               "anyOf":[{"required":["client_id"]},{"required":["email"]}]})"),
      spec("list_outbox", "List messages in the e-mail outbox.",
           R"({"type":"object","properties":{
                 "status":{"type":"string","enum":["queued","sent","failed"]},
                 "limit":{"type":"integer","minimum":1,"maximum":100}}})"),
  };
}

// What a scripted tool answers: content blocks and the error flag.
struct Reply {
  bj::array content;
  bool is_error = false;
};
inline Reply structured(std::string text, bj::value json) {
  return Reply{bj::array{bj::object{{"type", "text"}, {"text", std::move(text)}},
                         bj::object{{"type", "json"}, {"json", std::move(json)}}}};
}
inline Reply text_reply(std::string text) {
  return Reply{bj::array{bj::object{{"type", "text"}, {"text", std::move(text)}}}};
}
inline Reply error_reply(std::string text) {
  Reply r = text_reply(std::move(text));
  r.is_error = true;
  return r;
}

inline const bj::object kAda = obj(R"({"client_id":"C-1001","name":"Ada Lovelace",
    "street":"12 Analytical Row","city":"London","postal_code":"N1 7AA","country":"UK",
    "email":"ada@example.com"})");

// The example server's behaviour, scripted.
inline Reply example_server(const ToolUseBlock& use) {
  if (use.name == "calculator") {
    std::string e(use.input.at("expression").as_string());
    static const std::map<std::string, double> kResults{
        {"(12.5 + 7) * 3", 58.5}, {"12*3", 36}, {"12 + 30", 42}};
    auto it = kResults.find(e);
    if (it == kResults.end()) return error_reply("cannot evaluate " + e);
    return structured(bj::serialize(bj::value(it->second)),
                      bj::object{{"expression", e}, {"result", it->second}});
  }
  if (use.name == "get_client_address") {
    std::string id(use.input.at("client_id").as_string());
    if (id != "C-1001") return error_reply("Unknown client " + id);
    return structured("Ada Lovelace, 12 Analytical Row, London N1 7AA, UK", kAda);
  }
  if (use.name == "send_verification_email") {
    std::string to = use.input.contains("email") ? std::string(use.input.at("email").as_string())
                                                 : std::string("ada@example.com");
    return structured("queued msg-0001 to " + to,
                      bj::object{{"message_id", "msg-0001"}, {"status", "queued"}, {"to", to}});
  }
  if (use.name == "list_outbox") {
    return structured("2 messages", obj(R"({"messages":[
        {"message_id":"msg-0001","to":"ada@example.com","subject":"Verify","status":"queued",
         "created_at":"2026-01-05T10:00:00Z"},
        {"message_id":"msg-0002","to":"a.b@example.com","subject":"Verify","status":"queued",
         "created_at":"2026-01-05T10:01:00Z"}]})"));
  }
  return error_reply("unknown tool " + use.name);
}

struct Turn {
  std::vector<ToolUseBlock> calls;          // every tool use, in order
  std::vector<std::size_t> calls_per_step;  // tool uses of each model answer
  std::string text;                         // the final answer
  std::string streamed;                     // on_text chunks, joined
  std::size_t chunks = 0;
  std::vector<Message> messages;  // the conversation after the turn
  Usage usage;                    // of the last model call
};

inline Result<ModelResponse> converse_once(Model& model, const ModelRequest& request,
                                           const StreamHandlers& handlers,
                                           std::shared_ptr<CancelSignal> cancel = nullptr) {
  boost::asio::io_context io;
  std::optional<Result<ModelResponse>> out;
  boost::asio::co_spawn(io, model.converse(request, handlers, std::move(cancel)),
                        [&](std::exception_ptr e, Result<ModelResponse> r) {
                          if (e) std::rethrow_exception(e);
                          out = std::move(r);
                        });
  io.run();
  return std::move(*out);
}

// Plays the agent loop: model turn, tool uses through `server`, results back, until the model
// answers (at most 10 model calls, like the loop's default).
inline Turn run_turn(const std::vector<ToolSpec>& tools, std::vector<Message> messages,
                     const std::function<Reply(const ToolUseBlock&)>& server = example_server) {
  auto model = make_offline_model();
  Turn turn;
  for (int i = 0; i < 10; ++i) {
    ModelRequest request{"You answer with tools.", messages, tools};
    std::vector<ToolUseBlock> streamed_uses;
    StreamHandlers handlers;
    handlers.on_text = [&](std::string_view t) {
      turn.streamed += t;
      ++turn.chunks;
    };
    handlers.on_tool_use = [&](const ToolUseBlock& u) { streamed_uses.push_back(u); };
    auto r = converse_once(*model, request, handlers);
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().to_string());
    if (!r) return turn;
    turn.usage = r->usage;
    messages.push_back(r->message);
    if (r->stop_reason == StopReason::kEndTurn) {
      turn.text = r->message.text();
      turn.messages = std::move(messages);
      return turn;
    }
    EXPECT_EQ(r->stop_reason, StopReason::kToolUse);
    auto uses = r->message.tool_uses();
    EXPECT_EQ(uses.size(), streamed_uses.size());
    turn.calls_per_step.push_back(uses.size());
    Message results{Role::kUser, {}};
    for (const auto* u : uses) {
      turn.calls.push_back(*u);
      Reply reply = server(*u);
      results.content.push_back(ToolResultBlock{u->id, reply.content, reply.is_error});
    }
    messages.push_back(std::move(results));
  }
  ADD_FAILURE() << "the model did not finish within 10 calls";
  return turn;
}

inline Turn ask(const std::vector<ToolSpec>& tools, std::string question,
                const std::function<Reply(const ToolUseBlock&)>& server = example_server) {
  return run_turn(tools, {Message::user_text(std::move(question))}, server);
}

// The fenced ```json block of an answer, parsed.
inline std::optional<bj::object> block_of(const std::string& text) {
  auto b = text.find("```json\n");
  if (b == std::string::npos) return std::nullopt;
  auto e = text.find("\n```", b + 8);
  if (e == std::string::npos) return std::nullopt;
  return bj::parse(text.substr(b + 8, e - b - 8)).as_object();
}

}  // namespace idp::llm::offline_test
