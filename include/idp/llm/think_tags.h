// ThinkTagSplitter separates a model's "thinking" from its answer in streamed text: whatever
// stands between <think> and </think> (or <thinking> and </thinking>, as DeepSeek-R1, Qwen3
// and others write it into plain content) is reasoning, never answer text. Text arrives in
// pieces of any size, so a tag split across pieces is held back until it is decided; flush()
// releases what is held at the end of the stream. An unclosed tag keeps everything after it as
// reasoning. Not thread-safe: one splitter per stream.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace idp::llm {

class ThinkTagSplitter {
 public:
  struct Piece {
    bool reasoning = false;
    std::string text;
  };

  // The pieces `text` decides, in order (adjacent ones of one kind merged).
  std::vector<Piece> feed(std::string_view text);
  std::vector<Piece> flush();

 private:
  void emit(std::vector<Piece>& out, bool reasoning, std::string_view text);

  bool in_think_ = false;
  std::string closing_;  // the closing tag we wait for
  std::string held_;     // a possible tag prefix at the end of the last piece
};

}  // namespace idp::llm
