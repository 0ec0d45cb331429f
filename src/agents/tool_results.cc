#include "tool_results.h"

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <string>

#include "idp/core/json_util.h"
#include "idp/core/text.h"

namespace idp::agents {

namespace bj = boost::json;

namespace {

std::string_view str(const bj::object& o, std::string_view key) {
  const bj::string* s = ::idp::json::find_string(o, key);
  return s ? std::string_view(*s) : std::string_view{};
}

bj::object text_block(std::string_view text) { return bj::object{{"type", "text"}, {"text", text}}; }

// An MCP content block the model APIs cannot take, in one line.
std::string describe(const bj::object& block) {
  std::string_view type = str(block, "type");
  if (type == "audio") {
    return fmt::format("[{} audio, {} bytes of base64, not shown]", str(block, "mimeType"),
                       str(block, "data").size());
  }
  if (type == "resource_link") {
    return fmt::format("[resource link: {} {}]", str(block, "name"), str(block, "uri"));
  }
  return fmt::format("[{} content, not shown]", type.empty() ? "unknown" : type);
}

bj::object neutral_block(const bj::object& block) {
  std::string_view type = str(block, "type");
  if (type == "text") return text_block(str(block, "text"));
  if (type == "image") {
    return bj::object{
        {"type", "image"}, {"mime_type", str(block, "mimeType")}, {"data", str(block, "data")}};
  }
  if (type == "resource") {
    if (const bj::object* r = ::idp::json::find_object(block, "resource")) {
      if (const bj::string* text = ::idp::json::find_string(*r, "text")) {
        return text_block(fmt::format("[resource {}]\n{}", str(*r, "uri"), std::string_view(*text)));
      }
      return text_block(fmt::format("[resource {} ({}), binary, not shown]", str(*r, "uri"),
                                    str(*r, "mimeType")));
    }
  }
  return text_block(describe(block));
}

std::size_t block_bytes(const bj::object& block) {
  std::string_view type = str(block, "type");
  if (type == "text") return str(block, "text").size();
  if (type == "image") return str(block, "data").size();
  if (const bj::value* j = block.if_contains("json")) return bj::serialize(*j).size();
  return bj::serialize(block).size();
}

}  // namespace

bj::object event_output(const mcp::CallToolResult& result) {
  bj::object out{{"content", result.content}};
  if (result.structured_content) out["structuredContent"] = *result.structured_content;
  return out;
}

bj::object error_output(std::string_view message) {
  return bj::object{{"content", text_content(message)}};
}

bj::array text_content(std::string_view text) { return bj::array{text_block(text)}; }

bj::array model_content(const mcp::CallToolResult& result) {
  bj::array out;
  for (const auto& v : result.content) {
    if (v.is_object()) out.push_back(neutral_block(v.get_object()));
  }
  if (result.structured_content) {
    out.push_back(bj::object{{"type", "json"}, {"json", *result.structured_content}});
  }
  if (out.empty()) out.push_back(text_block("(the tool returned no content)"));
  return out;
}

std::size_t content_bytes(const bj::array& content) {
  std::size_t n = 0;
  for (const auto& v : content) {
    if (v.is_object()) n += block_bytes(v.get_object());
  }
  return n;
}

bj::array shorten_result_content(const bj::array& content, std::size_t max_bytes) {
  std::size_t total = content_bytes(content);
  if (total <= max_bytes) return content;
  bj::array out;
  std::size_t left = max_bytes;
  std::size_t shown = 0;
  for (const auto& v : content) {
    if (!v.is_object() || left == 0) continue;
    const bj::object& block = v.get_object();
    std::size_t size = block_bytes(block);
    if (size <= left) {
      out.push_back(block);
      left -= size;
      shown += size;
      continue;
    }
    std::string_view type = str(block, "type");
    if (type == "image") {
      out.push_back(text_block(fmt::format("[{} image, {} bytes of base64, left out: too large]",
                                           str(block, "mime_type"), size)));
      continue;
    }
    std::string text = type == "text" ? std::string(str(block, "text"))
                       : block.contains("json") ? bj::serialize(block.at("json"))
                                                : bj::serialize(block);
    std::string_view kept = utf8_prefix(text, left);
    out.push_back(text_block(kept));
    shown += kept.size();
    left = 0;
  }
  out.push_back(text_block(fmt::format(
      "[... cut: the tool result has {} bytes; {} are shown. Ask for less (a filter, a page, a "
      "limit) if you need the rest.]",
      total, shown)));
  return out;
}

bj::array frame_result_content(const bj::array& content, std::string_view tool) {
  bj::array out;
  for (const auto& v : content) {
    if (!v.is_object() || str(v.get_object(), "type") != "text") {
      out.push_back(v);
      continue;
    }
    std::string text(str(v.get_object(), "text"));
    for (std::size_t at = text.find("</tool_result"); at != std::string::npos;
         at = text.find("</tool_result", at + 2)) {
      text.replace(at, 2, "<\\/");
    }
    out.push_back(text_block(fmt::format("<tool_result tool=\"{}\">\n{}\n</tool_result>", tool, text)));
  }
  return out;
}

}  // namespace idp::agents
