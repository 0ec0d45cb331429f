// Server-Sent Events framing (WHATWG HTML, "server-sent events"): formatting one event.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace idp::http {

// Formats one event. Multi-line data becomes several "data:" lines; `id` and `event` must not
// contain line breaks (they are dropped if they do). Ends with the blank line that dispatches.
std::string format_sse_event(std::string_view data, std::string_view id = {},
                             std::optional<int> retry_ms = std::nullopt,
                             std::string_view event = {});

// A comment line (": text\n\n"), used as a keep-alive.
std::string format_sse_comment(std::string_view text);

}  // namespace idp::http
