// The JSON of Bedrock Runtime's Converse API: a ModelRequest as a Converse / ConverseStream
// request body, a Converse answer as a ModelResponse, and ConverseStreamAssembler, which builds
// the same ModelResponse from the events of a ConverseStream (messageStart, contentBlockStart,
// contentBlockDelta with text / toolUse input fragments / reasoningContent, contentBlockStop,
// messageStop, metadata). Unknown members (the random "p" padding of every event) and unknown
// event types are ignored. Tool-use input arrives as JSON text in pieces and is parsed at its
// contentBlockStop. Not thread-safe: one assembler per answer; the functions are pure.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "idp/core/error.h"
#include "idp/llm/model.h"

namespace idp::llm {

// {"messages":[...],"system":[{"text"}],"inferenceConfig":{...},"toolConfig":{"tools":[...]}}.
// Tool results become toolResult blocks (JSON objects as json, PNG/JPEG/GIF/WebP images as
// image, anything else as text); reasoning goes back only with its signature (Bedrock refuses
// it otherwise); empty text is left out (Bedrock refuses blank text).
boost::json::object converse_request_body(const ModelRequest& request);

// The StopReason of a Converse stopReason ("end_turn", "tool_use", "max_tokens", ...).
StopReason bedrock_stop_reason(std::string_view stop_reason);

// A whole Converse answer; text and tool uses are handed to `handlers` (may be null) at once.
Result<ModelResponse> parse_converse_response(const boost::json::object& body,
                                              const StreamHandlers* handlers);

class ConverseStreamAssembler {
 public:
  explicit ConverseStreamAssembler(const StreamHandlers* handlers = nullptr)
      : handlers_(handlers) {}

  // One event: its :event-type and JSON payload. kProtocol when the event contradicts the
  // ones before it or a tool's input is not a JSON object.
  Result<void> add_event(std::string_view type, const boost::json::object& payload);

  // The assembled turn; kProtocol when messageStop never came.
  Result<ModelResponse> finish();

  bool delivered() const { return delivered_; }
  bool complete() const { return stopped_; }

 private:
  enum class Kind { kUnknown, kText, kReasoning, kToolUse };
  struct Block {
    Kind kind = Kind::kUnknown;
    std::string text;  // text, reasoning text or tool input JSON
    std::string signature;
    std::string tool_use_id;
    std::string name;
    bool closed = false;
    json::object input;
  };
  Result<Block*> block_for(const boost::json::object& payload, Kind kind);
  Result<void> close(std::int64_t index, Block& block);

  const StreamHandlers* handlers_;
  std::map<std::int64_t, Block> blocks_;
  std::string stop_reason_;
  bool stopped_ = false;
  Usage usage_;
  bool delivered_ = false;
};

}  // namespace idp::llm
