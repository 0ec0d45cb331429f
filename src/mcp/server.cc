#include "idp/mcp/server.h"

#include <boost/asio/this_coro.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <charconv>

#include "core.h"
#include "idp/core/json_util.h"
#include "idp/core/log.h"
#include "idp/core/random.h"

namespace idp::mcp {

namespace detail {

// ---- EventStream ---------------------------------------------------------------------------

bool EventStream::push(std::string message) {
  std::shared_ptr<Notifier> w;
  {
    std::lock_guard lock(mu_);
    if (complete_) return false;
    ever_pushed_ = true;
    events_.emplace_back(next_seq_++, std::move(message));
    if (events_.size() > capacity_) {
      events_.erase(events_.begin(), events_.begin() + (events_.size() - capacity_));
      first_retained_ = events_.front().first;
    }
    w = waker_;
  }
  if (w) w->notify();
  return true;
}

void EventStream::complete(std::optional<std::string> final_message) {
  std::shared_ptr<Notifier> w;
  {
    std::lock_guard lock(mu_);
    if (complete_) return;
    complete_ = true;
    has_final_ = final_message.has_value();
    if (final_message) {
      events_.emplace_back(next_seq_++, std::move(*final_message));
      if (events_.size() > capacity_ + 1) {
        events_.erase(events_.begin(), events_.begin() + (events_.size() - capacity_ - 1));
        first_retained_ = events_.front().first;
      }
    }
    w = waker_;
  }
  if (w) w->notify();
}

void EventStream::request_close() {
  std::shared_ptr<Notifier> w;
  {
    std::lock_guard lock(mu_);
    close_requested_ = true;
    w = waker_;
  }
  if (w) w->notify();
}

EventStream::Batch EventStream::take(std::uint64_t after, bool consume_close) {
  Batch b;
  std::lock_guard lock(mu_);
  if (after + 1 < first_retained_) b.lost = true;
  for (const auto& e : events_) {
    if (e.first > after) b.events.push_back(e);
  }
  b.complete = complete_;
  b.close_requested = close_requested_;
  if (consume_close) close_requested_ = false;
  return b;
}

std::optional<std::string> EventStream::take_final() {
  std::lock_guard lock(mu_);
  if (!complete_ || events_.empty() || !has_final_) return std::nullopt;
  return std::move(events_.back().second);
}

bool EventStream::attach(std::shared_ptr<Notifier> waker) {
  std::lock_guard lock(mu_);
  if (waker_) return false;
  waker_ = std::move(waker);
  return true;
}

void EventStream::detach() {
  std::lock_guard lock(mu_);
  waker_.reset();
}

bool EventStream::attached() const {
  std::lock_guard lock(mu_);
  return static_cast<bool>(waker_);
}

bool EventStream::is_complete() const {
  std::lock_guard lock(mu_);
  return complete_;
}

std::uint64_t EventStream::last_seq() const {
  std::lock_guard lock(mu_);
  return next_seq_ - 1;
}

bool EventStream::has_pending_events() const {
  std::lock_guard lock(mu_);
  return ever_pushed_;
}

// ---- PendingRegistry ----

void PendingRegistry::add(const std::string& id, std::string session_id,
                          std::shared_ptr<PendingReply> reply) {
  std::lock_guard lock(mu_);
  entries_[id] = Entry{std::move(session_id), std::move(reply)};
}

void PendingRegistry::remove(const std::string& id) {
  std::lock_guard lock(mu_);
  entries_.erase(id);
}

std::shared_ptr<PendingReply> PendingRegistry::find(const std::string& id,
                                                    const std::string& session_id) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end() || it->second.session_id != session_id) return nullptr;
  return it->second.reply;
}

// ---- RequestState / Session ----------------------------------------------------------------

void RequestState::cancel() {
  if (cancelled.exchange(true)) return;
  std::vector<std::function<void()>> hooks;
  {
    std::lock_guard lock(mu);
    hooks = on_cancel;
  }
  for (auto& h : hooks) h();
}

void RequestState::push(std::string message) {
  if (stream) stream->push(std::move(message));
}

void Session::notify(std::string message) {
  std::shared_ptr<EventStream> s;
  {
    std::lock_guard lock(mu);
    s = standalone;
  }
  if (s) s->push(std::move(message));
}

void ServerCore::broadcast(std::string_view method, const json::object& params,
                           std::string_view only_subscribed_uri) {
  std::vector<std::function<void(std::string_view, const json::object&, std::string_view)>> ls;
  {
    std::lock_guard lock(listeners_mu);
    ls = listeners;
  }
  for (auto& l : ls) l(method, params, only_subscribed_uri);
}

// ---- dispatch helpers ----------------------------------------------------------------------

namespace {

using jsonrpc::RpcError;

std::string ok(const json::value& id, const json::value& result) {
  return jsonrpc::response(id, result);
}

std::string fail(const json::value& id, int code, std::string message,
                 std::optional<json::value> data = std::nullopt) {
  return jsonrpc::error_response(id, RpcError{code, std::move(message), std::move(data)});
}

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

// Pages entries (anything with ->seq) in registration order.
template <class Entry, class ToJson>
std::string paginate(const json::value& id, const json::object& params,
                     std::vector<std::shared_ptr<const Entry>> entries, std::size_t page_size,
                     std::string_view key, ToJson to_json) {
  std::uint64_t after = 0;
  if (auto it = params.find("cursor"); it != params.end() && !it->value().is_null()) {
    auto* s = it->value().if_string();
    auto parsed = s ? parse_cursor(*s) : std::nullopt;
    if (!parsed) return fail(id, jsonrpc::kInvalidParams, "invalid cursor");
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
  return ok(id, result);
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

template <class Map>
auto snapshot(const Map& m) {
  std::vector<typename Map::mapped_type> out;
  out.reserve(m.size());
  for (const auto& [k, v] : m) out.push_back(v);
  return out;
}

}  // namespace

json::object ServerCore::initialize(Session& session, const json::object& params) {
  std::string requested;
  if (auto* v = ::idp::json::find_string(params, "protocolVersion")) requested = std::string(*v);
  session.protocol_version =
      is_supported_protocol_version(requested) ? requested : std::string(kLatestProtocolVersion);
  if (auto* caps = ::idp::json::find_object(params, "capabilities")) session.client_capabilities = *caps;
  if (auto* info = ::idp::json::find_object(params, "clientInfo")) session.client_info = *info;

  json::object caps{{"tools", json::object{{"listChanged", true}}}, {"logging", json::object{}}};
  {
    std::shared_lock lock(mu);
    if (!resources.empty() || !templates.empty()) {
      caps["resources"] = json::object{{"subscribe", true}, {"listChanged", true}};
    }
    if (!prompts.empty()) caps["prompts"] = json::object{{"listChanged", true}};
    if (!completers.empty()) caps["completions"] = json::object{};
  }
  json::object result{{"protocolVersion", session.protocol_version},
                      {"capabilities", std::move(caps)},
                      {"serverInfo", json::value_from(options.info)}};
  if (options.instructions) result["instructions"] = *options.instructions;
  return result;
}

void ServerCore::handle_notification(Session& session, const jsonrpc::Message& m) {
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

boost::asio::awaitable<std::optional<std::string>> ServerCore::handle_request(
    std::shared_ptr<Session> session, std::shared_ptr<RequestState> request,
    jsonrpc::Message m) {
  const json::value& id = m.id;
  const json::object& params = m.params;
  const std::string& method = m.method;

  if (method == "ping") co_return ok(id, json::object{});
  if (method == "initialize") co_return ok(id, initialize(*session, params));

  if (method == "tools/list") {
    std::vector<std::shared_ptr<const ToolEntry>> entries;
    {
      std::shared_lock lock(mu);
      entries = snapshot(tools);
    }
    co_return paginate(id, params, std::move(entries), options.page_size, "tools",
                       [](const ToolEntry& e) { return e.listing; });
  }

  if (method == "tools/call") {
    auto* name = ::idp::json::find_string(params, "name");
    if (!name) co_return fail(id, jsonrpc::kInvalidParams, "tools/call needs params.name (a string)");
    std::shared_ptr<const ToolEntry> entry;
    {
      std::shared_lock lock(mu);
      auto it = tools.find(std::string_view(*name));
      if (it != tools.end()) entry = it->second;
    }
    if (!entry) {
      co_return fail(id, jsonrpc::kInvalidParams, "Unknown tool: " + std::string(*name),
                     json::value(json::object{{"tool", json::string(*name)}}));
    }
    static const json::value kNoArgs = json::object{};
    const json::value* args_value = &kNoArgs;
    if (auto it = params.find("arguments"); it != params.end() && !it->value().is_null()) {
      args_value = &it->value();
      if (!args_value->is_object()) {
        co_return fail(id, jsonrpc::kInvalidParams, "tools/call: params.arguments must be an object");
      }
    }
    const json::object* args = &args_value->get_object();
    CallToolResult result;
    if (entry->input) {
      if (auto problem = entry->input->validate(*args_value)) {
        result = CallToolResult::error("Invalid arguments for tool '" + entry->tool.name +
                                       "': " + *problem);
        co_return jsonrpc::response_raw(id, serialize(result));
      }
    }
    ToolContext ctx(request);
    std::string failure;
    try {
      result = co_await entry->handler(*args, ctx);
    } catch (const std::exception& e) {
      failure = e.what();
    }
    if (request->cancelled) co_return std::nullopt;
    if (!failure.empty()) {
      result = CallToolResult::error("Tool '" + entry->tool.name + "' failed: " + failure);
    } else if (entry->output && !result.is_error) {
      if (!result.structured_content) {
        result = CallToolResult::error("Tool '" + entry->tool.name +
                                       "' declares an outputSchema but returned no "
                                       "structuredContent");
      } else if (auto problem = entry->output->validate(json::value(*result.structured_content))) {
        result = CallToolResult::error("Tool '" + entry->tool.name +
                                       "' returned structuredContent that does not match its "
                                       "outputSchema: " + *problem);
      }
    }
    co_return jsonrpc::response_raw(id, serialize(result));
  }

  if (method == "resources/list") {
    std::vector<std::shared_ptr<const ResourceEntry>> entries;
    {
      std::shared_lock lock(mu);
      entries = snapshot(resources);
    }
    co_return paginate(id, params, std::move(entries), options.page_size, "resources",
                       [](const ResourceEntry& e) { return json::value_from(e.resource); });
  }

  if (method == "resources/templates/list") {
    std::vector<std::shared_ptr<const TemplateEntry>> entries;
    {
      std::shared_lock lock(mu);
      entries = templates;
    }
    co_return paginate(id, params, std::move(entries), options.page_size, "resourceTemplates",
                       [](const TemplateEntry& e) { return json::value_from(e.tmpl); });
  }

  if (method == "resources/read") {
    auto* uri = ::idp::json::find_string(params, "uri");
    if (!uri) co_return fail(id, jsonrpc::kInvalidParams, "resources/read needs params.uri");
    std::string u(*uri);
    std::shared_ptr<const ResourceEntry> direct;
    std::shared_ptr<const TemplateEntry> tmpl;
    std::map<std::string, std::string> vars;
    {
      std::shared_lock lock(mu);
      if (auto it = resources.find(u); it != resources.end()) {
        direct = it->second;
      } else {
        for (const auto& t : templates) {
          vars.clear();
          if (match_template(t->tmpl.uri_template, u, &vars)) {
            tmpl = t;
            break;
          }
        }
      }
    }
    if (!direct && !tmpl) {
      co_return fail(id, jsonrpc::kResourceNotFound, "Resource not found: " + u,
                     json::value(json::object{{"uri", u}}));
    }
    ToolContext ctx(request);
    Result<std::vector<ResourceContents>> contents =
        make_error(ErrorCode::kInternal, "no reader");
    std::string failure;
    try {
      if (direct) {
        contents = co_await direct->reader(u, ctx);
      } else {
        contents = co_await tmpl->reader(u, vars, ctx);
      }
    } catch (const std::exception& e) {
      failure = e.what();
    }
    if (request->cancelled) co_return std::nullopt;
    if (!failure.empty()) {
      co_return fail(id, jsonrpc::kInternalError, "reading " + u + " failed: " + failure);
    }
    if (!contents) {
      int code = contents.error().code() == ErrorCode::kNotFound ? jsonrpc::kResourceNotFound
                                                                 : jsonrpc::kInternalError;
      co_return fail(id, code, contents.error().message(), json::value(json::object{{"uri", u}}));
    }
    co_return ok(id, json::object{{"contents", json::value_from(*contents)}});
  }

  if (method == "resources/subscribe" || method == "resources/unsubscribe") {
    auto* uri = ::idp::json::find_string(params, "uri");
    if (!uri) co_return fail(id, jsonrpc::kInvalidParams, method + " needs params.uri");
    std::lock_guard lock(session->mu);
    if (method == "resources/subscribe") {
      session->subscriptions.insert(std::string(*uri));
    } else {
      session->subscriptions.erase(std::string(*uri));
    }
    co_return ok(id, json::object{});
  }

  if (method == "prompts/list") {
    std::vector<std::shared_ptr<const PromptEntry>> entries;
    {
      std::shared_lock lock(mu);
      entries = snapshot(prompts);
    }
    co_return paginate(id, params, std::move(entries), options.page_size, "prompts",
                       [](const PromptEntry& e) { return json::value_from(e.prompt); });
  }

  if (method == "prompts/get") {
    auto* name = ::idp::json::find_string(params, "name");
    if (!name) co_return fail(id, jsonrpc::kInvalidParams, "prompts/get needs params.name");
    std::shared_ptr<const PromptEntry> entry;
    {
      std::shared_lock lock(mu);
      auto it = prompts.find(std::string_view(*name));
      if (it != prompts.end()) entry = it->second;
    }
    if (!entry) co_return fail(id, jsonrpc::kInvalidParams, "Unknown prompt: " + std::string(*name));
    std::map<std::string, std::string> args;
    if (auto* a = ::idp::json::find_object(params, "arguments")) {
      for (const auto& [k, v] : *a) {
        if (!v.is_string()) {
          co_return fail(id, jsonrpc::kInvalidParams,
                         "prompt argument '" + std::string(k) + "' must be a string");
        }
        args[std::string(k)] = std::string(v.get_string());
      }
    }
    for (const auto& arg : entry->prompt.arguments) {
      if (arg.required && !args.contains(arg.name)) {
        co_return fail(id, jsonrpc::kInvalidParams,
                       "prompt '" + entry->prompt.name + "' needs argument '" + arg.name + "'");
      }
    }
    ToolContext ctx(request);
    Result<GetPromptResult> result = make_error(ErrorCode::kInternal, "no handler");
    std::string failure;
    try {
      result = co_await entry->handler(args, ctx);
    } catch (const std::exception& e) {
      failure = e.what();
    }
    if (request->cancelled) co_return std::nullopt;
    if (!failure.empty()) co_return fail(id, jsonrpc::kInternalError, failure);
    if (!result) co_return fail(id, jsonrpc::kInvalidParams, result.error().message());
    co_return ok(id, json::value_from(*result));
  }

  if (method == "completion/complete") {
    auto* ref = ::idp::json::find_object(params, "ref");
    auto* argument = ::idp::json::find_object(params, "argument");
    if (!ref || !argument) {
      co_return fail(id, jsonrpc::kInvalidParams, "completion/complete needs params.ref and params.argument");
    }
    auto* type = ::idp::json::find_string(*ref, "type");
    const json::string* rname = nullptr;
    if (type && *type == "ref/prompt") rname = ::idp::json::find_string(*ref, "name");
    if (type && *type == "ref/resource") rname = ::idp::json::find_string(*ref, "uri");
    auto* aname = ::idp::json::find_string(*argument, "name");
    auto* avalue = ::idp::json::find_string(*argument, "value");
    if (!type || !rname || !aname) {
      co_return fail(id, jsonrpc::kInvalidParams, "completion/complete: malformed ref or argument");
    }
    Completer completer;
    {
      std::shared_lock lock(mu);
      auto it = completers.find(std::make_pair(std::string(*type), std::string(*rname)));
      if (it != completers.end()) completer = it->second;
    }
    json::array values;
    std::size_t total = 0;
    if (completer) {
      auto all = completer(*aname, avalue ? std::string_view(*avalue) : std::string_view{});
      total = all.size();
      for (std::size_t i = 0; i < all.size() && i < 100; ++i) values.emplace_back(all[i]);
    }
    bool more = total > values.size();
    co_return ok(id, json::object{{"completion", json::object{{"values", std::move(values)},
                                                              {"total", total},
                                                              {"hasMore", more}}}});
  }

  if (method == "logging/setLevel") {
    auto* level = ::idp::json::find_string(params, "level");
    auto parsed = level ? parse_log_level(*level) : std::nullopt;
    if (!parsed) {
      co_return fail(id, jsonrpc::kInvalidParams,
                     "logging/setLevel: level must be one of debug, info, notice, warning, error, "
                     "critical, alert, emergency");
    }
    session->min_log_level = static_cast<int>(*parsed);
    co_return ok(id, json::object{});
  }

  co_return fail(id, jsonrpc::kMethodNotFound, "Method not found: " + method);
}

}  // namespace detail

// ---- Server --------------------------------------------------------------------------------

Server::Server(ServerOptions options)
    : core_(std::make_unique<detail::ServerCore>(std::move(options))) {
  if (core_->options.page_size == 0) core_->options.page_size = 100;
}

Server::~Server() = default;

Result<void> Server::add_tool(Tool tool, ToolHandler handler) {
  if (tool.name.empty()) return make_error(ErrorCode::kInvalidArgument, "a tool needs a name");
  if (!handler) {
    return make_error(ErrorCode::kInvalidArgument, "tool '" + tool.name + "' needs a handler");
  }
  auto entry = std::make_shared<detail::ToolEntry>();
  auto input = SchemaValidator::compile(tool.input_schema);
  if (!input) return std::unexpected(input.error().with_context("tool '" + tool.name + "' inputSchema"));
  entry->input = std::move(*input);
  if (tool.output_schema) {
    auto output = SchemaValidator::compile(*tool.output_schema);
    if (!output) {
      return std::unexpected(output.error().with_context("tool '" + tool.name + "' outputSchema"));
    }
    entry->output = std::move(*output);
  }
  entry->listing = json::value_from(tool);
  entry->tool = std::move(tool);
  entry->handler = std::move(handler);
  {
    std::unique_lock lock(core_->mu);
    if (core_->tools.contains(entry->tool.name)) {
      return make_error(ErrorCode::kInvalidArgument,
                        "a tool named '" + entry->tool.name + "' is already registered");
    }
    entry->seq = core_->next_seq++;
    core_->tools.emplace(entry->tool.name, std::move(entry));
  }
  core_->broadcast("notifications/tools/list_changed", {});
  return {};
}

bool Server::remove_tool(std::string_view name) {
  {
    std::unique_lock lock(core_->mu);
    auto it = core_->tools.find(name);
    if (it == core_->tools.end()) return false;
    core_->tools.erase(it);
  }
  core_->broadcast("notifications/tools/list_changed", {});
  return true;
}

Result<void> Server::add_resource(Resource resource, ResourceReader reader) {
  if (resource.uri.empty() || resource.name.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "a resource needs a uri and a name");
  }
  auto entry = std::make_shared<detail::ResourceEntry>();
  entry->resource = std::move(resource);
  entry->reader = std::move(reader);
  {
    std::unique_lock lock(core_->mu);
    if (core_->resources.contains(entry->resource.uri)) {
      return make_error(ErrorCode::kInvalidArgument,
                        "resource " + entry->resource.uri + " is already registered");
    }
    entry->seq = core_->next_seq++;
    core_->resources.emplace(entry->resource.uri, std::move(entry));
  }
  core_->broadcast("notifications/resources/list_changed", {});
  return {};
}

Result<void> Server::add_resource_template(ResourceTemplate tmpl, TemplateReader reader) {
  if (tmpl.uri_template.empty() || tmpl.name.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "a resource template needs a uriTemplate and a name");
  }
  auto entry = std::make_shared<detail::TemplateEntry>();
  entry->tmpl = std::move(tmpl);
  entry->reader = std::move(reader);
  {
    std::unique_lock lock(core_->mu);
    entry->seq = core_->next_seq++;
    core_->templates.push_back(std::move(entry));
  }
  core_->broadcast("notifications/resources/list_changed", {});
  return {};
}

Result<void> Server::add_prompt(Prompt prompt, PromptHandler handler) {
  if (prompt.name.empty()) return make_error(ErrorCode::kInvalidArgument, "a prompt needs a name");
  auto entry = std::make_shared<detail::PromptEntry>();
  entry->prompt = std::move(prompt);
  entry->handler = std::move(handler);
  {
    std::unique_lock lock(core_->mu);
    if (core_->prompts.contains(entry->prompt.name)) {
      return make_error(ErrorCode::kInvalidArgument,
                        "a prompt named '" + entry->prompt.name + "' is already registered");
    }
    entry->seq = core_->next_seq++;
    core_->prompts.emplace(entry->prompt.name, std::move(entry));
  }
  core_->broadcast("notifications/prompts/list_changed", {});
  return {};
}

void Server::add_completion(std::string ref_type, std::string ref_name, Completer completer) {
  std::unique_lock lock(core_->mu);
  core_->completers[{std::move(ref_type), std::move(ref_name)}] = std::move(completer);
}

void Server::notify_resource_updated(std::string_view uri) {
  core_->broadcast("notifications/resources/updated", json::object{{"uri", uri}}, uri);
}

const ServerOptions& Server::options() const { return core_->options; }

std::vector<Tool> Server::tools() const {
  std::shared_lock lock(core_->mu);
  std::vector<std::shared_ptr<const detail::ToolEntry>> entries;
  for (const auto& [k, v] : core_->tools) entries.push_back(v);
  std::sort(entries.begin(), entries.end(), [](auto& a, auto& b) { return a->seq < b->seq; });
  std::vector<Tool> out;
  for (const auto& e : entries) out.push_back(e->tool);
  return out;
}

detail::ServerCore& Server::core() { return *core_; }

}  // namespace idp::mcp
