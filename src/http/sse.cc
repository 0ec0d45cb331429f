#include "idp/http/sse.h"

namespace idp::http {
namespace {
bool has_newline(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }
}  // namespace

std::string format_sse_event(std::string_view data, std::string_view id,
                             std::optional<int> retry_ms, std::string_view event) {
  std::string out;
  out.reserve(data.size() + id.size() + 32);
  if (!event.empty() && !has_newline(event)) out.append("event: ").append(event).append("\n");
  if (!id.empty() && !has_newline(id)) out.append("id: ").append(id).append("\n");
  if (retry_ms) out.append("retry: ").append(std::to_string(*retry_ms)).append("\n");
  // Split on CRLF, CR or LF: each line its own data field.
  std::size_t start = 0;
  for (std::size_t i = 0; i < data.size(); ++i) {
    if (data[i] == '\r' || data[i] == '\n') {
      out.append("data: ").append(data.substr(start, i - start)).append("\n");
      if (data[i] == '\r' && i + 1 < data.size() && data[i + 1] == '\n') ++i;
      start = i + 1;
    }
  }
  out.append("data:");
  if (start < data.size()) out.append(" ").append(data.substr(start));
  out.append("\n\n");
  return out;
}

std::string format_sse_comment(std::string_view text) {
  std::string out = ": ";
  for (char c : text) out += (c == '\r' || c == '\n') ? ' ' : c;
  out += "\n\n";
  return out;
}

}  // namespace idp::http
