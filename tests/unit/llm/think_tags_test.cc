#include "idp/llm/think_tags.h"

#include <gtest/gtest.h>

namespace idp::llm {
namespace {

struct Split {
  std::string answer;
  std::string reasoning;
};

Split run(const std::vector<std::string>& pieces) {
  ThinkTagSplitter s;
  Split out;
  auto take = [&](const std::vector<ThinkTagSplitter::Piece>& ps) {
    for (const auto& p : ps) (p.reasoning ? out.reasoning : out.answer) += p.text;
  };
  for (const auto& p : pieces) take(s.feed(p));
  take(s.flush());
  return out;
}

TEST(ThinkTags, ThinkBlockIsReasoningNotAnswer) {
  Split s = run({"<think>The user wants 2+2.</think>The answer is 4."});
  EXPECT_EQ(s.reasoning, "The user wants 2+2.");
  EXPECT_EQ(s.answer, "The answer is 4.");
}

TEST(ThinkTags, ThinkingTagToo) {
  Split s = run({"<thinking>plan</thinking>done"});
  EXPECT_EQ(s.reasoning, "plan");
  EXPECT_EQ(s.answer, "done");
}

TEST(ThinkTags, TagsSplitAcrossEveryPieceBoundary) {
  const std::string text = "Hi <think>step one</think> bye <thinking>x</thinking>!";
  for (std::size_t n = 1; n <= 6; ++n) {
    std::vector<std::string> pieces;
    for (std::size_t i = 0; i < text.size(); i += n) pieces.push_back(text.substr(i, n));
    Split s = run(pieces);
    EXPECT_EQ(s.answer, "Hi  bye !") << "pieces of " << n;
    EXPECT_EQ(s.reasoning, "step onex") << "pieces of " << n;
  }
}

TEST(ThinkTags, OtherAngleBracketsStayAnswerText) {
  Split s = run({"a < b and <b>bold</b> and <thin", "k about it"});
  EXPECT_EQ(s.answer, "a < b and <b>bold</b> and <think about it");
  EXPECT_EQ(s.reasoning, "");
}

TEST(ThinkTags, UnclosedThinkKeepsTheRestAsReasoning) {
  Split s = run({"<think>never ", "closed"});
  EXPECT_EQ(s.reasoning, "never closed");
  EXPECT_EQ(s.answer, "");
}

TEST(ThinkTags, AHeldBackPrefixIsReleasedAtTheEnd) {
  Split s = run({"ends with <thi"});
  EXPECT_EQ(s.answer, "ends with <thi");
}

TEST(ThinkTags, OnlyTheMatchingCloseEndsTheBlock) {
  Split s = run({"<think>a</thinking>b</think>c"});
  EXPECT_EQ(s.reasoning, "a</thinking>b");
  EXPECT_EQ(s.answer, "c");
}

}  // namespace
}  // namespace idp::llm
