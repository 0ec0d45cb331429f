// idp::mcp::Server is the registry and dispatcher of an MCP server: tools (validated against
// their inputSchema before the handler runs, results checked against outputSchema), resources,
// resource templates, prompts and completions. It is transport-free; StreamableHttpServer puts
// it on HTTP. Registration is thread-safe and may happen while serving (clients then receive
// notifications/*/list_changed).
#pragma once

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "idp/core/error.h"
#include "idp/mcp/tool_context.h"
#include "idp/mcp/types.h"

namespace idp::mcp {

namespace detail {
struct ServerCore;
}

struct ServerOptions {
  Implementation info{"idp-mcp-server", "0.1.0"};
  std::optional<std::string> instructions;
  std::size_t page_size = 100;  // items per page of tools/list, resources/list, prompts/list
};

// A tool handler receives arguments already validated against the tool's inputSchema. Throwing
// or returning CallToolResult::error() both reach the client as a result with isError: true.
using ToolHandler =
    std::function<boost::asio::awaitable<CallToolResult>(const json::object& arguments,
                                                         ToolContext& ctx)>;
using ResourceReader = std::function<boost::asio::awaitable<Result<std::vector<ResourceContents>>>(
    const std::string& uri, ToolContext& ctx)>;
// Template readers get the variables matched from the URI ("id" -> "123").
using TemplateReader = std::function<boost::asio::awaitable<Result<std::vector<ResourceContents>>>(
    const std::string& uri, const std::map<std::string, std::string>& variables, ToolContext& ctx)>;
using PromptHandler = std::function<boost::asio::awaitable<Result<GetPromptResult>>(
    const std::map<std::string, std::string>& arguments, ToolContext& ctx)>;
// Returns candidate values for an argument given what the user typed so far.
using Completer = std::function<std::vector<std::string>(std::string_view argument,
                                                         std::string_view partial)>;

class Server {
 public:
  explicit Server(ServerOptions options = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Fails if the name is empty or taken, or a schema does not compile.
  Result<void> add_tool(Tool tool, ToolHandler handler);
  bool remove_tool(std::string_view name);
  Result<void> add_resource(Resource resource, ResourceReader reader);
  Result<void> add_resource_template(ResourceTemplate tmpl, TemplateReader reader);
  Result<void> add_prompt(Prompt prompt, PromptHandler handler);
  // Completions for a prompt argument ("ref/prompt", name) or template variable
  // ("ref/resource", uri template).
  void add_completion(std::string ref_type, std::string ref_name, Completer completer);

  // Sends notifications/resources/updated to every session subscribed to `uri`.
  void notify_resource_updated(std::string_view uri);

  const ServerOptions& options() const;
  std::vector<Tool> tools() const;

  detail::ServerCore& core();  // for transports

 private:
  std::unique_ptr<detail::ServerCore> core_;
};

}  // namespace idp::mcp
