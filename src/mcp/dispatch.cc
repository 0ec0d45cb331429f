// The method table of idp::mcp::Server: one handler per MCP method, each marked with the
// protocol eras it serves and, for 2026-07-28, the capability that must be declared for it to
// exist. ServerCore::handle_request looks the method up and runs its handler.
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <charconv>

#include "idp/core/json_util.h"
#include "idp/core/log.h"
#include "idp/core/random.h"
#include "mrtr.h"
#include "server_core.h"
#include "task_engine.h"

namespace idp::mcp {

namespace {

using boost::asio::awaitable;
using Reply = std::optional<std::string>;

// One request as a method handler sees it.
struct Call {
  ServerCore* core;
  std::shared_ptr<ProtocolSession> session;  // null under 2026-07-28
  std::shared_ptr<RequestState> request;
  jsonrpc::Message m;
};

std::string ok(const json::value& id, const json::value& result) {
  return jsonrpc::response(id, result);
}

// A JSON-RPC error answer, recorded for the transport's observer.
std::string fail(RequestState& rs, const json::value& id, int code, std::string message,
                 std::optional<json::value> data = std::nullopt) {
  return fail_request(rs, id, code, std::move(message), std::move(data));
}
std::string fail(const Call& c, int code, std::string message,
                 std::optional<json::value> data = std::nullopt) {
  return fail(*c.request, c.m.id, code, std::move(message), std::move(data));
}

// ---- pagination (server side) -----------------------------------------------------------------

std::string make_cursor(std::uint64_t seq) { return base64url_encode("v1:" + std::to_string(seq)); }

// Decodes a cursor; nullopt when it is not one of ours.
std::optional<std::uint64_t> parse_cursor(std::string_view cursor) {
  auto raw = base64_decode(cursor);
  if (!raw || raw->rfind("v1:", 0) != 0) return std::nullopt;
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(raw->data() + 3, raw->data() + raw->size(), v);
  if (ec != std::errc() || p != raw->data() + raw->size()) return std::nullopt;
  return v;
}

// Pages entries (anything with ->seq) in registration order; nullopt for an invalid cursor.
// Cursors name the last entry sent, so they stay valid while the registry changes.
template <class Entry, class ToJson>
std::optional<json::object> paginate(const json::object& params,
                                     std::vector<std::shared_ptr<const Entry>> entries,
                                     std::size_t page_size, std::string_view key, ToJson to_json) {
  std::uint64_t after = 0;
  if (auto it = params.find("cursor"); it != params.end() && !it->value().is_null()) {
    auto* s = it->value().if_string();
    auto parsed = s ? parse_cursor(*s) : std::nullopt;
    if (!parsed) return std::nullopt;
    after = *parsed;
  }
  std::sort(entries.begin(), entries.end(), [](auto& a, auto& b) { return a->seq < b->seq; });
  json::array items;
  std::uint64_t last = 0;
  bool more = false;
  for (const auto& e : entries) {
    if (e->seq <= after) continue;
    if (items.size() == page_size) {
      more = true;
      break;
    }
    items.push_back(to_json(*e));
    last = e->seq;
  }
  json::object result;
  result[key] = std::move(items);
  if (more) result["nextCursor"] = make_cursor(last);
  return result;
}

// The entries of one registry map (or the template list), copied under the registry's lock.
template <class Map>
auto snapshot(const ServerCore& core, const Map& m) {
  std::vector<typename Map::mapped_type> out;
  std::shared_lock lock(core.mu);
  out.reserve(m.size());
  for (const auto& [k, v] : m) out.push_back(v);
  return out;
}

template <class T>
std::vector<T> snapshot(const ServerCore& core, const std::vector<T>& v) {
  std::shared_lock lock(core.mu);
  return v;
}

// A list method's reply: one page of `entries` under `key`.
template <class Entry, class ToJson>
Reply page_reply(const Call& c, std::vector<std::shared_ptr<const Entry>> entries,
                 std::string_view key, ToJson to_json) {
  auto page = paginate(c.m.params, std::move(entries), c.core->options.page_size, key, to_json);
  if (!page) return fail(c, jsonrpc::kInvalidParams, "invalid cursor");
  return c.core->reply(*c.request, std::move(*page), true);
}

// RFC 6570 level-1 matching: "test://template/{id}/data" against "test://template/123/data".
bool match_template(std::string_view tmpl, std::string_view uri,
                    std::map<std::string, std::string>* vars) {
  std::size_t ti = 0, ui = 0;
  while (ti < tmpl.size()) {
    if (tmpl[ti] == '{') {
      auto close = tmpl.find('}', ti);
      if (close == std::string_view::npos) return false;
      std::string name(tmpl.substr(ti + 1, close - ti - 1));
      ti = close + 1;
      // The variable runs to the next literal character of the template (or the end).
      std::size_t end;
      if (ti >= tmpl.size()) {
        end = uri.size();
      } else {
        end = uri.find(tmpl[ti], ui);
        if (end == std::string_view::npos) return false;
      }
      if (end == ui) return false;
      std::string_view value = uri.substr(ui, end - ui);
      if (value.find('/') != std::string_view::npos) return false;
      (*vars)[name] = std::string(value);
      ui = end;
    } else {
      if (ui >= uri.size() || uri[ui] != tmpl[ti]) return false;
      ++ti;
      ++ui;
    }
  }
  return ui == uri.size();
}

// A handler's exception: logged with the trace id, never sent.
std::string report_exception(const RequestState& rs, std::string_view what_failed,
                             std::string_view exception_text) {
  log::error("{} threw (trace {}): {}", what_failed, rs.trace_id, exception_text);
  return internal_error_text(rs.trace_id);
}

// The 2026-07-28 round around a tools/call, prompts/get or resources/read handler; nothing for
// handshake-era requests.
class HandlerRound {
 public:
  HandlerRound(const ServerCore& core, RequestState& rs) : core_(core), rs_(rs) {}

  // The error reply when the request's inputResponses or requestState are refused. `target`
  // must outlive the round.
  Reply begin(const jsonrpc::Message& m, std::string_view target) {
    if (!rs_.modern) return std::nullopt;
    target_ = RoundTarget{m.method, target, &m.params, &*rs_.identity};
    if (auto problem = core_.round().begin(rs_, *target_, m.params)) {
      return fail(rs_, m.id, jsonrpc::kInvalidParams, m.method + ": " + *problem);
    }
    return std::nullopt;
  }
  // After the handler, when set: what replaces its reply (none for a cancelled request; the
  // InputRequiredResult or -32021 of a round that asked the client something).
  std::optional<Reply> end() {
    if (rs_.cancelled()) return Reply{};
    if (target_) {
      if (auto answer = core_.round().end(rs_, *target_)) return Reply(std::move(*answer));
    }
    return std::nullopt;
  }

 private:
  const ServerCore& core_;
  RequestState& rs_;
  std::optional<RoundTarget> target_;
};

// ---- the methods ------------------------------------------------------------------------------

awaitable<Reply> ping(Call c) { co_return ok(c.m.id, json::object{}); }

awaitable<Reply> initialize(Call c) {
  json::object result = c.core->initialize(*c.session, c.m.params);
  co_return ok(c.m.id, result);
}

awaitable<Reply> discover(Call c) {
  json::array versions;
  for (auto v : all_protocol_versions()) versions.emplace_back(v);
  json::object result{{"supportedVersions", std::move(versions)},
                      {"capabilities", c.core->capabilities(true)}};
  if (c.core->options.instructions) result["instructions"] = *c.core->options.instructions;
  co_return c.core->reply(*c.request, std::move(result), true);
}

awaitable<Reply> tools_list(Call c) {
  co_return page_reply(c, snapshot(*c.core, c.core->tools), "tools",
                       [](const ToolEntry& e) { return e.listing; });
}

// The serialized tools/call result for the request's era.
std::string tool_result(const ServerCore& core, const RequestState& rs, CallToolResult result) {
  if (!rs.modern) return jsonrpc::response_raw(rs.id, serialize(result));
  if (!result.meta)
    return jsonrpc::response_raw(rs.id, core.modern_result(serialize(result), false));
  if (core.options.server_info_in_results && !result.meta->contains(meta_keys::kServerInfo)) {
    (*result.meta)[meta_keys::kServerInfo] = core.server_info;
  }
  std::string body = serialize(result);
  body.pop_back();
  body += R"(,"resultType":"complete"})";
  return jsonrpc::response_raw(rs.id, std::move(body));
}

awaitable<Reply> tools_call(Call c) {
  const ServerCore& core = *c.core;
  const json::object& params = c.m.params;
  RequestState& rs = *c.request;
  auto* name = ::idp::json::find_string(params, "name");
  if (!name) co_return fail(c, jsonrpc::kInvalidParams, "tools/call needs params.name (a string)");
  std::shared_ptr<const ToolEntry> entry =
      rs.tool && rs.tool->tool.name == std::string_view(*name) ? rs.tool : core.find_tool(*name);
  if (!entry) {
    co_return fail(c, jsonrpc::kInvalidParams, "Unknown tool: " + std::string(*name),
                   json::value(json::object{{"tool", json::string(*name)}}));
  }
  static const json::value kNoArgs = json::object{};
  const json::value* args_value = &kNoArgs;
  if (auto it = params.find("arguments"); it != params.end() && !it->value().is_null()) {
    args_value = &it->value();
    if (!args_value->is_object()) {
      co_return fail(c, jsonrpc::kInvalidParams, "tools/call: params.arguments must be an object");
    }
  }
  const json::object& args = args_value->get_object();
  HandlerRound round(core, rs);
  if (auto refused = round.begin(c.m, entry->tool.name)) co_return refused;
  if (entry->input) {
    if (auto problem = entry->input->check(*args_value)) {
      rs.outcome = RequestOutcome::kInvalid;
      rs.detail = problem->format ? "format" : "schema";
      co_return tool_result(core, rs,
                            CallToolResult::error("Invalid arguments for tool '" +
                                                  entry->tool.name + "': " + problem->message));
    }
  }
  // Tools that can be tasks (an enum compare for every other tool).
  if (entry->tool.task_support != TaskSupport::kForbidden) {
    PlainRun plain;
    auto task = start_task_if_asked(*c.core, c.session, c.request, c.m, entry, *args_value, plain);
    if (auto answer = co_await std::move(task)) co_return std::move(*answer);
    if (plain.cancelled) co_return Reply{};
    if (plain.done) {
      if (auto replaced = round.end()) co_return std::move(*replaced);
      CallToolResult ran = finish_tool_result(*entry, rs, plain.failure, std::move(plain.result));
      co_return tool_result(core, rs, std::move(ran));
    }
  }
  ToolContext ctx(c.request);
  CallToolResult result;
  awaitable<CallToolResult> handler = entry->handler(args, ctx);
  auto failure = co_await guarded(std::move(handler), result);
  if (auto replaced = round.end()) co_return std::move(*replaced);
  result = finish_tool_result(*entry, rs, failure, std::move(result));
  co_return tool_result(core, rs, std::move(result));
}

awaitable<Reply> resources_list(Call c) {
  co_return page_reply(c, snapshot(*c.core, c.core->resources), "resources",
                       [](const ResourceEntry& e) { return json::value_from(e.resource); });
}

awaitable<Reply> templates_list(Call c) {
  co_return page_reply(c, snapshot(*c.core, c.core->templates), "resourceTemplates",
                       [](const TemplateEntry& e) { return json::value_from(e.tmpl); });
}

awaitable<Reply> resources_read(Call c) {
  const ServerCore& core = *c.core;
  const json::object& params = c.m.params;
  RequestState& rs = *c.request;
  auto* uri = ::idp::json::find_string(params, "uri");
  if (!uri) co_return fail(c, jsonrpc::kInvalidParams, "resources/read needs params.uri");
  const std::string u(*uri);
  std::shared_ptr<const ResourceEntry> direct;
  std::shared_ptr<const TemplateEntry> tmpl;
  std::map<std::string, std::string> vars;
  {
    std::shared_lock lock(core.mu);
    if (auto it = core.resources.find(u); it != core.resources.end()) {
      direct = it->second;
    } else {
      for (const auto& t : core.templates) {
        vars.clear();
        if (match_template(t->tmpl.uri_template, u, &vars)) {
          tmpl = t;
          break;
        }
      }
    }
  }
  // 2026-07-28 replaced -32002 with -32602 (Invalid Params).
  const int not_found = rs.modern ? jsonrpc::kInvalidParams : jsonrpc::kResourceNotFound;
  if (!direct && !tmpl) {
    co_return fail(c, not_found, "Resource not found: " + u, json::value(json::object{{"uri", u}}));
  }
  HandlerRound round(core, rs);
  if (auto refused = round.begin(c.m, u)) co_return refused;
  ToolContext ctx(c.request);
  Result<std::vector<ResourceContents>> contents = make_error(ErrorCode::kInternal, "no reader");
  awaitable<Result<std::vector<ResourceContents>>> reader;
  if (direct) {
    reader = direct->reader(u, ctx);
  } else {
    reader = tmpl->reader(u, vars, ctx);
  }
  auto failure = co_await guarded(std::move(reader), contents);
  if (auto replaced = round.end()) co_return std::move(*replaced);
  if (failure) {
    std::string shown = report_exception(rs, "the reader of " + u, *failure);
    co_return fail(c, jsonrpc::kInternalError, "reading " + u + " failed: " + shown);
  }
  if (!contents) {
    int code =
        contents.error().code() == ErrorCode::kNotFound ? not_found : jsonrpc::kInternalError;
    co_return fail(c, code, contents.error().message(), json::value(json::object{{"uri", u}}));
  }
  co_return core.reply(rs, json::object{{"contents", json::value_from(*contents)}}, true);
}

awaitable<Reply> subscribe(Call c) {
  const std::string& method = c.m.method;
  auto* uri = ::idp::json::find_string(c.m.params, "uri");
  if (!uri) co_return fail(c, jsonrpc::kInvalidParams, method + " needs params.uri");
  ProtocolSession& s = *c.session;
  std::lock_guard lock(s.mu);
  if (method == "resources/unsubscribe") {
    if (auto it = s.subscriptions.find(std::string_view(*uri)); it != s.subscriptions.end()) {
      s.subscriptions.erase(it);
    }
    co_return ok(c.m.id, json::object{});
  }
  if (!s.subscriptions.contains(std::string_view(*uri)) &&
      s.subscriptions.size() >= s.max_subscriptions) {
    co_return fail(c, jsonrpc::kInvalidParams,
                   "resources/subscribe: this session already has " +
                       std::to_string(s.subscriptions.size()) +
                       " subscriptions, the server's limit; unsubscribe from a resource first");
  }
  s.subscriptions.emplace(*uri);
  co_return ok(c.m.id, json::object{});
}

awaitable<Reply> prompts_list(Call c) {
  co_return page_reply(c, snapshot(*c.core, c.core->prompts), "prompts",
                       [](const PromptEntry& e) { return json::value_from(e.prompt); });
}

awaitable<Reply> prompts_get(Call c) {
  const ServerCore& core = *c.core;
  const json::object& params = c.m.params;
  RequestState& rs = *c.request;
  auto* name = ::idp::json::find_string(params, "name");
  if (!name) co_return fail(c, jsonrpc::kInvalidParams, "prompts/get needs params.name");
  std::shared_ptr<const PromptEntry> entry;
  {
    std::shared_lock lock(core.mu);
    auto it = core.prompts.find(std::string_view(*name));
    if (it != core.prompts.end()) entry = it->second;
  }
  if (!entry) co_return fail(c, jsonrpc::kInvalidParams, "Unknown prompt: " + std::string(*name));
  std::map<std::string, std::string> args;
  if (auto* a = ::idp::json::find_object(params, "arguments")) {
    for (const auto& [k, v] : *a) {
      if (!v.is_string()) {
        co_return fail(c, jsonrpc::kInvalidParams,
                       "prompt argument '" + std::string(k) + "' must be a string");
      }
      args[std::string(k)] = std::string(v.get_string());
    }
  }
  for (const auto& arg : entry->prompt.arguments) {
    if (arg.required && !args.contains(arg.name)) {
      co_return fail(c, jsonrpc::kInvalidParams,
                     "prompt '" + entry->prompt.name + "' needs argument '" + arg.name + "'");
    }
  }
  HandlerRound round(core, rs);
  if (auto refused = round.begin(c.m, entry->prompt.name)) co_return refused;
  ToolContext ctx(c.request);
  Result<GetPromptResult> result = make_error(ErrorCode::kInternal, "no handler");
  awaitable<Result<GetPromptResult>> handler = entry->handler(args, ctx);
  auto failure = co_await guarded(std::move(handler), result);
  if (auto replaced = round.end()) co_return std::move(*replaced);
  if (failure) {
    std::string shown = report_exception(rs, "prompt '" + entry->prompt.name + "'", *failure);
    co_return fail(c, jsonrpc::kInternalError,
                   "prompt '" + entry->prompt.name + "' failed: " + shown);
  }
  if (!result) co_return fail(c, jsonrpc::kInvalidParams, result.error().message());
  co_return core.reply(rs, json::value_from(*result).as_object());
}

awaitable<Reply> complete(Call c) {
  auto* ref = ::idp::json::find_object(c.m.params, "ref");
  auto* argument = ::idp::json::find_object(c.m.params, "argument");
  if (!ref || !argument) {
    co_return fail(c, jsonrpc::kInvalidParams,
                   "completion/complete needs params.ref and params.argument");
  }
  auto* type = ::idp::json::find_string(*ref, "type");
  const json::string* rname = nullptr;
  if (type && *type == "ref/prompt") rname = ::idp::json::find_string(*ref, "name");
  if (type && *type == "ref/resource") rname = ::idp::json::find_string(*ref, "uri");
  auto* aname = ::idp::json::find_string(*argument, "name");
  auto* avalue = ::idp::json::find_string(*argument, "value");
  if (!type || !rname || !aname) {
    co_return fail(c, jsonrpc::kInvalidParams, "completion/complete: malformed ref or argument");
  }
  Completer completer;
  {
    std::shared_lock lock(c.core->mu);
    auto it = c.core->completers.find(std::make_pair(std::string(*type), std::string(*rname)));
    if (it != c.core->completers.end()) completer = it->second;
  }
  json::array values;
  std::size_t total = 0;
  if (completer) {
    auto all = completer(*aname, avalue ? std::string_view(*avalue) : std::string_view{});
    total = all.size();
    for (std::size_t i = 0; i < all.size() && i < 100; ++i) values.emplace_back(all[i]);
  }
  bool more = total > values.size();
  json::object completion{{"values", std::move(values)}, {"total", total}, {"hasMore", more}};
  co_return c.core->reply(*c.request, json::object{{"completion", std::move(completion)}});
}

awaitable<Reply> set_level(Call c) {
  auto* level = ::idp::json::find_string(c.m.params, "level");
  auto parsed = level ? parse_log_level(*level) : std::nullopt;
  if (!parsed) {
    co_return fail(c, jsonrpc::kInvalidParams,
                   "logging/setLevel: level must be one of debug, info, notice, warning, error, "
                   "critical, alert, emergency");
  }
  c.session->min_log_level = static_cast<int>(*parsed);
  co_return ok(c.m.id, json::object{});
}

awaitable<Reply> not_found(Call c) {
  if (c.request->modern) c.request->http_status = 404;
  co_return fail(c, jsonrpc::kMethodNotFound, "Method not found: " + c.m.method);
}

// ---- the table ------------------------------------------------------------------------------

enum Era : unsigned {
  kHandshake = 1,  // 2025-11-25 and older, in a session (stateless mode: a one-shot one)
  kStateless = 2,  // 2026-07-28
  kBoth = kHandshake | kStateless,
};

// What a 2026-07-28 server must have declared for the method to exist.
enum class Needs { kNothing, kResources, kPrompts, kCompletions, kTasks };

// The task methods (task_methods.cc), in the table's shape.
template <TaskMethod method>
awaitable<Reply> task_method(Call c) {
  awaitable<Reply> call = method(*c.core, std::move(c.session), std::move(c.request), c.m);
  co_return co_await std::move(call);
}

struct Method {
  std::string_view name;
  awaitable<Reply> (*handler)(Call);
  unsigned eras;
  Needs needs = Needs::kNothing;
};

// Looked up in order (find_method): the hot methods first.
constexpr Method kMethods[] = {
    {"tools/call", tools_call, kBoth},
    {"tools/list", tools_list, kBoth},
    {"ping", ping, kHandshake},
    {"initialize", initialize, kHandshake},
    {"server/discover", discover, kStateless},
    {"resources/list", resources_list, kBoth, Needs::kResources},
    {"resources/templates/list", templates_list, kBoth, Needs::kResources},
    {"resources/read", resources_read, kBoth, Needs::kResources},
    {"resources/subscribe", subscribe, kHandshake},
    {"resources/unsubscribe", subscribe, kHandshake},
    {"prompts/list", prompts_list, kBoth, Needs::kPrompts},
    {"prompts/get", prompts_get, kBoth, Needs::kPrompts},
    {"completion/complete", complete, kBoth, Needs::kCompletions},
    {"logging/setLevel", set_level, kHandshake},
    // Tasks: 2025-11-25 (experimental) and the 2026-07-28 extension, which dropped tasks/result
    // and tasks/list and added tasks/update.
    {"tasks/get", task_method<tasks_get>, kBoth, Needs::kTasks},
    {"tasks/cancel", task_method<tasks_cancel>, kBoth, Needs::kTasks},
    {"tasks/result", task_method<tasks_result>, kHandshake},
    {"tasks/list", task_method<tasks_list>, kHandshake},
    {"tasks/update", task_method<tasks_update>, kStateless, Needs::kTasks},
};

// A scan of the table, most names rejected by their length, costs less than hashing the name
// (callgrind: about 25 instructions for tools/call against 146 with an unordered_map).
const Method* find_method(std::string_view name, bool modern) {
  for (const auto& method : kMethods) {
    if (method.name.size() != name.size() || method.name != name) continue;
    return (method.eras & (modern ? kStateless : kHandshake)) != 0 ? &method : nullptr;
  }
  return nullptr;
}

}  // namespace

CallToolResult finish_tool_result(const ToolEntry& entry, RequestState& rs,
                                  const std::optional<std::string>& failure,
                                  CallToolResult result) {
  const std::string& name = entry.tool.name;
  if (failure) {
    std::string shown = report_exception(rs, "tool '" + name + "'", *failure);
    result = CallToolResult::error("Tool '" + name + "' failed: " + shown);
  } else if (entry.output && !result.is_error) {
    if (!result.structured_content) {
      result = CallToolResult::error("Tool '" + name +
                                     "' declares an outputSchema but returned no "
                                     "structuredContent");
    } else if (auto problem = entry.output->validate(*result.structured_content)) {
      result = CallToolResult::error("Tool '" + name +
                                     "' returned structuredContent that does not match its "
                                     "outputSchema: " +
                                     *problem);
    }
  }
  if (result.is_error) rs.outcome = RequestOutcome::kToolError;
  return result;
}

bool ServerCore::modern_method_available(std::string_view method) const {
  const Method* m = find_method(method, true);
  if (!m) return false;
  if (m->needs == Needs::kNothing) return true;
  std::shared_lock lock(mu);
  switch (m->needs) {
    case Needs::kResources:
      return !resources.empty() || !templates.empty();
    case Needs::kPrompts:
      return !prompts.empty();
    case Needs::kCompletions:
      return !completers.empty();
    case Needs::kTasks:
      return tasks->task_tools.load() > 0;
    case Needs::kNothing:
      break;
  }
  return true;
}

awaitable<std::optional<std::string>> ServerCore::handle_request(
    std::shared_ptr<ProtocolSession> session, std::shared_ptr<RequestState> request,
    jsonrpc::Message message) {
  const bool modern = request->modern;
  const Method* method = find_method(message.method, modern);
  // Handshake-era methods need the session (stateless mode gives every POST a one-shot one).
  auto handler = method && (modern || session) ? method->handler : not_found;
  // Not a coroutine frame of its own: the handler's frame holds the call.
  return handler(Call{this, std::move(session), std::move(request), std::move(message)});
}

void ServerCore::handle_notification(ProtocolSession& session, const jsonrpc::Message& m) {
  if (m.method == "notifications/initialized") {
    std::lock_guard lock(session.mu);
    session.initialized = true;
    return;
  }
  if (m.method == "notifications/cancelled") {
    auto it = m.params.find("requestId");
    if (it == m.params.end()) return;
    std::shared_ptr<RequestState> target;
    {
      std::lock_guard lock(session.mu);
      auto f = session.in_flight.find(jsonrpc::id_key(it->value()));
      if (f != session.in_flight.end()) target = f->second.lock();
    }
    if (target) {
      log::debug("request {} cancelled by the client", json::serialize(it->value()));
      target->cancel();
    }
    return;
  }
  // notifications/roots/list_changed, notifications/progress, ...: nothing to do.
}

}  // namespace idp::mcp
