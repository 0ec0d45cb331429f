#include "idp/llm/converse_format.h"

#include <gtest/gtest.h>

#include "json_literals.h"

namespace idp::llm {
namespace {

namespace bj = boost::json;

using testing::obj;
using testing::parse;

TEST(ConverseFormat, RequestBodyFollowsTheConverseShapes) {
  ModelRequest r;
  r.system = "Be brief.";
  r.messages.push_back(Message::user_text("Weather?"));
  Message a{Role::kAssistant, {}};
  a.content.push_back(ReasoningBlock{"signed thought", "sig-1"});
  a.content.push_back(ReasoningBlock{"unsigned thought", ""});
  a.content.push_back(TextBlock{""});
  a.content.push_back(ToolUseBlock{"tu_1", "get_weather", obj(R"({"city":"Paris"})")});
  r.messages.push_back(a);
  Message res{Role::kUser, {}};
  res.content.push_back(ToolResultBlock{"tu_1",
                                        parse(R"([
      {"type":"json","json":{"tempC":21}},
      {"type":"json","json":[1,2]},
      {"type":"image","mime_type":"image/jpeg","data":"/9j/"},
      {"type":"image","mime_type":"image/tiff","data":"AAAA"},
      {"type":"text","text":"done"}])")
                                            .as_array(),
                                        true});
  r.messages.push_back(res);
  r.tools.push_back(ToolSpec{"get_weather", "", {{"type", "object"}}});
  r.max_tokens = 256;
  r.temperature = 0.0;
  EXPECT_EQ(converse_request_body(r), parse(R"({
    "messages":[
      {"role":"user","content":[{"text":"Weather?"}]},
      {"role":"assistant","content":[
        {"reasoningContent":{"reasoningText":{"text":"signed thought","signature":"sig-1"}}},
        {"toolUse":{"toolUseId":"tu_1","name":"get_weather","input":{"city":"Paris"}}}]},
      {"role":"user","content":[{"toolResult":{"toolUseId":"tu_1","status":"error","content":[
        {"json":{"tempC":21}},
        {"text":"[1,2]"},
        {"image":{"format":"jpeg","source":{"bytes":"/9j/"}}},
        {"text":"[image/tiff image, 3 bytes, not shown to this model]"},
        {"text":"done"}]}}]}],
    "system":[{"text":"Be brief."}],
    "inferenceConfig":{"maxTokens":256,"temperature":0.0},
    "toolConfig":{"tools":[{"toolSpec":{"name":"get_weather","description":"get_weather",
                                         "inputSchema":{"json":{"type":"object"}}}}]}})"));
}

TEST(ConverseFormat, AnEmptyTurnKeepsItsPlace) {
  ModelRequest r;
  r.messages.push_back(Message::user_text("q"));
  r.messages.push_back(Message{Role::kAssistant, {ReasoningBlock{"x", ""}}});
  r.messages.push_back(Message::user_text("again"));
  bj::object body = converse_request_body(r);
  EXPECT_EQ(body.at("messages").as_array()[1],
            parse(R"J({"role":"assistant","content":[{"text":"(no answer)"}]})J"));
  EXPECT_FALSE(body.contains("toolConfig"));
  EXPECT_FALSE(body.contains("system"));
}

TEST(ConverseFormat, ParsesAWholeAnswer) {
  std::string text, reasoning;
  std::vector<std::string> tools;
  StreamHandlers h;
  h.on_text = [&](std::string_view t) { text += t; };
  h.on_reasoning = [&](std::string_view t) { reasoning += t; };
  h.on_tool_use = [&](const ToolUseBlock& u) { tools.push_back(u.name); };
  auto r = parse_converse_response(obj(R"({"output":{"message":{"role":"assistant","content":[
      {"reasoningContent":{"reasoningText":{"text":"think","signature":"s"}}},
      {"text":"Checking."},
      {"toolUse":{"toolUseId":"tu_9","name":"lookup","input":{"q":"x"}}}]}},
    "stopReason":"tool_use","usage":{"inputTokens":3,"outputTokens":4,"totalTokens":7},"metrics":{"latencyMs":5}})"),
                                   &h);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->stop_reason, StopReason::kToolUse);
  EXPECT_EQ(r->usage.input_tokens, 3);
  EXPECT_EQ(r->usage.output_tokens, 4);
  ASSERT_EQ(r->message.content.size(), 3u);
  EXPECT_EQ(std::get<ReasoningBlock>(r->message.content[0]).signature, "s");
  EXPECT_EQ(text, "Checking.");
  EXPECT_EQ(reasoning, "think");
  EXPECT_EQ(tools, std::vector<std::string>{"lookup"});
  EXPECT_FALSE(parse_converse_response(obj(R"({"output":{}})"), nullptr));
}

TEST(ConverseFormat, StopReasonsMap) {
  EXPECT_EQ(bedrock_stop_reason("end_turn"), StopReason::kEndTurn);
  EXPECT_EQ(bedrock_stop_reason("max_tokens"), StopReason::kMaxTokens);
  EXPECT_EQ(bedrock_stop_reason("model_context_window_exceeded"), StopReason::kMaxTokens);
  EXPECT_EQ(bedrock_stop_reason("guardrail_intervened"), StopReason::kContentFiltered);
  EXPECT_EQ(bedrock_stop_reason("malformed_tool_use"), StopReason::kOther);
}

struct Streamed {
  std::string text, reasoning;
  std::vector<ToolUseBlock> tools;
  StreamHandlers handlers() {
    StreamHandlers h;
    h.on_text = [this](std::string_view t) { text += t; };
    h.on_reasoning = [this](std::string_view t) { reasoning += t; };
    h.on_tool_use = [this](const ToolUseBlock& u) { tools.push_back(u); };
    return h;
  }
};

TEST(ConverseStream, AssemblesReasoningTextAndTwoToolUses) {
  Streamed s;
  StreamHandlers h = s.handlers();
  ConverseStreamAssembler a(&h);
  auto ev = [&](std::string_view type, std::string_view payload) {
    auto r = a.add_event(type, obj(payload));
    ASSERT_TRUE(r) << type << ": " << r.error().message();
  };
  ev("messageStart", R"({"role":"assistant","p":"abcdefgh"})");
  ev("contentBlockDelta",
     R"({"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"Two "}},"p":"ab"})");
  ev("contentBlockDelta",
     R"({"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"tools."}}})");
  ev("contentBlockDelta",
     R"({"contentBlockIndex":0,"delta":{"reasoningContent":{"signature":"SIG"}}})");
  ev("contentBlockStop", R"({"contentBlockIndex":0})");
  ev("contentBlockDelta", R"({"contentBlockIndex":1,"delta":{"text":"Let me "}})");
  ev("contentBlockDelta", R"({"contentBlockIndex":1,"delta":{"text":"check."}})");
  ev("contentBlockStop", R"({"contentBlockIndex":1})");
  ev("contentBlockStart",
     R"({"contentBlockIndex":2,"start":{"toolUse":{"toolUseId":"tu_a","name":"get_weather"}}})");
  ev("contentBlockDelta", R"({"contentBlockIndex":2,"delta":{"toolUse":{"input":"{\"ci"}}})");
  ev("contentBlockDelta",
     R"({"contentBlockIndex":2,"delta":{"toolUse":{"input":"ty\":\"Paris\"}"}}})");
  EXPECT_TRUE(s.tools.empty());
  ev("contentBlockStop", R"({"contentBlockIndex":2})");
  ASSERT_EQ(s.tools.size(), 1u);
  ev("contentBlockStart",
     R"({"contentBlockIndex":3,"start":{"toolUse":{"toolUseId":"tu_b","name":"get_time"}}})");
  ev("contentBlockStop", R"({"contentBlockIndex":3})");
  ev("messageStop", R"({"stopReason":"tool_use","p":"xyz"})");
  ev("metadata",
     R"({"usage":{"inputTokens":10,"outputTokens":20,"totalTokens":30},"metrics":{"latencyMs":1},"p":"q"})");
  EXPECT_TRUE(a.complete());
  auto r = a.finish();
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(s.text, "Let me check.");
  EXPECT_EQ(s.reasoning, "Two tools.");
  ASSERT_EQ(r->message.content.size(), 4u);
  auto& reasoning = std::get<ReasoningBlock>(r->message.content[0]);
  EXPECT_EQ(reasoning.text, "Two tools.");
  EXPECT_EQ(reasoning.signature, "SIG");
  EXPECT_EQ(std::get<TextBlock>(r->message.content[1]).text, "Let me check.");
  auto uses = r->message.tool_uses();
  ASSERT_EQ(uses.size(), 2u);
  EXPECT_EQ(uses[0]->input, obj(R"({"city":"Paris"})"));
  EXPECT_EQ(uses[1]->id, "tu_b");
  EXPECT_TRUE(uses[1]->input.empty());
  EXPECT_EQ(r->stop_reason, StopReason::kToolUse);
  EXPECT_EQ(r->usage.input_tokens, 10);
  EXPECT_EQ(r->usage.output_tokens, 20);
  EXPECT_EQ(s.tools.size(), 2u);
}

TEST(ConverseStream, NoMessageStopIsAnIncompleteAnswer) {
  ConverseStreamAssembler a;
  ASSERT_TRUE(
      a.add_event("contentBlockDelta", obj(R"({"contentBlockIndex":0,"delta":{"text":"cut"}})")));
  auto r = a.finish();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kProtocol);
  EXPECT_NE(r.error().message().find("no messageStop"), std::string::npos);
}

TEST(ConverseStream, BadToolInputNamesTheTool) {
  ConverseStreamAssembler a;
  ASSERT_TRUE(a.add_event(
      "contentBlockStart",
      obj(R"({"contentBlockIndex":0,"start":{"toolUse":{"toolUseId":"t","name":"calc"}}})")));
  ASSERT_TRUE(a.add_event("contentBlockDelta",
                          obj(R"({"contentBlockIndex":0,"delta":{"toolUse":{"input":"[1,2]"}}})")));
  auto r = a.add_event("contentBlockStop", obj(R"({"contentBlockIndex":0})"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("tool 'calc'"), std::string::npos) << r.error().message();
}

TEST(ConverseStream, ContradictoryEventsAreRefused) {
  ConverseStreamAssembler a;
  ASSERT_TRUE(
      a.add_event("contentBlockDelta", obj(R"({"contentBlockIndex":0,"delta":{"text":"a"}})")));
  EXPECT_FALSE(a.add_event("contentBlockDelta",
                           obj(R"({"contentBlockIndex":0,"delta":{"toolUse":{"input":"{}"}}})")));
  ASSERT_TRUE(a.add_event("contentBlockStop", obj(R"({"contentBlockIndex":0})")));
  EXPECT_FALSE(
      a.add_event("contentBlockDelta", obj(R"({"contentBlockIndex":0,"delta":{"text":"b"}})")));
  EXPECT_FALSE(a.add_event("contentBlockDelta", obj(R"({"delta":{"text":"b"}})")));
  ASSERT_TRUE(a.add_event("messageStop", obj(R"({"stopReason":"end_turn"})")));
  EXPECT_FALSE(
      a.add_event("contentBlockDelta", obj(R"({"contentBlockIndex":1,"delta":{"text":"late"}})")));
  // Unknown events are skipped (the service adds new ones).
  ConverseStreamAssembler b;
  EXPECT_TRUE(b.add_event("someNewEvent", obj(R"({"x":1})")));
}

}  // namespace
}  // namespace idp::llm
