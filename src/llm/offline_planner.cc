// The offline model: each converse() call reads the conversation state (the current question,
// the tool calls made for it and their results), plans the question again from scratch, and
// either asks for the calls of the plan that have not been made yet or writes the final answer.
// Planning from scratch each time keeps it stateless and deterministic: the same request always
// gives the same answer, and a call already made (even one that failed) is never made again.
#include <boost/asio/awaitable.hpp>

#include <algorithm>
#include <set>

#include "idp/core/crypto.h"
#include "idp/core/json_util.h"
#include "idp/llm/offline_planner.h"
#include "idp/llm/providers.h"

namespace idp::llm {
namespace offline {
namespace {

namespace bj = boost::json;

// Tool calls for one question before the planner answers with what it has.
constexpr std::size_t kMaxCallsPerQuestion = 12;

struct Call {
  const ToolUseBlock* use = nullptr;
  const ToolResultBlock* result = nullptr;
};

struct State {
  std::size_t question_index = 0;
  std::string question;
  std::vector<Call> calls;           // made for this question, in order
  std::size_t tool_uses_before = 0;  // tool uses in the whole request (for unique ids)
};

bool is_question(const Message& m) {
  if (m.role != Role::kUser) return false;
  bool text = false;
  for (const auto& block : m.content) {
    if (std::holds_alternative<ToolResultBlock>(block)) return false;
    if (std::holds_alternative<TextBlock>(block)) text = true;
  }
  return text;
}

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

std::optional<State> read_state(const ModelRequest& request) {
  const auto& msgs = request.messages;
  std::optional<std::size_t> q;
  for (std::size_t i = msgs.size(); i-- > 0;) {
    if (is_question(msgs[i])) {
      q = i;
      break;
    }
  }
  if (!q) return std::nullopt;
  State s;
  s.question_index = *q;
  s.question = trim(msgs[*q].text());
  if (s.question.empty()) return std::nullopt;
  std::vector<const ToolResultBlock*> results;
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    for (const auto& block : msgs[i].content) {
      if (const auto* use = std::get_if<ToolUseBlock>(&block)) {
        ++s.tool_uses_before;
        if (i > *q) s.calls.push_back({use, nullptr});
      } else if (const auto* r = std::get_if<ToolResultBlock>(&block); r && i > *q) {
        results.push_back(r);
      }
    }
  }
  for (auto& c : s.calls) {
    for (const auto* r : results) {
      if (r->tool_use_id == c.use->id) c.result = r;
    }
  }
  return s;
}

Evidence evidence_of(const std::vector<Call>& calls) {
  Evidence e;
  for (const auto& c : calls) {
    if (!c.result || c.result->is_error) continue;
    if (auto v = structured_result(*c.result)) e.structured.push_back(std::move(*v));
    if (auto t = result_text(*c.result); !t.empty()) e.texts.push_back(std::move(t));
  }
  return e;
}

// One part of the question and the tool that answers it.
struct Task {
  std::string part;
  std::size_t tool = 0;
  Arguments args;
  std::optional<Provider> provider;  // a tool to call first for a missing argument
};

Task make_task(const std::vector<ToolSpec>& tools, std::size_t tool, const Analysis& part,
               const Analysis& whole, const Evidence& evidence) {
  Task t{part.text, tool, fill_arguments(tools[tool], part, whole, evidence), std::nullopt};
  for (const auto& name : t.args.missing) {
    t.provider = find_provider(tools, tool, name, part);
    if (!t.provider && &part != &whole) t.provider = find_provider(tools, tool, name, whole);
    if (t.provider) break;
  }
  return t;
}

// "the addresses of C-1001 and C-1002": one call per value when the part holds several values
// for the same id-like parameter (one with a pattern or format).
std::vector<Task> fan_out(Task task, const Analysis& part, const std::vector<ToolSpec>& tools) {
  constexpr std::size_t kMaxFanOut = 5;
  if (!task.args.missing.empty()) return {std::move(task)};
  for (const auto& [key, value] : task.args.args) {
    const bj::object& schema = property_schema(tools[task.tool], key);
    if (!value.is_string() || !(schema.contains("pattern") || schema.contains("format"))) continue;
    std::vector<std::string> values;
    for (const auto& e : part.entities) {
      if (e.kind == EntityKind::kWord || !fits_schema(bj::value(e.value), schema)) continue;
      if (std::find(values.begin(), values.end(), e.value) == values.end()) {
        values.push_back(e.value);
      }
    }
    if (values.size() < 2 || values.front() != value.get_string()) continue;
    std::vector<Task> out;
    std::string name(key);
    for (std::size_t i = 0; i < values.size() && i < kMaxFanOut; ++i) {
      Task copy = task;
      copy.args.args[name] = values[i];
      out.push_back(std::move(copy));
    }
    return out;
  }
  return {std::move(task)};
}

// Parts of the question with a tool each: a part no tool fits joins its neighbour, and
// neighbouring parts for the same tool join unless each alone has its arguments ("the address
// of C-1001 and of C-1002"). A sub-agent gets the whole of its parts.
std::vector<Task> plan(const std::string& question, const std::vector<ToolSpec>& tools,
                       const Evidence& evidence) {
  Analysis whole = analyse(question);
  struct Group {
    Span span;
    std::optional<std::size_t> tool;
    bool complete = false;
  };
  std::vector<Group> groups;
  auto spans = split_question(whole);
  if (spans.size() > 1) {
    for (const auto& sp : spans) {
      Analysis piece = analyse(std::string_view(question).substr(sp.begin, sp.end - sp.begin));
      auto best = best_tool(piece, tools);
      Group g{sp, best ? std::optional<std::size_t>(best->index) : std::nullopt, false};
      if (best) {
        auto a = fill_arguments(tools[best->index], piece, piece, Evidence{});
        g.complete = a.missing.empty() && a.filled_from_question > 0;
      }
      if (groups.empty()) {
        groups.push_back(g);
        continue;
      }
      Group& last = groups.back();
      bool join = !g.tool || !last.tool ||
                  (*g.tool == *last.tool &&
                   !(last.complete && g.complete && !takes_whole_question(tools[*g.tool])));
      if (!join) {
        groups.push_back(g);
        continue;
      }
      last.span.end = g.span.end;
      if (!last.tool) {
        last.tool = g.tool;
        last.complete = g.complete;
      }
    }
  }
  std::vector<Task> tasks;
  bool parts = groups.size() > 1 &&
               std::all_of(groups.begin(), groups.end(), [](const Group& g) { return g.tool; });
  if (parts) {
    for (const auto& g : groups) {
      Analysis part =
          analyse(std::string_view(question).substr(g.span.begin, g.span.end - g.span.begin));
      auto best = best_tool(part, tools);
      for (auto& t : fan_out(make_task(tools, best ? best->index : *g.tool, part, whole, evidence),
                             part, tools)) {
        tasks.push_back(std::move(t));
      }
    }
  } else if (auto best = best_tool(whole, tools)) {
    tasks = fan_out(make_task(tools, best->index, whole, whole, evidence), whole, tools);
  }
  // The same call asked twice is made once.
  std::vector<Task> unique;
  for (auto& t : tasks) {
    bool seen = std::any_of(unique.begin(), unique.end(), [&](const Task& u) {
      return u.tool == t.tool && u.args.args == t.args.args && u.args.missing == t.args.missing;
    });
    if (!seen) unique.push_back(std::move(t));
  }
  return unique;
}

bool unresolved(const std::vector<Task>& tasks) {
  return tasks.empty() || std::all_of(tasks.begin(), tasks.end(), [](const Task& t) {
           return !t.args.missing.empty() && !t.provider;
         });
}

// When the question answers the planner's own question back ("I need more information to call
// ..."), the earlier question and this answer are read together.
std::optional<std::string> follow_up(const ModelRequest& request, const State& state) {
  const auto& msgs = request.messages;
  if (state.question_index == 0) return std::nullopt;
  const Message& before = msgs[state.question_index - 1];
  if (before.role != Role::kAssistant || !trim(before.text()).starts_with(kAskPrefix)) {
    return std::nullopt;
  }
  for (std::size_t i = state.question_index - 1; i-- > 0;) {
    if (is_question(msgs[i])) return trim(msgs[i].text()) + " " + state.question;
  }
  return std::nullopt;
}

std::string call_id(const State& state, std::size_t n) {
  return "offline-" + crypto::sha256_hex(state.question).substr(0, 8) + "-" +
         std::to_string(state.tool_uses_before + n + 1);
}

}  // namespace

Result<Decision> decide(const ModelRequest& request) {
  auto state = read_state(request);
  if (!state) {
    return make_error(ErrorCode::kInvalidArgument,
                      "offline planner: the request has no user question (the last user message "
                      "with text)");
  }
  const auto& tools = request.tools;
  Decision d;
  if (tools.empty()) {
    d.text = write_no_tools();
    return d;
  }
  if (is_capability_question(state->question)) {
    d.text = write_tool_list(tools);
    return d;
  }
  std::string question = state->question;
  if (unresolved(plan(question, tools, Evidence{}))) {
    if (auto merged = follow_up(request, *state); merged && !unresolved(plan(*merged, tools, {}))) {
      question = *merged;
    }
  }
  Evidence evidence = evidence_of(state->calls);
  std::vector<Task> tasks = plan(question, tools, evidence);
  if (tasks.empty()) {
    d.text = write_no_match(tools);
    return d;
  }

  auto find_call = [&](const std::string& name, const bj::object& input) -> const Call* {
    for (const auto& c : state->calls) {
      if (c.use->name == name && c.use->input == input) return &c;
    }
    return nullptr;
  };
  auto want = [&](const std::string& name, const bj::object& input) {
    bool dup = std::any_of(d.tool_uses.begin(), d.tool_uses.end(), [&](const ToolUseBlock& u) {
      return u.name == name && u.input == input;
    });
    if (!dup) d.tool_uses.push_back({call_id(*state, d.tool_uses.size()), name, input});
  };
  std::vector<const Call*> task_call(tasks.size(), nullptr);      // the task's own call
  std::vector<const Call*> provider_call(tasks.size(), nullptr);  // a provider that did not help
  std::set<const Call*> attributed;
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    const Task& t = tasks[i];
    if (t.args.missing.empty()) {
      if (const Call* c = find_call(tools[t.tool].name, t.args.args)) {
        task_call[i] = c;
        attributed.insert(c);
      } else {
        want(tools[t.tool].name, t.args.args);
      }
    } else if (t.provider) {
      const std::string& name = tools[t.provider->index].name;
      if (const Call* c = find_call(name, t.provider->args)) {
        provider_call[i] = c;
        attributed.insert(c);
      } else {
        want(name, t.provider->args);
      }
    }
  }
  if (state->calls.size() >= kMaxCallsPerQuestion) d.tool_uses.clear();
  if (!d.tool_uses.empty()) return d;

  // The answer: steps that fed other calls first, then each part in order.
  auto outcome = [](const Call* c) { return Outcome{c->use->name, c->use->input, c->result}; };
  std::vector<std::string> sections;
  bool block_free = true;
  std::vector<Outcome> steps;
  for (const auto& c : state->calls) {
    if (!attributed.contains(&c)) steps.push_back(outcome(&c));
  }
  bool several = tasks.size() > 1 || !steps.empty();
  auto add = [&](const std::vector<Outcome>& outcomes, std::string_view part) {
    Written w = write_outcomes(outcomes, part, block_free, several);
    if (w.block) block_free = false;
    sections.push_back(std::move(w.text));
  };
  if (!steps.empty()) add(steps, question);
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    const Task& t = tasks[i];
    if (task_call[i]) {
      add({outcome(task_call[i])}, t.part);
    } else if (!t.args.missing.empty()) {
      if (provider_call[i]) add({outcome(provider_call[i])}, t.part);
      sections.push_back(write_missing(tools[t.tool], t.args));
    } else {
      sections.push_back("I stopped before calling " + tools[t.tool].name + ": this question " +
                         "already took " + std::to_string(state->calls.size()) + " tool calls.");
    }
  }
  for (const auto& s : sections) d.text += (d.text.empty() ? "" : "\n\n") + s;
  if (d.text.empty()) d.text = write_no_match(tools);
  return d;
}

}  // namespace offline

namespace {

// Streamed text comes in chunks of about this many bytes (whole lines).
constexpr std::size_t kChunkBytes = 80;

std::int64_t estimate_tokens(std::size_t chars) {
  return std::max<std::int64_t>(1, static_cast<std::int64_t>((chars + 3) / 4));
}

std::size_t request_chars(const ModelRequest& r) {
  std::size_t n = r.system.size();
  for (const auto& m : r.messages) {
    for (const auto& block : m.content) {
      if (const auto* t = std::get_if<TextBlock>(&block)) {
        n += t->text.size();
      } else if (const auto* u = std::get_if<ToolUseBlock>(&block)) {
        n += u->name.size() + ::idp::json::serialize(u->input).size();
      } else if (const auto* res = std::get_if<ToolResultBlock>(&block)) {
        n += ::idp::json::serialize(res->content).size();
      }
    }
  }
  for (const auto& t : r.tools) {
    n += t.name.size() + t.description.size() + ::idp::json::serialize(t.input_schema).size();
  }
  return n;
}

// Whole lines, about kChunkBytes at a time (a line break is never split from its line).
std::vector<std::string> chunks_of(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  std::size_t i = 0;
  while (i < text.size()) {
    auto nl = text.find('\n', i);
    std::size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
    cur += text.substr(i, end - i);
    i = end;
    if (cur.size() >= kChunkBytes) {
      out.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

class OfflineModel final : public Model {
 public:
  OfflineModel() {
    info_.spec = "offline";
    info_.provider = "offline";
    info_.offline = true;
  }

  boost::asio::awaitable<Result<ModelResponse>> converse(
      const ModelRequest& request, const StreamHandlers& handlers,
      std::shared_ptr<CancelSignal> cancel) override {
    if (cancel && cancel->cancelled()) {
      co_return make_error(ErrorCode::kCancelled, "offline planner: the turn was cancelled");
    }
    auto decision = offline::decide(request);
    if (!decision) co_return std::unexpected(decision.error());
    ModelResponse response;
    response.message.role = Role::kAssistant;
    std::size_t out_chars = 0;
    if (!decision->tool_uses.empty()) {
      for (auto& use : decision->tool_uses) {
        out_chars += use.name.size() + ::idp::json::serialize(use.input).size();
        if (handlers.on_tool_use) handlers.on_tool_use(use);
        response.message.content.emplace_back(std::move(use));
      }
      response.stop_reason = StopReason::kToolUse;
      response.raw_stop_reason = "tool_use";
    } else {
      for (const auto& chunk : chunks_of(decision->text)) {
        if (handlers.on_text) handlers.on_text(chunk);
      }
      out_chars = decision->text.size();
      response.message.content.emplace_back(TextBlock{std::move(decision->text)});
      response.stop_reason = StopReason::kEndTurn;
      response.raw_stop_reason = "end_turn";
    }
    // Estimated, not counted: about four bytes of text per token (docs/offline-planner.md).
    response.usage.input_tokens = estimate_tokens(request_chars(request));
    response.usage.output_tokens = estimate_tokens(out_chars);
    co_return response;
  }

  const ModelInfo& info() const override { return info_; }

 private:
  ModelInfo info_;
};

}  // namespace

std::shared_ptr<Model> make_offline_model() { return std::make_shared<OfflineModel>(); }

}  // namespace idp::llm
