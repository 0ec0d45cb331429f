// Structured answers: a final answer may carry a table or a chart as the reference's
// `responseType` block ({"responseType":"text"|"table"|"plotData","data":...}) in a fenced
// JSON block (```json ... ``` or ``` ... ```), written by a language model or by the offline
// planner. split_structured_answer() finds the first such block, takes it out of the text and
// hands it on as data, untouched. A fenced block that is not JSON, or JSON without a known
// responseType and a "data" member, is ordinary text and stays. Pure; thread-safe.
#pragma once

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace idp::agents {

struct StructuredAnswer {
  std::string text;                          // the answer without the block
  std::optional<boost::json::object> block;  // {"responseType":..., "data":...}
};

StructuredAnswer split_structured_answer(std::string_view answer);

// The text of an answer without its <think>/<thinking> parts (idp/llm/think_tags.h).
std::string strip_thinking(std::string_view text);

}  // namespace idp::agents
