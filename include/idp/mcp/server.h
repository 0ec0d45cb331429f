// idp::mcp::Server is the registry and dispatcher of an MCP server: tools (validated against
// their inputSchema before the handler runs, results checked against outputSchema), resources,
// resource templates, prompts and completions. It is transport-free; StreamableHttpServer puts
// it on HTTP. Registration is thread-safe and may happen while serving (clients then receive
// notifications/*/list_changed).
//
// It serves both protocol eras at once: 2025-11-25 and older through the initialize handshake
// (a session per client), and the stateless 2026-07-28 revision (server/discover, everything in
// each request's _meta, results with resultType and caching hints, and multi round-trip requests:
// a handler's ToolContext::elicit / create_message / list_roots become an InputRequiredResult and
// the handler runs again when the client retries with the answers).
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "idp/core/error.h"
#include "idp/core/secret.h"
#include "idp/mcp/tasks.h"
#include "idp/mcp/tool_context.h"
#include "idp/mcp/types.h"

namespace idp::mcp {

struct ServerOptions {
  Implementation info{"idp-mcp-server", "0.1.0"};
  std::optional<std::string> instructions;
  std::size_t page_size = 100;  // items per page of tools/list, resources/list, prompts/list

  // 2026-07-28 caching hints (ttlMs, cacheScope) on server/discover, tools/list, prompts/list,
  // resources/list, resources/templates/list and resources/read. "public" lets shared caches
  // serve a result to anyone: only for servers whose lists and resources do not depend on who
  // asks.
  std::int64_t cache_ttl_ms = 0;
  bool cache_public = false;
  // Signs the requestState of multi round-trip requests (HMAC-SHA256). Empty: a random key per
  // process, so a retry must reach the same process; replicas behind a load balancer need one
  // shared key. The state also binds the method, the tool/prompt/resource, the arguments and the
  // caller, and expires after request_state_ttl.
  Secret request_state_key;
  std::chrono::seconds request_state_ttl{600};
  // 2026-07-28 results carry _meta["io.modelcontextprotocol/serverInfo"] (a SHOULD).
  bool server_info_in_results = true;
  // The longest a request's handler may run. When it passes, the client gets a JSON-RPC error
  // (-32001) naming this deadline and the handler's ToolContext reports cancelled() (sleep()
  // and pending questions wake); whatever the handler returns afterwards is dropped.
  std::chrono::milliseconds handler_timeout{std::chrono::minutes(5)};
  // Tools declared with Tool::task_support run as tasks (idp/mcp/tasks.h): where task state is
  // kept, ttl, poll interval and the per-caller limit. A task's tool is not bound by
  // handler_timeout; it runs until it returns, is cancelled or its task expires.
  TaskOptions tasks;
};

// A tool handler receives arguments already validated against the tool's inputSchema. Throwing
// or returning CallToolResult::error() both reach the client as a result with isError: true;
// an exception's text goes to the server's log only (with a trace id the client is told).
// Under 2026-07-28 a handler that asks the client for input (ToolContext::elicit, ...) runs once
// per round: code before the question runs again on the retry, so keep it free of side effects
// that must not repeat.
using ToolHandler = std::function<boost::asio::awaitable<CallToolResult>(
    const json::object& arguments, ToolContext& ctx)>;
using ResourceReader = std::function<boost::asio::awaitable<Result<std::vector<ResourceContents>>>(
    const std::string& uri, ToolContext& ctx)>;
// Template readers get the variables matched from the URI ("id" -> "123").
using TemplateReader = std::function<boost::asio::awaitable<Result<std::vector<ResourceContents>>>(
    const std::string& uri, const std::map<std::string, std::string>& variables, ToolContext& ctx)>;
using PromptHandler = std::function<boost::asio::awaitable<Result<GetPromptResult>>(
    const std::map<std::string, std::string>& arguments, ToolContext& ctx)>;
// Returns candidate values for an argument given what the user typed so far.
using Completer =
    std::function<std::vector<std::string>(std::string_view argument, std::string_view partial)>;

// When a tools/call that runs as a task (Tool::task_support) becomes one.
enum class TaskStart {
  kAtOnce,  // before the handler runs: the client gets the task handle at once
  // 2026-07-28: when the handler calls ToolContext::start_task(); what it asks the client
  // before that is answered through multi round-trip requests (InputRequiredResult, the call
  // retried), and a handler that returns without starting the task answers the call directly.
  // 2025-11-25 calls start at once.
  kOnRequest,
};

class Server {
 public:
  explicit Server(ServerOptions options = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Fails if the name is empty or taken, a schema does not compile, or an x-mcp-header
  // annotation of the inputSchema is invalid (not a header token, duplicate, on a non-primitive
  // or number parameter, or not reachable through "properties" alone).
  Result<void> add_tool(Tool tool, ToolHandler handler, TaskStart task_start = TaskStart::kAtOnce);
  bool remove_tool(std::string_view name);
  Result<void> add_resource(Resource resource, ResourceReader reader);
  Result<void> add_resource_template(ResourceTemplate tmpl, TemplateReader reader);
  Result<void> add_prompt(Prompt prompt, PromptHandler handler);
  bool remove_prompt(std::string_view name);
  // Completions for a prompt argument ("ref/prompt", name) or template variable
  // ("ref/resource", uri template).
  void add_completion(std::string ref_type, std::string ref_name, Completer completer);

  // Sends notifications/resources/updated to every session subscribed to `uri` (and every
  // 2026-07-28 subscriptions/listen stream that asked for it).
  void notify_resource_updated(std::string_view uri);

  const ServerOptions& options() const;
  std::vector<Tool> tools() const;
  // Requests being handled now, by every transport of this server: counted from the handler's
  // start until its answer is decided (a handler still running after its deadline no longer
  // counts). What a graceful stop waits for.
  std::size_t in_flight() const;
  std::size_t tool_calls_in_flight() const;  // the tools/call among them

 private:
  friend struct ServerAccess;  // how transports reach the dispatcher (src/mcp/server_core.h)
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace idp::mcp
