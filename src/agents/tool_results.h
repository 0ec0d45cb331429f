// What the agent loop does with a tool's answer:
//  - the event keeps it whole, as the MCP server sent it (event_output);
//  - the model gets neutral content blocks (idp/llm/model.h): text, images, `structuredContent`
//    as a json block; audio, resources and links described in a line of text (model_content);
//  - cut to the size limit with a marker that says how much was left out (shorten_result_content);
//  - framed as data for a language model: text between <tool_result> tags whose closing tag
//    cannot appear inside, since tool output may carry instructions meant to hijack the model
//    (frame_result_content).
// Pure functions; thread-safe.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <cstddef>
#include <string_view>

#include "idp/mcp/types.h"

namespace idp::agents {

// {"content":[...],"structuredContent":{...}?} as the server returned them.
boost::json::object event_output(const mcp::CallToolResult& result);
// {"content":[{"type":"text","text":message}]}: a transport failure as tool output.
boost::json::object error_output(std::string_view message);

// The result as neutral content blocks for a model.
boost::json::array model_content(const mcp::CallToolResult& result);
// One text block.
boost::json::array text_content(std::string_view text);

// Bytes a block costs (text, serialized JSON, image data).
std::size_t content_bytes(const boost::json::array& content);
// `content` within `max_bytes`: blocks in order while they fit; the block that does not fit is
// cut (text at a UTF-8 boundary; JSON as its text; an image described), later ones dropped, and
// a marker block "[... cut: ...]" added. Unchanged when it fits.
boost::json::array shorten_result_content(const boost::json::array& content, std::size_t max_bytes);

// Text blocks wrapped as <tool_result tool="NAME">...</tool_result> (a "</tool_result" inside is
// broken up); other blocks unchanged.
boost::json::array frame_result_content(const boost::json::array& content, std::string_view tool);

}  // namespace idp::agents
