// idp::agents::AgentRegistry turns the External MCP Agents secret into live agents: one agent
// per valid secret entry, each with a connected MCP client, its discovered tools (after
// tools_allow / tools_deny, renamed with tool_prefix) and a description ending in
// " The tools available are: a, b." as the reference writes it.
//
// - Discovery runs for every entry at once (coroutines on one strand), each bounded by the
//   entry's timeout_seconds (default 30 s). A server that cannot be reached, or whose sign-in
//   fails, is listed as `unavailable` with the reason and retried in the background with
//   exponential backoff (1 s, 2 s, 4 s, ... capped at the refresh interval); it becomes `ready`
//   without a restart.
// - The source's version is checked every refresh interval (default 30 s) and on refresh(); a
//   new, changed or removed entry shows within one interval. An entry unchanged between versions
//   keeps its agent and its connection. A failed read, or a value that is not a JSON array at
//   all (an edit in progress), keeps the agents of the last good version and says so in
//   findings(); a valid array (`[]` included) is applied as it is.
// - notifications/tools/list_changed from a server makes the registry list its tools again.
// - Tokens per entry: Cognito USER_PASSWORD_AUTH (CognitoTokenProvider; endpoint from the
//   options so that tests and the demo can use LocalCognito), OAuth 2.0 client credentials, a
//   static bearer token, or none.
//
// Thread-safety: all state lives on a strand of the executor given to the constructor; the
// coroutine members (start, refresh, stop, call_tool) may be co_awaited from any executor (start,
// refresh and stop hop onto the strand; call_tool reads the published snapshot and runs the call
// on the caller's executor, so calls of all agents run in parallel). list_available_agents(), agent(), tools(), findings(), stats(), version()
// and the JSON renderings read a snapshot under a mutex and may be called from any thread.
// client() hands out the live mcp::Client (thread-safe: see idp/mcp/client.h). Destroy the
// registry on the executor's thread or after its io_context stopped; call stop() first for a
// graceful end (sessions are closed with HTTP DELETE).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "idp/agents/secret_schema.h"
#include "idp/agents/secret_source.h"
#include "idp/core/error.h"
#include "idp/http/client.h"
#include "idp/mcp/client.h"
#include "idp/mcp/types.h"

namespace idp::agents {

struct RegistryOptions {
  std::chrono::milliseconds refresh_interval{30'000};  // source version checks
  // Bound of one discovery (token + connect + tools/list) when the entry has no timeout_seconds.
  // An entry's timeout_seconds bounds its discovery and is also its client's per-request timeout
  // (tool calls, also when the caller asks for longer; progress resets it); without it tool calls
  // use the caller's timeout or the MCP client's default.
  std::chrono::milliseconds default_timeout{30'000};
  std::chrono::milliseconds retry_initial{1'000};  // first retry of an unavailable agent
  std::chrono::milliseconds retry_max{0};          // backoff cap; 0: refresh_interval
  // Cognito endpoint for every Cognito entry ("http://127.0.0.1:9229/" for LocalCognito). Empty:
  // AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER, else the region of the entry's pool.
  std::string cognito_endpoint;
  // Base HTTP options of MCP clients and token endpoints (proxy, CA file...); an entry's ca_file
  // and timeout_seconds override them for its MCP server.
  http::ClientOptions http;
  // Keep each server's standalone stream open to hear notifications/tools/list_changed.
  bool listen = true;
  SecretLimits limits;
  // Replaces the token provider built from an entry (tests). Returning nullptr means none.
  std::function<std::shared_ptr<mcp::TokenProvider>(const AgentEntry&,
                                                    boost::asio::any_io_executor)>
      token_provider_factory;
};

enum class AgentStatus { kReady, kUnavailable, kDisabled };
const char* to_string(AgentStatus status);  // "ready" | "unavailable" | "disabled"

// One agent as list_available_agents() shows it.
struct AgentInfo {
  std::string agent_id;
  std::string agent_name;
  std::string agent_description;  // with " The tools available are: ..." when tools are known
  std::vector<std::string> sample_queries;
  AgentStatus status = AgentStatus::kUnavailable;
  std::string reason;              // why unavailable (empty otherwise)
  std::vector<std::string> tools;  // names as the model sees them (allow/deny/prefix applied)
  std::optional<std::chrono::system_clock::time_point> last_checked;
  std::size_t entry_index = 0;  // 0-based position in the secret
  std::string server;           // mcp_url without user info and query
  Transport transport = Transport::kHttp;
  AuthType auth = AuthType::kNone;
};

struct RegistryStats {
  std::size_t discovery_attempts = 0;  // connect + list attempts, retries included
  std::size_t source_reads = 0;        // read() calls on the secret source
  std::size_t reloads = 0;             // versions applied
  std::size_t relists = 0;             // tool lists fetched again after list_changed
};

// {"agent_id","agent_name","agent_description","sample_queries","status","reason","tools",
//  "last_checked" (RFC 3339 UTC or null),"entry","server","transport","auth"}
boost::json::object to_json(const AgentInfo& info);
boost::json::array agents_to_json(const std::vector<AgentInfo>& agents);

class AgentRegistry {
 public:
  AgentRegistry(boost::asio::any_io_executor executor, std::shared_ptr<SecretSource> source,
                RegistryOptions options = {});
  ~AgentRegistry();
  AgentRegistry(const AgentRegistry&) = delete;
  AgentRegistry& operator=(const AgentRegistry&) = delete;

  // Reads and validates the secret, discovers every agent in parallel (each bounded by its
  // timeout) and starts the background refresh loop. Fails only when the secret cannot be read
  // (the loop still runs and picks it up later); invalid entries and unreachable servers are
  // findings and unavailable agents, not errors.
  boost::asio::awaitable<Result<void>> start();
  // Reads the source now, applies a changed version, and retries unavailable agents at once.
  boost::asio::awaitable<Result<void>> refresh();
  // Stops the background work and closes every MCP session.
  boost::asio::awaitable<void> stop();

  // Calls `tool` (the name as listed, prefix included) on the agent's server. Errors: kNotFound
  // for an unknown agent or a tool that is not listed (filtered tools cannot be called),
  // kUnavailable when the agent is not ready.
  boost::asio::awaitable<Result<mcp::CallToolResult>> call_tool(std::string agent_id,
                                                                std::string tool,
                                                                boost::json::object arguments,
                                                                mcp::CallOptions options = {});

  std::vector<AgentInfo> list_available_agents() const;
  std::optional<AgentInfo> agent(std::string_view agent_id) const;
  // The agent's tools as the model sees them (prefixed names, the servers' schemas).
  std::optional<std::vector<mcp::Tool>> tools(std::string_view agent_id) const;
  // The connected client of a ready agent (nullptr otherwise).
  std::shared_ptr<mcp::Client> client(std::string_view agent_id) const;

  // Findings of the current version, plus a whole-secret finding when the last read failed and
  // the source's warnings (a world-readable file).
  std::vector<Finding> findings() const;
  std::string version() const;  // of the secret in use; empty before a successful read
  RegistryStats stats() const;
  std::string source_description() const;

  boost::json::array agents_json() const;
  boost::json::array findings_json() const;

  boost::asio::any_io_executor executor() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace idp::agents
