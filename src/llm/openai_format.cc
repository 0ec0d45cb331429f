#include "idp/llm/openai_format.h"

#include "idp/core/json_util.h"

namespace idp::llm {

namespace bj = boost::json;

namespace {

void add_user(bj::array& out, const Message& m) {
  std::string text;
  for (const auto& block : m.content) {
    if (const auto* r = std::get_if<ToolResultBlock>(&block)) {
      std::string content = tool_result_text(*r);
      if (r->is_error) content = "The tool failed: " + content;
      if (content.empty()) content = "(no output)";
      out.push_back(bj::object{
          {"role", "tool"}, {"tool_call_id", r->tool_use_id}, {"content", std::move(content)}});
    } else if (const auto* t = std::get_if<TextBlock>(&block)) {
      if (!text.empty() && !t->text.empty()) text += "\n";
      text += t->text;
    }
  }
  // Text of a turn that also carries tool results comes after them: a tool message must follow
  // the assistant message that asked for it.
  if (!text.empty()) out.push_back(bj::object{{"role", "user"}, {"content", std::move(text)}});
}

void add_assistant(bj::array& out, const Message& m) {
  std::string text = m.text();
  bj::array calls;
  for (const ToolUseBlock* u : m.tool_uses()) {
    calls.push_back(bj::object{
        {"id", u->id},
        {"type", "function"},
        {"function",
         bj::object{{"name", u->name}, {"arguments", ::idp::json::serialize(u->input)}}}});
  }
  bj::object msg{{"role", "assistant"}};
  if (text.empty() && !calls.empty()) {
    msg["content"] = nullptr;
  } else {
    msg["content"] = text;  // boost::json copies from a string_view either way
  }
  if (!calls.empty()) msg["tool_calls"] = std::move(calls);
  out.push_back(std::move(msg));
}

}  // namespace

bj::object chat_request_body(const std::string& model, const ModelRequest& request,
                             const ChatRequestOptions& options) {
  bj::array messages;
  if (!request.system.empty()) {
    messages.push_back(bj::object{{"role", "system"}, {"content", request.system}});
  }
  for (const auto& m : request.messages) {
    if (m.role == Role::kUser) {
      add_user(messages, m);
    } else {
      add_assistant(messages, m);
    }
  }
  bj::object body{{"model", model}, {"messages", std::move(messages)}};
  body[options.max_completion_tokens ? "max_completion_tokens" : "max_tokens"] = request.max_tokens;
  if (request.temperature) body["temperature"] = *request.temperature;
  if (!request.tools.empty()) {
    bj::array tools;
    for (const auto& t : request.tools) {
      bj::object fn{{"name", t.name}, {"parameters", t.input_schema}};
      if (!t.description.empty()) fn["description"] = t.description;
      tools.push_back(bj::object{{"type", "function"}, {"function", std::move(fn)}});
    }
    // No tool_choice: "auto" is every server's default (vLLM needs --enable-auto-tool-choice
    // for it either way).
    body["tools"] = std::move(tools);
  }
  if (options.stream) {
    body["stream"] = true;
    body["stream_options"] = bj::object{{"include_usage", true}};
  }
  return body;
}

}  // namespace idp::llm
