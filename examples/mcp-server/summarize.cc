#include "summarize.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>

namespace example {

namespace bj = boost::json;
namespace mcp = idp::mcp;

namespace {

bool sentence_end(char c) { return c == '.' || c == '!' || c == '?'; }

std::string lower(std::string_view w) {
  std::string out(w);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

Summary summarize(std::string_view text) {
  Summary s;
  std::map<std::string, int> counts;
  std::string word;
  std::size_t lead_words = 0;
  bool lead_done = false;
  bool in_sentence = false;
  std::size_t newlines = 0;
  bool in_paragraph = false;
  auto end_word = [&] {
    if (word.empty()) return;
    ++s.words;
    if (word.size() >= 4) ++counts[lower(word)];
    word.clear();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      ++newlines;
    } else if (!std::isspace(u)) {
      if (!in_paragraph || newlines >= 2) ++s.paragraphs;
      in_paragraph = true;
      newlines = 0;
    }
    if (std::isalnum(u) || c == '\'' || c == '-' || u >= 0x80) {
      word += c;
      in_sentence = true;
    } else {
      if (!word.empty() && !lead_done) ++lead_words;
      end_word();
    }
    if (!lead_done) s.lead += c;
    if (sentence_end(c) && in_sentence) {
      ++s.sentences;
      in_sentence = false;
      if (lead_words >= 25 || s.sentences >= 2) lead_done = true;
    }
    if (!lead_done && lead_words >= 60) {
      s.lead += "...";
      lead_done = true;
    }
  }
  end_word();
  if (in_sentence) ++s.sentences;  // a last sentence without its full stop
  // Trim and collapse whitespace in the lead.
  std::string lead;
  for (char c : s.lead) {
    const bool space = std::isspace(static_cast<unsigned char>(c)) != 0;
    if (space && (lead.empty() || lead.back() == ' ')) continue;
    lead += space ? ' ' : c;
  }
  while (!lead.empty() && lead.back() == ' ') lead.pop_back();
  s.lead = std::move(lead);
  std::vector<std::pair<std::string, int>> ranked(counts.begin(), counts.end());
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  for (std::size_t i = 0; i < ranked.size() && i < 5; ++i) s.keywords.push_back(ranked[i].first);
  return s;
}

mcp::Tool summarize_tool() {
  mcp::Tool t;
  t.name = "summarize_document";
  t.title = "Summarize a document";
  t.description =
      "Summarize a document's text: word, sentence and paragraph counts, its most frequent "
      "words and its opening sentences. Slow (it reads the document step by step), so clients "
      "that support MCP tasks get a task handle at once and poll for the result.";
  bj::object text{{"type", "string"},
                  {"minLength", 1},
                  {"maxLength", 1000000},
                  {"description", "the document's plain text"}};
  t.input_schema = bj::object{{"type", "object"},
                              {"properties", bj::object{{"text", std::move(text)}}},
                              {"required", bj::array{"text"}}};
  bj::object count{{"type", "integer"}, {"minimum", 0}};
  t.output_schema = bj::object{
      {"type", "object"},
      {"properties", bj::object{{"words", count},
                                {"sentences", count},
                                {"paragraphs", count},
                                {"keywords", bj::object{{"type", "array"},
                                                        {"items", bj::object{{"type", "string"}}}}},
                                {"lead", bj::object{{"type", "string"}}}}},
      {"required", bj::array{"words", "sentences", "paragraphs", "keywords", "lead"}}};
  mcp::ToolAnnotations a;
  a.read_only_hint = true;
  a.open_world_hint = false;
  t.annotations = a;
  t.task_support = mcp::TaskSupport::kOptional;
  return t;
}

mcp::CallToolResult summary_result(const Summary& s) {
  bj::array keywords;
  std::string listed;
  for (const auto& k : s.keywords) {
    keywords.emplace_back(k);
    listed += (listed.empty() ? "" : ", ") + k;
  }
  mcp::CallToolResult r;
  r.content.push_back(mcp::content::text(fmt::format(
      "{} words, {} sentences, {} paragraphs. Frequent words: {}. It opens: {}", s.words,
      s.sentences, s.paragraphs, listed.empty() ? "(none)" : listed, s.lead)));
  r.structured_content = bj::object{{"words", s.words},
                                    {"sentences", s.sentences},
                                    {"paragraphs", s.paragraphs},
                                    {"keywords", std::move(keywords)},
                                    {"lead", s.lead}};
  return r;
}

}  // namespace example
