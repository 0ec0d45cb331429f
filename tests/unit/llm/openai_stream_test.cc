#include "idp/llm/openai_stream.h"

#include <gtest/gtest.h>

#include "json_literals.h"

namespace idp::llm {
namespace {

namespace bj = boost::json;

using testing::obj;
using testing::parse;

// A chunk with one choice whose delta is `delta` (JSON text).
bj::object chunk(std::string_view delta, std::string_view finish = "null") {
  return obj(R"({"object":"chat.completion.chunk","choices":[{"index":0,"delta":)" +
             std::string(delta) + R"(,"finish_reason":)" + std::string(finish) + "}]}");
}

struct Seen {
  std::string text;
  std::string reasoning;
  std::vector<ToolUseBlock> tools;
  int text_calls = 0;
  StreamHandlers handlers() {
    StreamHandlers h;
    h.on_text = [this](std::string_view t) {
      text += t;
      ++text_calls;
    };
    h.on_reasoning = [this](std::string_view t) { reasoning += t; };
    h.on_tool_use = [this](const ToolUseBlock& u) { tools.push_back(u); };
    return h;
  }
};

TEST(OpenAiAssembler, TextStreamsThroughTheHandlerAndEndsTheTurn) {
  Seen seen;
  StreamHandlers h = seen.handlers();
  OpenAiAssembler a(&h);
  ASSERT_TRUE(a.add_chunk(chunk(R"({"role":"assistant","content":""})")));
  ASSERT_TRUE(a.add_chunk(chunk(R"({"content":"Hel"})")));
  ASSERT_TRUE(a.add_chunk(chunk(R"({"content":"lo."})")));
  ASSERT_TRUE(a.add_chunk(chunk("{}", R"("stop")")));
  ASSERT_TRUE(a.add_chunk(
      obj(R"({"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":2,"total_tokens":9}})")));
  EXPECT_EQ(seen.text, "Hello.");
  EXPECT_EQ(seen.text_calls, 2);
  auto r = a.finish();
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->message.text(), "Hello.");
  EXPECT_EQ(r->stop_reason, StopReason::kEndTurn);
  EXPECT_EQ(r->raw_stop_reason, "stop");
  EXPECT_EQ(r->usage.input_tokens, 7);
  EXPECT_EQ(r->usage.output_tokens, 2);
}

TEST(OpenAiAssembler, ToolArgumentsAssembledByIndexAcrossChunks) {
  Seen seen;
  StreamHandlers h = seen.handlers();
  OpenAiAssembler a(&h);
  ASSERT_TRUE(a.add_chunk(chunk(
      R"({"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}}]})")));
  ASSERT_TRUE(
      a.add_chunk(chunk(R"({"tool_calls":[{"index":0,"function":{"arguments":"{\"ci"}}]})")));
  // The second call starts, then fragments of both interleave.
  ASSERT_TRUE(a.add_chunk(chunk(
      R"({"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"get_time","arguments":"{\"tz\":"}}]})")));
  ASSERT_TRUE(a.add_chunk(chunk(
      R"({"tool_calls":[{"index":0,"function":{"arguments":"ty\":\"Paris\"}"}},{"index":1,"function":{"arguments":"\"UTC\"}"}}]})")));
  EXPECT_TRUE(seen.tools.empty()) << "tool uses are handed over once complete";
  ASSERT_TRUE(a.add_chunk(chunk("{}", R"("tool_calls")")));
  auto r = a.finish();
  ASSERT_TRUE(r) << r.error().message();
  auto uses = r->message.tool_uses();
  ASSERT_EQ(uses.size(), 2u);
  EXPECT_EQ(uses[0]->id, "call_a");
  EXPECT_EQ(uses[0]->name, "get_weather");
  EXPECT_EQ(uses[0]->input, obj(R"({"city":"Paris"})"));
  EXPECT_EQ(uses[1]->id, "call_b");
  EXPECT_EQ(uses[1]->input, obj(R"({"tz":"UTC"})"));
  EXPECT_EQ(r->stop_reason, StopReason::kToolUse);
  ASSERT_EQ(seen.tools.size(), 2u);
  EXPECT_EQ(seen.tools[1].name, "get_time");
}

TEST(OpenAiAssembler, WholeCallInOneChunkWithEmptyIdGetsAnId) {
  OpenAiAssembler a;
  ASSERT_TRUE(a.add_chunk(chunk(
      R"({"tool_calls":[{"index":0,"id":"","type":"function","function":{"name":"f","arguments":"{\"x\":1}"}},{"index":1,"id":"","type":"function","function":{"name":"g","arguments":"{}"}}]})",
      R"("tool_calls")")));
  auto r = a.finish();
  ASSERT_TRUE(r) << r.error().message();
  auto uses = r->message.tool_uses();
  ASSERT_EQ(uses.size(), 2u);
  EXPECT_FALSE(uses[0]->id.empty());
  EXPECT_NE(uses[0]->id, uses[1]->id);
  EXPECT_EQ(uses[0]->input, obj(R"({"x":1})"));
}

TEST(OpenAiAssembler, StopWithToolCallsIsStillAToolUse) {
  OpenAiAssembler a;
  ASSERT_TRUE(a.add_chunk(
      chunk(R"({"tool_calls":[{"index":0,"id":"c","function":{"name":"f","arguments":""}}]})",
            R"("stop")")));
  auto r = a.finish();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->stop_reason, StopReason::kToolUse);
  EXPECT_EQ(r->raw_stop_reason, "stop");
  EXPECT_TRUE(r->message.tool_uses()[0]->input.empty());  // "" arguments: no input
}

TEST(OpenAiAssembler, MissingIndexContinuesTheLastCallUnlessANewIdStarts) {
  OpenAiAssembler a;
  ASSERT_TRUE(a.add_chunk(
      chunk(R"({"tool_calls":[{"id":"c1","function":{"name":"f","arguments":"{\"a\""}}]})")));
  ASSERT_TRUE(a.add_chunk(chunk(R"({"tool_calls":[{"function":{"arguments":":1}"}}]})")));
  ASSERT_TRUE(a.add_chunk(
      chunk(R"({"tool_calls":[{"id":"c2","function":{"name":"g","arguments":"{}"}}]})")));
  auto r = a.finish();
  ASSERT_TRUE(r) << r.error().message();
  auto uses = r->message.tool_uses();
  ASSERT_EQ(uses.size(), 2u);
  EXPECT_EQ(uses[0]->input, obj(R"({"a":1})"));
  EXPECT_EQ(uses[1]->id, "c2");
}

TEST(OpenAiAssembler, ReasoningFieldsAndThinkTagsAreReasoningNeverText) {
  Seen seen;
  StreamHandlers h = seen.handlers();
  OpenAiAssembler a(&h);
  ASSERT_TRUE(a.add_chunk(chunk(R"({"reasoning_content":"plan "})")));
  ASSERT_TRUE(a.add_chunk(chunk(R"({"reasoning":"more "})")));
  ASSERT_TRUE(a.add_chunk(chunk(R"({"content":"<thi"})")));
  ASSERT_TRUE(a.add_chunk(chunk(R"({"content":"nk>inner</think>Answer"})")));
  ASSERT_TRUE(a.add_chunk(chunk("{}", R"("stop")")));
  auto r = a.finish();
  ASSERT_TRUE(r);
  EXPECT_EQ(seen.text, "Answer");
  EXPECT_EQ(seen.reasoning, "plan more inner");
  EXPECT_EQ(r->message.text(), "Answer");
  ASSERT_EQ(r->message.content.size(), 2u);
  EXPECT_EQ(std::get<ReasoningBlock>(r->message.content[0]).text, "plan more inner");
}

TEST(OpenAiAssembler, ErrorChunkIsAnError) {
  OpenAiAssembler a;
  auto r = a.add_chunk(obj(R"({"error":{"message":"model overloaded","type":"server_error"}})"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("model overloaded"), std::string::npos);
}

TEST(OpenAiAssembler, ArgumentsThatAreNotAnObjectNameTheCall) {
  OpenAiAssembler a;
  ASSERT_TRUE(a.add_chunk(chunk(
      R"({"tool_calls":[{"index":3,"id":"c","function":{"name":"lookup","arguments":"{\"q\": tru"}}]})")));
  auto r = a.finish();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kProtocol);
  EXPECT_NE(r.error().message().find("tool call 3 ('lookup'): the arguments are not a JSON object"),
            std::string::npos)
      << r.error().message();
}

TEST(OpenAiAssembler, MalformedChunksAreRefused) {
  OpenAiAssembler a;
  EXPECT_FALSE(a.add_chunk(obj(R"({"choices":{}})")));
  EXPECT_FALSE(a.add_chunk(chunk(R"({"tool_calls":{}})")));
  EXPECT_FALSE(a.add_chunk(chunk(R"({"tool_calls":[{"index":-1}]})")));
  OpenAiAssembler b;
  ASSERT_TRUE(b.add_chunk(chunk(R"({"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]})")));
  auto r = b.finish();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("has no function name"), std::string::npos);
}

TEST(OpenAiAssembler, TooManyToolCallsIsALimit) {
  OpenAiAssembler a;
  for (std::size_t i = 0; i < OpenAiAssembler::kMaxToolCalls; ++i) {
    ASSERT_TRUE(a.add_chunk(chunk(R"({"tool_calls":[{"index":)" + std::to_string(i) +
                                  R"(,"id":"c","function":{"name":"f"}}]})")));
  }
  auto r = a.add_chunk(chunk(R"({"tool_calls":[{"index":1000,"function":{"name":"f"}}]})"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kResourceExhausted);
}

TEST(OpenAiAssembler, NonStreamingCompletion) {
  Seen seen;
  StreamHandlers h = seen.handlers();
  OpenAiAssembler a(&h);
  ASSERT_TRUE(a.add_completion(obj(R"({"object":"chat.completion","choices":[{"index":0,
      "message":{"role":"assistant","content":"<think>hmm</think>Checking.","tool_calls":[
        {"id":"call_1","type":"function","function":{"name":"a","arguments":"{\"k\":\"v\"}"}},
        {"id":"call_2","type":"function","function":{"name":"b","arguments":"{}"}}]},
      "finish_reason":"tool_calls"}],"usage":{"prompt_tokens":5,"completion_tokens":6}})")));
  auto r = a.finish();
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->message.text(), "Checking.");
  EXPECT_EQ(seen.reasoning, "hmm");
  ASSERT_EQ(r->message.tool_uses().size(), 2u);
  EXPECT_EQ(r->message.tool_uses()[1]->id, "call_2");
  EXPECT_EQ(r->usage.output_tokens, 6);
  EXPECT_EQ(r->stop_reason, StopReason::kToolUse);
  EXPECT_EQ(seen.tools.size(), 2u);
}

TEST(OpenAiAssembler, FinishReasonsMap) {
  EXPECT_EQ(openai_stop_reason("length", false), StopReason::kMaxTokens);
  EXPECT_EQ(openai_stop_reason("content_filter", false), StopReason::kContentFiltered);
  EXPECT_EQ(openai_stop_reason("function_call", false), StopReason::kToolUse);
  EXPECT_EQ(openai_stop_reason("weird", false), StopReason::kOther);
}

}  // namespace
}  // namespace idp::llm
