// OpenAiAssembler builds one assistant turn (a ModelResponse) from an OpenAI-compatible chat
// completions answer: the `chat.completion.chunk` objects of a stream, one at a time, or a whole
// non-streaming `chat.completion`. It follows what OpenAI, Ollama, vLLM and llama.cpp send:
// tool-call deltas are accumulated by `index` (id and name from the chunk that carries them,
// argument fragments appended), several tool calls may share one answer, a call may arrive
// whole in one chunk, ids may be empty (one is made up, "call_<n>", so that results can be
// matched), `reasoning_content` / `reasoning` deltas and <think>...</think> text are
// reasoning, a usage chunk (choices: []) gives token counts. Text and reasoning go to the
// handlers as they arrive; tool uses once their arguments are complete, in finish().
// Not thread-safe: one assembler per answer.
#pragma once

#include <boost/json/object.hpp>

#include <cstddef>
#include <map>
#include <string>

#include "idp/core/error.h"
#include "idp/llm/model.h"
#include "idp/llm/think_tags.h"

namespace idp::llm {

class OpenAiAssembler {
 public:
  static constexpr std::size_t kMaxToolCalls = 128;

  // `handlers` may be null; it must outlive the assembler.
  explicit OpenAiAssembler(const StreamHandlers* handlers = nullptr);

  // One parsed `data:` object of the stream. An `error` member (servers report failures
  // mid-stream that way) or a malformed chunk is an error naming what is wrong.
  Result<void> add_chunk(const boost::json::object& chunk);
  // A whole non-streaming answer.
  Result<void> add_completion(const boost::json::object& completion);

  // The assembled turn. kProtocol when a tool call's arguments are not a JSON object or a call
  // has no name.
  Result<ModelResponse> finish();

  // Whether any text or reasoning went to the handlers (a failed call can then not be retried
  // without showing the user the same words twice).
  bool delivered() const { return delivered_; }
  bool saw_finish_reason() const { return !finish_reason_.empty(); }

 private:
  struct PendingCall {
    std::string id;
    std::string name;
    std::string arguments;
  };
  Result<void> add_error_and_usage(const boost::json::object& o);
  Result<void> add_delta(const boost::json::object& delta, bool whole_message);
  void add_text(std::string_view text);
  void add_reasoning(std::string_view text);

  const StreamHandlers* handlers_;
  ThinkTagSplitter splitter_;
  Message message_{Role::kAssistant, {}};
  std::map<std::int64_t, PendingCall> calls_;  // by index
  std::int64_t last_index_ = -1;
  std::string finish_reason_;
  Usage usage_;
  bool delivered_ = false;
};

// The StopReason of an OpenAI `finish_reason` ("stop", "tool_calls", "length",
// "content_filter"); "stop" with tool calls present is kToolUse (some servers say so).
StopReason openai_stop_reason(std::string_view finish_reason, bool has_tool_calls);

}  // namespace idp::llm
