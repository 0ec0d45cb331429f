// The `summarize_document {text}` tool: a deliberately slow document summary, the example of a
// long-running tool that runs as an MCP task (Tool::task_support optional). It reads the text in
// ten steps spread over the configured delay, reporting progress (and so the task's
// statusMessage) after each, and stops early when the call or task is cancelled. The summary is
// simple and honest: word, sentence and paragraph counts, the most frequent content words and
// the opening sentences, nothing invented.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "idp/mcp/types.h"

namespace example {

struct Summary {
  std::size_t words = 0;
  std::size_t sentences = 0;
  std::size_t paragraphs = 0;
  std::vector<std::string> keywords;  // the most frequent words of 4+ letters, at most 5
  std::string lead;                   // the first sentences, at most about 60 words
};

Summary summarize(std::string_view text);

idp::mcp::Tool summarize_tool();
// The tool's result for a finished summary (text plus structuredContent).
idp::mcp::CallToolResult summary_result(const Summary& summary);

// The delay of summarize_document: --summarize-delay SECONDS (default 5).
inline constexpr std::chrono::seconds kDefaultSummarizeDelay{5};

}  // namespace example
