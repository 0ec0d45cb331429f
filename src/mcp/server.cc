#include "idp/mcp/server.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>

#include "idp/core/json_util.h"
#include "idp/core/log.h"
#include "idp/core/random.h"
#include "server_core.h"
#include "task_engine.h"

namespace idp::mcp {

namespace net = boost::asio;

std::string internal_error_text(std::string_view trace_id) {
  return "internal error, trace id " + std::string(trace_id);
}

std::string fail_request(RequestState& rs, const json::value& id, int code, std::string message,
                         std::optional<json::value> data) {
  rs.outcome = RequestOutcome::kError;
  rs.rpc_error = code;
  return jsonrpc::error_response(id, jsonrpc::RpcError{code, std::move(message), std::move(data)});
}

// ---- PendingRegistry, RequestState ------------------------------------------------------------

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

bool PendingRegistry::deliver(const jsonrpc::Message& m, const std::string& session_id) {
  std::shared_ptr<PendingReply> reply;
  if (m.id.is_string()) reply = find(std::string(m.id.get_string()), session_id);
  if (!reply) return false;
  {
    std::lock_guard lock(reply->mu);
    reply->done = true;
    reply->ok = m.kind == jsonrpc::Message::Kind::kResponse;
    reply->result = m.result;
    reply->error = m.error;
  }
  reply->waker->notify();
  return true;
}

void ToolContext::State::cancel() {
  std::shared_ptr<CancelSignal> signal;
  {
    std::lock_guard lock(cancel_mu_);
    if (cancelled_.exchange(true)) return;
    signal = cancel_signal_;
  }
  if (signal) signal->cancel();
}

CancelSignal::Subscription ToolContext::State::subscribe_cancel(std::function<void()> callback) {
  std::shared_ptr<CancelSignal> signal;
  bool already;
  {
    // The signal costs an allocation: only requests that wait for something get one.
    std::lock_guard lock(cancel_mu_);
    if (!cancel_signal_) cancel_signal_ = std::make_shared<CancelSignal>();
    signal = cancel_signal_;
    already = cancelled_.load();
  }
  if (already) signal->cancel();  // a subscription after cancel() runs its callback at once
  return signal->subscribe(std::move(callback));
}

std::size_t ToolContext::State::cancel_subscribers() const {
  std::lock_guard lock(cancel_mu_);
  return cancel_signal_ ? cancel_signal_->subscriber_count() : 0;
}

// ---- ServerCore -------------------------------------------------------------------------------

ServerCore::ServerCore(ServerOptions o) : options(std::move(o)) {
  if (options.page_size == 0) options.page_size = 100;
  if (options.handler_timeout <= std::chrono::milliseconds::zero()) {
    options.handler_timeout = std::chrono::minutes(5);
  }
  server_info = json::value_from(options.info);
  complete_suffix = R"("resultType":"complete")";
  if (options.server_info_in_results) {
    complete_suffix += R"(,"_meta":{")";
    complete_suffix += meta_keys::kServerInfo;
    complete_suffix += R"(":)";
    complete_suffix += json::serialize(server_info);
    complete_suffix += '}';
  }
  cache_fields = R"("ttlMs":)" + std::to_string(std::max<std::int64_t>(0, options.cache_ttl_ms)) +
                 R"(,"cacheScope":")" + (options.cache_public ? "public" : "private") + '"';
  state_key =
      options.request_state_key.empty() ? random_token(32) : options.request_state_key.reveal();
  tasks = std::make_shared<TaskEngine>(options.tasks);
}

void ServerCore::broadcast(std::string_view method, const json::object& params,
                           std::string_view only_subscribed_uri) {
  std::vector<Listener> ls;
  {
    std::lock_guard lock(listeners_mu);
    ls = listeners;
  }
  for (auto& l : ls) l(method, params, only_subscribed_uri);
}

json::object ServerCore::capabilities(bool modern) const {
  json::object caps{{"tools", json::object{{"listChanged", true}}}, {"logging", json::object{}}};
  if (tasks->task_tools.load() > 0) {
    if (modern) {
      caps["extensions"] = json::object{{kTasksExtension, json::object{}}};
    } else {
      caps["tasks"] = json::object{
          {"list", json::object{}},
          {"cancel", json::object{}},
          {"requests", json::object{{"tools", json::object{{"call", json::object{}}}}}}};
    }
  }
  std::shared_lock lock(mu);
  if (!resources.empty() || !templates.empty()) {
    caps["resources"] = json::object{{"subscribe", true}, {"listChanged", true}};
  }
  if (!prompts.empty()) caps["prompts"] = json::object{{"listChanged", true}};
  if (!completers.empty()) caps["completions"] = json::object{};
  return caps;
}

std::shared_ptr<const ToolEntry> ServerCore::find_tool(std::string_view name) const {
  std::shared_lock lock(mu);
  auto it = tools.find(name);
  return it == tools.end() ? nullptr : it->second;
}

std::string ServerCore::modern_result(std::string result_json, bool cacheable) const {
  // result_json is "{...}": reopen it and append the 2026-07-28 members.
  result_json.pop_back();
  if (result_json.size() > 1) result_json += ',';
  if (cacheable) {
    result_json += cache_fields;
    result_json += ',';
  }
  result_json += complete_suffix;
  result_json += '}';
  return result_json;
}

std::string ServerCore::reply(const RequestState& rs, json::object result, bool cacheable) const {
  if (!rs.modern) return jsonrpc::response(rs.id, result);
  if (auto it = result.find("_meta"); it != result.end()) {
    if (options.server_info_in_results) {
      if (auto* m = it->value().if_object(); m && !m->contains(meta_keys::kServerInfo)) {
        (*m)[meta_keys::kServerInfo] = server_info;
      }
    }
    if (!result.contains("resultType")) result["resultType"] = kResultComplete;
    if (cacheable) {
      result["ttlMs"] = std::max<std::int64_t>(0, options.cache_ttl_ms);
      result["cacheScope"] = options.cache_public ? "public" : "private";
    }
    return jsonrpc::response(rs.id, result);
  }
  return jsonrpc::response_raw(rs.id, modern_result(json::serialize(result), cacheable));
}

json::object ServerCore::initialize(ProtocolSession& session, const json::object& params) {
  std::string requested;
  if (auto* v = ::idp::json::find_string(params, "protocolVersion")) requested = std::string(*v);
  session.protocol_version =
      is_supported_protocol_version(requested) ? requested : std::string(kLatestProtocolVersion);
  if (auto* caps = ::idp::json::find_object(params, "capabilities")) {
    session.client_capabilities = *caps;
  }
  if (auto* info = ::idp::json::find_object(params, "clientInfo")) session.client_info = *info;

  json::object result{{"protocolVersion", session.protocol_version},
                      {"capabilities", capabilities(false)},
                      {"serverInfo", server_info}};
  if (options.instructions) result["instructions"] = *options.instructions;
  return result;
}

void ServerCore::Running::finish(std::optional<std::string> response) {
  if (finished_) return;
  finished_ = true;
  if (deadline_) deadline_->cancel();
  --*running_;
  if (running_tools_) --*running_tools_;
  done_(std::move(response));
}

void ServerCore::Running::watch() {
  if (finished_ || deadline_) return;
  deadline_ = std::make_unique<net::steady_timer>(ex_, limit_);
  deadline_->async_wait([self = self_.lock()](boost::system::error_code ec) {
    if (ec || !self || self->finished_) return;
    log::warn("{} (trace {}) passed the handler deadline of {} ms; cancelled", self->method_,
              self->trace_id_, self->limit_.count());
    if (auto rs = self->request_.lock()) {
      rs->cancel();
      rs->outcome = RequestOutcome::kError;
      rs->rpc_error = jsonrpc::kRequestTimeout;
      rs->detail = "timeout";
    }
    self->finish(jsonrpc::error_response(
        self->id_, {jsonrpc::kRequestTimeout,
                    "Request timed out: " + self->method_ +
                        " did not finish within the server's handler deadline of " +
                        std::to_string(self->limit_.count()) + " ms",
                    std::nullopt}));
  });
}

std::shared_ptr<ServerCore::Running> ServerCore::start_request(
    net::any_io_executor ex, std::shared_ptr<ProtocolSession> session,
    std::shared_ptr<RequestState> request, jsonrpc::Message message, Done done) {
  auto run = std::make_shared<Running>();
  run->self_ = run;
  run->ex_ = ex;
  run->limit_ = options.handler_timeout;
  run->done_ = std::move(done);
  run->request_ = request;
  run->id_ = request->id;
  run->method_ = message.method;
  run->trace_id_ = request->trace_id;
  run->running_ = &running;
  ++running;
  if (message.method == "tools/call") {
    run->running_tools_ = &running_tool_calls;
    ++running_tool_calls;
  }
  auto handler = handle_request(std::move(session), std::move(request), std::move(message));
  net::co_spawn(
      ex, std::move(handler), [run](std::exception_ptr e, std::optional<std::string> response) {
        if (e) {
          std::string what = "an exception that is not a std::exception";
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex) {
            what = ex.what();
          } catch (...) {
          }
          log::error("{} failed (trace {}): {}", run->method_, run->trace_id_, what);
          if (auto rs = run->request_.lock()) {
            rs->outcome = RequestOutcome::kError;
            rs->rpc_error = jsonrpc::kInternalError;
          }
          response = jsonrpc::error_response(
              run->id_,
              {jsonrpc::kInternalError, internal_error_text(run->trace_id_), std::nullopt});
        }
        run->finish(std::move(response));
      });
  return run;
}

// ---- Server -----------------------------------------------------------------------------------

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Server::~Server() { impl_->core.tasks->cancel_all(); }

Result<void> Server::add_tool(Tool tool, ToolHandler handler, TaskStart task_start) {
  ServerCore& core = impl_->core;
  if (tool.name.empty()) return make_error(ErrorCode::kInvalidArgument, "a tool needs a name");
  if (!handler) {
    return make_error(ErrorCode::kInvalidArgument, "tool '" + tool.name + "' needs a handler");
  }
  auto entry = std::make_shared<ToolEntry>();
  auto input = SchemaValidator::compile(tool.input_schema);
  if (!input) {
    return std::unexpected(input.error().with_context("tool '" + tool.name + "' inputSchema"));
  }
  entry->input = std::move(*input);
  if (tool.output_schema) {
    auto output = SchemaValidator::compile(*tool.output_schema);
    if (!output) {
      return std::unexpected(output.error().with_context("tool '" + tool.name + "' outputSchema"));
    }
    entry->output = std::move(*output);
  }
  auto headers = xheader::scan(tool.input_schema);
  if (!headers) {
    return make_error(ErrorCode::kInvalidArgument,
                      "tool '" + tool.name + "' inputSchema: " + headers.error().message());
  }
  entry->param_headers = std::move(*headers);
  entry->listing = json::value_from(tool);
  entry->tool = std::move(tool);
  entry->handler = std::move(handler);
  entry->task_start = task_start;
  {
    std::unique_lock lock(core.mu);
    if (core.tools.contains(entry->tool.name)) {
      return make_error(ErrorCode::kInvalidArgument,
                        "a tool named '" + entry->tool.name + "' is already registered");
    }
    entry->seq = core.next_seq++;
    if (!entry->param_headers.empty()) ++core.tools_with_param_headers;
    if (entry->tool.task_support != TaskSupport::kForbidden) ++core.tasks->task_tools;
    core.tools.emplace(entry->tool.name, std::move(entry));
  }
  core.broadcast("notifications/tools/list_changed", {});
  return {};
}

bool Server::remove_tool(std::string_view name) {
  ServerCore& core = impl_->core;
  {
    std::unique_lock lock(core.mu);
    auto it = core.tools.find(name);
    if (it == core.tools.end()) return false;
    if (!it->second->param_headers.empty()) --core.tools_with_param_headers;
    if (it->second->tool.task_support != TaskSupport::kForbidden) --core.tasks->task_tools;
    core.tools.erase(it);
  }
  core.broadcast("notifications/tools/list_changed", {});
  return true;
}

Result<void> Server::add_resource(Resource resource, ResourceReader reader) {
  ServerCore& core = impl_->core;
  if (resource.uri.empty() || resource.name.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "a resource needs a uri and a name");
  }
  auto entry = std::make_shared<ResourceEntry>();
  entry->resource = std::move(resource);
  entry->reader = std::move(reader);
  {
    std::unique_lock lock(core.mu);
    if (core.resources.contains(entry->resource.uri)) {
      return make_error(ErrorCode::kInvalidArgument,
                        "resource " + entry->resource.uri + " is already registered");
    }
    entry->seq = core.next_seq++;
    core.resources.emplace(entry->resource.uri, std::move(entry));
  }
  core.broadcast("notifications/resources/list_changed", {});
  return {};
}

Result<void> Server::add_resource_template(ResourceTemplate tmpl, TemplateReader reader) {
  ServerCore& core = impl_->core;
  if (tmpl.uri_template.empty() || tmpl.name.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "a resource template needs a uriTemplate and a name");
  }
  auto entry = std::make_shared<TemplateEntry>();
  entry->tmpl = std::move(tmpl);
  entry->reader = std::move(reader);
  {
    std::unique_lock lock(core.mu);
    entry->seq = core.next_seq++;
    core.templates.push_back(std::move(entry));
  }
  core.broadcast("notifications/resources/list_changed", {});
  return {};
}

Result<void> Server::add_prompt(Prompt prompt, PromptHandler handler) {
  ServerCore& core = impl_->core;
  if (prompt.name.empty()) return make_error(ErrorCode::kInvalidArgument, "a prompt needs a name");
  auto entry = std::make_shared<PromptEntry>();
  entry->prompt = std::move(prompt);
  entry->handler = std::move(handler);
  {
    std::unique_lock lock(core.mu);
    if (core.prompts.contains(entry->prompt.name)) {
      return make_error(ErrorCode::kInvalidArgument,
                        "a prompt named '" + entry->prompt.name + "' is already registered");
    }
    entry->seq = core.next_seq++;
    core.prompts.emplace(entry->prompt.name, std::move(entry));
  }
  core.broadcast("notifications/prompts/list_changed", {});
  return {};
}

bool Server::remove_prompt(std::string_view name) {
  ServerCore& core = impl_->core;
  {
    std::unique_lock lock(core.mu);
    auto it = core.prompts.find(name);
    if (it == core.prompts.end()) return false;
    core.prompts.erase(it);
  }
  core.broadcast("notifications/prompts/list_changed", {});
  return true;
}

void Server::add_completion(std::string ref_type, std::string ref_name, Completer completer) {
  std::unique_lock lock(impl_->core.mu);
  impl_->core.completers[{std::move(ref_type), std::move(ref_name)}] = std::move(completer);
}

void Server::notify_resource_updated(std::string_view uri) {
  impl_->core.broadcast("notifications/resources/updated", json::object{{"uri", uri}}, uri);
}

const ServerOptions& Server::options() const { return impl_->core.options; }

std::size_t Server::in_flight() const { return impl_->core.running.load(); }
std::size_t Server::tool_calls_in_flight() const { return impl_->core.running_tool_calls.load(); }

std::vector<Tool> Server::tools() const {
  std::vector<std::shared_ptr<const ToolEntry>> entries;
  {
    std::shared_lock lock(impl_->core.mu);
    for (const auto& [k, v] : impl_->core.tools) entries.push_back(v);
  }
  std::sort(entries.begin(), entries.end(), [](auto& a, auto& b) { return a->seq < b->seq; });
  std::vector<Tool> out;
  for (const auto& e : entries) out.push_back(e->tool);
  return out;
}

}  // namespace idp::mcp
