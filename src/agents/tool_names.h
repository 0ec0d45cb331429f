// Tool names as a language model sees them. Bedrock and OpenAI accept only
// ^[a-zA-Z0-9_-]{1,64}$, while MCP tool names (and agent ids) may hold dots, spaces, non-ASCII
// letters and be longer. ToolNameMap gives every original name a model name that fits, unique
// within the map, and maps it back. The mapping is a function of the names and their order, so
// the same tool list gives the same names on every turn (the stored history keeps them).
// Not thread-safe; one map per agent per turn.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace idp::agents {

inline constexpr std::size_t kMaxModelToolName = 64;

// Whether `name` fits ^[a-zA-Z0-9_-]{1,64}$.
bool is_model_tool_name(std::string_view name);

// `name` made to fit: every run of other bytes (a UTF-8 letter is one run) becomes one "_"; an
// empty result is "tool"; a name that changed or is too long is cut and ends in "_" and 8 hex
// digits of a hash of the original, so that two names that differ only in the dropped part stay
// apart.
std::string sanitize_tool_name(std::string_view name);

class ToolNameMap {
 public:
  // Adds `original` and returns its model name (the same one again for a name already added).
  const std::string& add(const std::string& original);
  // The original name for a model name; nullopt for a name this map never gave out.
  std::optional<std::string> original(std::string_view model_name) const;
  std::size_t size() const { return to_model_.size(); }

 private:
  std::unordered_map<std::string, std::string> to_model_;
  std::unordered_map<std::string, std::string> to_original_;
};

}  // namespace idp::agents
