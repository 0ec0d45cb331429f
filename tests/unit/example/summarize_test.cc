// summarize_document's summary: counts, frequent words and the opening sentences, from the text
// alone; and the tool's declaration (a task where the client supports tasks).
#include "summarize.h"

#include <gtest/gtest.h>

namespace example {
namespace {

TEST(Summarize, CountsWordsSentencesAndParagraphs) {
  auto s = summarize(
      "Invoices arrive daily. Each invoice lists items!\n\nPayment terms vary by client. "
      "Some invoices are late?\nThe end");
  EXPECT_EQ(s.words, 18u);
  EXPECT_EQ(s.sentences, 5u);  // the last one has no full stop
  EXPECT_EQ(s.paragraphs, 2u);
  ASSERT_FALSE(s.keywords.empty());
  EXPECT_EQ(s.keywords.front(), "invoices");  // twice, the most frequent word of 4+ letters
  EXPECT_EQ(s.lead, "Invoices arrive daily. Each invoice lists items!");
}

TEST(Summarize, LongOpeningIsCut) {
  std::string text;
  for (int i = 0; i < 100; ++i) text += "word ";
  auto s = summarize(text);
  EXPECT_EQ(s.words, 100u);
  EXPECT_EQ(s.sentences, 1u);
  EXPECT_TRUE(s.lead.ends_with("...")) << s.lead;
  EXPECT_LT(s.lead.size(), 400u);
}

TEST(Summarize, EmptyTextIsAnEmptySummary) {
  auto s = summarize("   \n ");
  EXPECT_EQ(s.words, 0u);
  EXPECT_EQ(s.sentences, 0u);
  EXPECT_EQ(s.paragraphs, 0u);
  EXPECT_TRUE(s.keywords.empty());
  EXPECT_EQ(s.lead, "");
}

TEST(Summarize, ToolRunsAsATaskWhereItCanAndResultMatchesItsSchema) {
  auto t = summarize_tool();
  EXPECT_EQ(t.name, "summarize_document");
  EXPECT_EQ(t.task_support, idp::mcp::TaskSupport::kOptional);
  auto r = summary_result(summarize("One two three four. Five."));
  ASSERT_TRUE(r.structured_content);
  EXPECT_EQ(r.structured_content->at("words").to_number<std::int64_t>(), 5);
  EXPECT_EQ(r.structured_content->at("sentences").to_number<std::int64_t>(), 2);
  EXPECT_FALSE(r.is_error);
}

}  // namespace
}  // namespace example
