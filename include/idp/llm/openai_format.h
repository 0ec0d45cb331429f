// A ModelRequest as the body of an OpenAI-compatible `POST /chat/completions`: the system text
// as a system message, tool results as `role: tool` messages right after the assistant message
// that asked for them (their content as text: JSON serialized, images described, since tool
// messages take no images), assistant tool uses as `tool_calls` with JSON-text arguments,
// reasoning left out (these APIs do not take it back), tools as `{"type":"function"}` specs.
// Pure functions; thread-safe.
#pragma once

#include <boost/json/object.hpp>

#include <string>

#include "idp/llm/model.h"

namespace idp::llm {

struct ChatRequestOptions {
  bool stream = true;  // adds "stream": true and "stream_options": {"include_usage": true}
  // OpenAI's newer models refuse `max_tokens`; local servers know only it.
  bool max_completion_tokens = false;
};

boost::json::object chat_request_body(const std::string& model, const ModelRequest& request,
                                      const ChatRequestOptions& options);

}  // namespace idp::llm
