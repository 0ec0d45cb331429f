#include "idp/llm/openai_stream.h"

#include <boost/json/serialize.hpp>

#include "idp/core/json_util.h"
#include "idp/core/random.h"

namespace idp::llm {

namespace bj = boost::json;

namespace {

std::string excerpt(std::string_view text) {
  return text.size() <= 80 ? std::string(text) : std::string(text.substr(0, 80)) + "...";
}

// A string member, or "" (null and absent alike).
std::string_view str(const bj::object& o, std::string_view key) {
  const bj::string* s = ::idp::json::find_string(o, key);
  return s ? std::string_view(*s) : std::string_view();
}

std::optional<std::int64_t> integer(const bj::object& o, std::string_view key) {
  const bj::value* v = o.if_contains(key);
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64() && v->get_uint64() <= std::uint64_t(INT64_MAX)) return v->get_uint64();
  return std::nullopt;
}

// Extends the last block when it is a `Block`, else starts one: deltas of one kind in a row
// make one block.
template <class Block>
void append_to_last(Message& m, std::string_view text) {
  if (!m.content.empty()) {
    if (auto* b = std::get_if<Block>(&m.content.back())) {
      b->text += text;
      return;
    }
  }
  Block b;
  b.text = std::string(text);
  m.content.push_back(std::move(b));
}

}  // namespace

StopReason openai_stop_reason(std::string_view finish_reason, bool has_tool_calls) {
  if (finish_reason == "tool_calls" || finish_reason == "function_call")
    return StopReason::kToolUse;
  if (has_tool_calls && (finish_reason == "stop" || finish_reason.empty())) {
    return StopReason::kToolUse;
  }
  if (finish_reason == "stop" || finish_reason.empty()) return StopReason::kEndTurn;
  if (finish_reason == "length") return StopReason::kMaxTokens;
  if (finish_reason == "content_filter") return StopReason::kContentFiltered;
  return StopReason::kOther;
}

OpenAiAssembler::OpenAiAssembler(const StreamHandlers* handlers) : handlers_(handlers) {}

void OpenAiAssembler::add_text(std::string_view text) {
  if (text.empty()) return;
  append_to_last<TextBlock>(message_, text);
  delivered_ = true;
  if (handlers_ && handlers_->on_text) handlers_->on_text(text);
}

void OpenAiAssembler::add_reasoning(std::string_view text) {
  if (text.empty()) return;
  append_to_last<ReasoningBlock>(message_, text);
  delivered_ = true;
  if (handlers_ && handlers_->on_reasoning) handlers_->on_reasoning(text);
}

Result<void> OpenAiAssembler::add_delta(const bj::object& delta, bool whole_message) {
  // Servers name the thinking differently: vLLM / llama.cpp / DeepSeek `reasoning_content`,
  // Ollama and OpenRouter `reasoning`.
  add_reasoning(str(delta, "reasoning_content"));
  add_reasoning(str(delta, "reasoning"));
  if (std::string_view content = str(delta, "content"); !content.empty()) {
    for (auto& piece : splitter_.feed(content)) {
      piece.reasoning ? add_reasoning(piece.text) : add_text(piece.text);
    }
  }
  const bj::value* calls = delta.if_contains("tool_calls");
  if (!calls || calls->is_null()) return {};
  if (!calls->is_array()) {
    return make_error(
        ErrorCode::kProtocol,
        "\"tool_calls\" is a " + std::string(::idp::json::kind_name(*calls)) + ", not an array");
  }
  std::int64_t position = 0;
  for (const auto& item : calls->get_array()) {
    if (!item.is_object()) {
      return make_error(ErrorCode::kProtocol, "a \"tool_calls\" entry is not an object");
    }
    const bj::object& call = item.get_object();
    std::string_view id = str(call, "id");
    std::int64_t index;
    if (auto i = integer(call, "index"); i && !whole_message) {
      index = *i;
    } else if (whole_message) {
      index = position;
    } else {
      // No index (some older servers): a new id starts a new call, otherwise the last continues.
      bool known = false;
      for (const auto& [k, c] : calls_) known = known || (!id.empty() && c.id == id);
      index = (!id.empty() && !known) || last_index_ < 0 ? last_index_ + 1 : last_index_;
    }
    ++position;
    if (index < 0) return make_error(ErrorCode::kProtocol, "a tool call has a negative index");
    if (!calls_.contains(index) && calls_.size() >= kMaxToolCalls) {
      return make_error(
          ErrorCode::kResourceExhausted,
          "the answer has more than " + std::to_string(kMaxToolCalls) + " tool calls");
    }
    PendingCall& pending = calls_[index];
    last_index_ = std::max(last_index_, index);
    if (!id.empty()) pending.id = std::string(id);
    if (const bj::object* fn = ::idp::json::find_object(call, "function")) {
      if (std::string_view name = str(*fn, "name"); !name.empty()) pending.name = std::string(name);
      if (const bj::value* args = fn->if_contains("arguments")) {
        if (args->is_string()) {
          pending.arguments += std::string_view(args->get_string());
        } else if (args->is_object()) {  // a few servers send the object itself
          pending.arguments += bj::serialize(*args);
        }
      }
    }
  }
  return {};
}

Result<void> OpenAiAssembler::add_error_and_usage(const bj::object& o) {
  if (const bj::value* err = o.if_contains("error"); err && !err->is_null()) {
    std::string message = err->is_string() ? std::string(err->get_string()) : std::string();
    if (err->is_object()) message = std::string(str(err->get_object(), "message"));
    if (message.empty()) message = bj::serialize(*err);
    return make_error(ErrorCode::kUnavailable,
                      "the server reported an error in the middle of the answer: " + message);
  }
  if (const bj::object* usage = ::idp::json::find_object(o, "usage")) {
    usage_.input_tokens = integer(*usage, "prompt_tokens").value_or(usage_.input_tokens);
    usage_.output_tokens = integer(*usage, "completion_tokens").value_or(usage_.output_tokens);
  }
  return {};
}

Result<void> OpenAiAssembler::add_chunk(const bj::object& chunk) {
  if (auto r = add_error_and_usage(chunk); !r) return r;
  const bj::value* choices = chunk.if_contains("choices");
  if (!choices || choices->is_null()) return {};
  if (!choices->is_array()) {
    return make_error(ErrorCode::kProtocol, "\"choices\" is not an array");
  }
  for (const auto& c : choices->get_array()) {
    if (!c.is_object()) return make_error(ErrorCode::kProtocol, "a choice is not an object");
    const bj::object& choice = c.get_object();
    if (integer(choice, "index").value_or(0) != 0) continue;  // we ask for one choice
    if (const bj::object* delta = ::idp::json::find_object(choice, "delta")) {
      if (auto r = add_delta(*delta, false); !r) return r;
    }
    if (std::string_view reason = str(choice, "finish_reason"); !reason.empty()) {
      finish_reason_ = std::string(reason);
    }
  }
  return {};
}

Result<void> OpenAiAssembler::add_completion(const bj::object& completion) {
  if (auto r = add_error_and_usage(completion); !r) return r;
  const bj::array* choices = ::idp::json::find_array(completion, "choices");
  if (!choices || choices->empty() || !choices->front().is_object()) {
    return make_error(ErrorCode::kProtocol, "the answer has no choices");
  }
  const bj::object& choice = choices->front().get_object();
  const bj::object* message = ::idp::json::find_object(choice, "message");
  if (!message) return make_error(ErrorCode::kProtocol, "the answer's choice has no message");
  if (auto r = add_delta(*message, true); !r) return r;
  finish_reason_ = std::string(str(choice, "finish_reason"));
  return {};
}

Result<ModelResponse> OpenAiAssembler::finish() {
  for (auto& piece : splitter_.flush()) {
    piece.reasoning ? add_reasoning(piece.text) : add_text(piece.text);
  }
  ModelResponse out;
  out.message = std::move(message_);
  for (auto& [index, call] : calls_) {
    std::string where = "tool call " + std::to_string(index);
    if (call.name.empty()) {
      return make_error(ErrorCode::kProtocol, where + " has no function name");
    }
    where += " ('" + call.name + "')";
    ToolUseBlock use;
    use.name = call.name;
    use.id = call.id.empty() ? "call_" + std::to_string(index) + "_" + random_token(6) : call.id;
    std::string_view args = call.arguments;
    while (!args.empty() && (args.front() == ' ' || args.front() == '\n')) args.remove_prefix(1);
    if (!args.empty()) {
      auto parsed = ::idp::json::parse(args);
      if (!parsed || !parsed->is_object()) {
        return make_error(ErrorCode::kProtocol,
                          where + ": the arguments are not a JSON object: " + excerpt(args));
      }
      use.input = std::move(parsed->get_object());
    }
    if (handlers_ && handlers_->on_tool_use) handlers_->on_tool_use(use);
    out.message.content.push_back(std::move(use));
  }
  out.raw_stop_reason = finish_reason_;
  out.stop_reason = openai_stop_reason(finish_reason_, !calls_.empty());
  out.usage = usage_;
  return out;
}

}  // namespace idp::llm
