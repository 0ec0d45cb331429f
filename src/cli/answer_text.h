// How `idp-agents ask` shows an answer on a terminal: the streamed text without the fenced
// ```json block that carries a structured answer (the block arrives again as a structured_data
// event), and that structured answer drawn as text: a table as aligned columns, plotData as the
// chart's numbers per label.
#pragma once

#include <boost/json/object.hpp>

#include <string>
#include <string_view>

namespace idp::cli {

// Filters streamed answer text: passes it through at once, except fenced code blocks whose
// opening line is ```json (held while a line could still become such a fence).
class AnswerTextFilter {
 public:
  // Returns the part of `delta` to print now.
  std::string feed(std::string_view delta);
  // Returns what is held back at the end of the answer (an unterminated line that was not a
  // fence after all).
  std::string finish();

 private:
  std::string line_;      // the current line while it may still open or close a fence
  bool at_line_start_ = true;
  bool in_fence_ = false;
  bool holding_ = false;  // line_ is being held (not printed yet)
};

// A structured_data event's {responseType, data} drawn as text (empty when the shape is not
// one this can draw; the UI and --events still have the data).
std::string render_structured(const boost::json::object& event);

}  // namespace idp::cli
