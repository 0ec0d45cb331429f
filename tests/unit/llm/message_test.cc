#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "idp/llm/model.h"

namespace idp::llm {
namespace {

TEST(Message, RoundTripsEveryBlockKind) {
  std::vector<Message> history{
      Message::user_text("What is 2+2?"),
      Message{Role::kAssistant,
              {ReasoningBlock{"add them", "sig"}, TextBlock{"Let me add."},
               ToolUseBlock{"t1", "calculator", {{"expression", "2+2"}}}}},
      Message{
          Role::kUser,
          {ToolResultBlock{"t1", {boost::json::object{{"type", "text"}, {"text", "4"}}}, false}}},
      Message::assistant_text("4"),
  };
  auto back = messages_from_json(to_json(history));
  ASSERT_TRUE(back) << back.error().to_string();
  ASSERT_EQ(back->size(), 4u);
  EXPECT_EQ(boost::json::value(to_json(*back)), boost::json::value(to_json(history)));
  EXPECT_EQ((*back)[1].text(), "Let me add.");
  ASSERT_EQ((*back)[1].tool_uses().size(), 1u);
  EXPECT_EQ((*back)[1].tool_uses()[0]->name, "calculator");
}

TEST(Message, BadStoredFormsNameThePlace) {
  auto r = messages_from_json(
      boost::json::parse(R"([{"role":"user","content":[{"type":"text","text":"hi"}]},
      {"role":"assistant","content":[{"type":"tool_use","name":"x"}]}])"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("messages[1]"), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("content block 0"), std::string::npos) << r.error().message();
  EXPECT_FALSE(message_from_json(boost::json::parse(R"({"role":"system","content":[]})")));
}

TEST(MakeModel, UnknownSpecsListTheAcceptedForms) {
  boost::asio::any_io_executor none;
  for (const char* spec : {"gpt-4", "bedrock", "bedrock:", "anthropic:claude"}) {
    auto m = make_model(spec, none);
    ASSERT_FALSE(m) << spec;
    EXPECT_EQ(m.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(m.error().message().find("openai:MODEL"), std::string::npos) << m.error().message();
  }
}

}  // namespace
}  // namespace idp::llm
