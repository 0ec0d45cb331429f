#include "conversation.h"

#include <set>
#include <string>
#include <variant>

#include "tool_results.h"

namespace idp::agents {

namespace bj = boost::json;

bool is_user_turn(const llm::Message& message) {
  if (message.role != llm::Role::kUser) return false;
  bool text = false;
  for (const auto& block : message.content) {
    if (std::holds_alternative<llm::ToolResultBlock>(block)) return false;
    if (std::holds_alternative<llm::TextBlock>(block)) text = true;
  }
  return text;
}

std::vector<llm::Message> conversation_window(const std::vector<llm::Message>& messages,
                                              std::size_t user_turns, std::size_t current_from) {
  std::size_t begin = 0;
  if (user_turns > 0) {
    std::size_t seen = 0;
    for (std::size_t i = messages.size(); i-- > 0;) {
      if (!is_user_turn(messages[i])) continue;
      begin = i;
      if (++seen == user_turns) break;
    }
  }
  std::vector<llm::Message> out(messages.begin() + static_cast<std::ptrdiff_t>(begin),
                                messages.end());
  for (std::size_t i = 0; i < out.size() && begin + i < current_from; ++i) {
    for (auto& block : out[i].content) {
      if (auto* r = std::get_if<llm::ToolResultBlock>(&block)) {
        r->content = shorten_result_content(r->content, kOldToolResultBytes);
      }
    }
  }
  return out;
}

void close_conversation(std::vector<llm::Message>& messages, std::string_view note) {
  if (messages.empty()) return;
  std::string why(note);
  if (messages.back().role == llm::Role::kAssistant) {
    auto uses = messages.back().tool_uses();
    if (uses.empty()) return;
    llm::Message results{llm::Role::kUser, {}};
    for (const auto* u : uses) {
      results.content.push_back(llm::ToolResultBlock{
          u->id, bj::array{bj::object{{"type", "text"}, {"text", "not run: " + why}}}, true});
    }
    messages.push_back(std::move(results));
  }
  messages.push_back(llm::Message::assistant_text("(no answer: " + why + ")"));
}

}  // namespace idp::agents
