#include "structured_answer.h"

#include "idp/core/json_util.h"
#include "idp/llm/think_tags.h"

namespace idp::agents {

namespace bj = boost::json;

namespace {

bool is_response_block(const bj::value& v) {
  if (!v.is_object()) return false;
  const bj::object& o = v.get_object();
  const bj::string* type = ::idp::json::find_string(o, "responseType");
  if (!type || !o.contains("data")) return false;
  return *type == "text" || *type == "table" || *type == "plotData";
}

std::string_view trim(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

StructuredAnswer split_structured_answer(std::string_view answer) {
  std::size_t from = 0;
  while (true) {
    std::size_t open = answer.find("```", from);
    if (open == std::string_view::npos) break;
    std::size_t line_end = answer.find('\n', open);
    if (line_end == std::string_view::npos) break;
    std::string_view lang = trim(answer.substr(open + 3, line_end - open - 3));
    std::size_t close = answer.find("```", line_end + 1);
    if (close == std::string_view::npos) break;
    std::size_t after = close + 3;
    if (lang.empty() || lang == "json" || lang == "JSON") {
      auto parsed = ::idp::json::parse(answer.substr(line_end + 1, close - line_end - 1));
      if (parsed && is_response_block(*parsed)) {
        std::string before(trim(answer.substr(0, open)));
        std::string_view rest = trim(answer.substr(after));
        if (!before.empty() && !rest.empty()) before += "\n\n";
        before += rest;
        return StructuredAnswer{std::move(before), parsed->get_object()};
      }
    }
    from = after;
  }
  return StructuredAnswer{std::string(answer), std::nullopt};
}

std::string strip_thinking(std::string_view text) {
  llm::ThinkTagSplitter splitter;
  std::string out;
  for (auto& piece : splitter.feed(text)) {
    if (!piece.reasoning) out += piece.text;
  }
  for (auto& piece : splitter.flush()) {
    if (!piece.reasoning) out += piece.text;
  }
  return std::string(trim(out));
}

}  // namespace idp::agents
