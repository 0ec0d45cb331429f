#include "idp/llm/openai_format.h"

#include <gtest/gtest.h>

#include "json_literals.h"

namespace idp::llm {
namespace {

namespace bj = boost::json;

using testing::obj;
using testing::parse;

ModelRequest tool_round_trip() {
  ModelRequest r;
  r.system = "Be brief.";
  r.messages.push_back(Message::user_text("Weather and time in Paris?"));
  Message assistant{Role::kAssistant, {}};
  assistant.content.push_back(ReasoningBlock{"I need two tools.", "sig"});
  assistant.content.push_back(
      ToolUseBlock{"call_1", "get_weather", parse(R"({"city":"Paris"})").as_object()});
  assistant.content.push_back(ToolUseBlock{"call_2", "get_time", {}});
  r.messages.push_back(assistant);
  Message results{Role::kUser, {}};
  results.content.push_back(ToolResultBlock{
      "call_1",
      parse(
          R"([{"type":"json","json":{"tempC":21}},{"type":"image","mime_type":"image/png","data":"AAAA"}])")
          .as_array(),
      false});
  results.content.push_back(
      ToolResultBlock{"call_2", parse(R"([{"type":"text","text":"no clock"}])").as_array(), true});
  results.content.push_back(TextBlock{"Also: be quick."});
  r.messages.push_back(results);
  r.tools.push_back(
      ToolSpec{"get_weather", "Weather by city",
               parse(R"({"type":"object","properties":{"city":{"type":"string"}}})").as_object()});
  r.tools.push_back(ToolSpec{"get_time", "", {{"type", "object"}}});
  r.max_tokens = 100;
  r.temperature = 0.5;
  return r;
}

TEST(OpenAiFormat, ToolRoundTripAsChatMessages) {
  bj::object body = chat_request_body("gpt-x", tool_round_trip(), {});
  EXPECT_EQ(body, parse(R"({
    "model":"gpt-x",
    "messages":[
      {"role":"system","content":"Be brief."},
      {"role":"user","content":"Weather and time in Paris?"},
      {"role":"assistant","content":null,"tool_calls":[
        {"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
        {"id":"call_2","type":"function","function":{"name":"get_time","arguments":"{}"}}]},
      {"role":"tool","tool_call_id":"call_1","content":"{\"tempC\":21}\n[image/png image, 3 bytes, not shown to this model]"},
      {"role":"tool","tool_call_id":"call_2","content":"The tool failed: no clock"},
      {"role":"user","content":"Also: be quick."}],
    "max_tokens":100,
    "temperature":0.5,
    "tools":[
      {"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}},"description":"Weather by city"}},
      {"type":"function","function":{"name":"get_time","parameters":{"type":"object"}}}],
    "stream":true,
    "stream_options":{"include_usage":true}})"));
}

TEST(OpenAiFormat, NoStreamNoToolsAndMaxCompletionTokens) {
  ModelRequest r;
  r.messages.push_back(Message::user_text("hi"));
  r.messages.push_back(Message::assistant_text("hello"));
  r.messages.push_back(Message::user_text("bye"));
  bj::object body = chat_request_body("o3", r, ChatRequestOptions{false, true});
  EXPECT_FALSE(body.contains("stream"));
  EXPECT_FALSE(body.contains("tools"));
  EXPECT_FALSE(body.contains("max_tokens"));
  EXPECT_EQ(body.at("max_completion_tokens"), 4096);
  EXPECT_EQ(body.at("messages").as_array().size(), 3u);
  EXPECT_EQ(body.at("messages").as_array()[1], parse(R"({"role":"assistant","content":"hello"})"));
}

TEST(OpenAiFormat, EmptyToolResultSaysSo) {
  ModelRequest r;
  r.messages.push_back(Message::user_text("q"));
  r.messages.push_back(Message{Role::kAssistant, {ToolUseBlock{"c", "f", {}}}});
  r.messages.push_back(Message{Role::kUser, {ToolResultBlock{"c", {}, false}}});
  bj::object body = chat_request_body("m", r, {});
  EXPECT_EQ(body.at("messages").as_array().back(),
            parse(R"J({"role":"tool","tool_call_id":"c","content":"(no output)"})J"));
}

}  // namespace
}  // namespace idp::llm
