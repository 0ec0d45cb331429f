// The world the service's API tests run in, all on 127.0.0.1 in this process: the local
// Cognito-compatible identity provider with the users' pool (alice and bob), an MCP server with
// one tool that the secret's first entry names (a second entry points at nothing, a third is
// invalid), and idp-agents' Service on a store in a temporary folder, answering turns with
// ScriptedTurns. HTTP helpers speak to it like a browser does.
#pragma once

#include <gtest/gtest.h>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "idp/auth/local_cognito.h"
#include "idp/http/server.h"
#include "idp/mcp/server.h"
#include "idp/mcp/streamable_http_server.h"
#include "idp/service/service.h"
#include "raw_http.h"
#include "scripted_turns.h"

namespace idp::service::test {

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Starts the service (again) on the same store; `tweak` adjusts the options first.
  void start_service(const std::function<void(ServiceOptions&)>& tweak = {});
  void stop_service();
  // Waits until /readyz answers 200 (the registry has read the secret).
  void wait_ready();
  // Waits until the agent `id` is ready.
  void wait_agent_ready(const std::string& id);

  // An access token of alice or bob, straight from the identity provider.
  std::string token(const std::string& user = "alice");
  // One call; `body` is sent as JSON when given.
  idp::test::RawResponse call(const std::string& method, const std::string& target,
                              const std::string& token, const std::optional<std::string>& body = {},
                              std::vector<std::pair<std::string, std::string>> headers = {});
  boost::json::value json(const idp::test::RawResponse& r);
  // Creates a session of `user` and returns its id.
  std::string new_session(const std::string& user = "alice", const std::string& body = "{}");
  // The events of an SSE body, parsed.
  std::vector<boost::json::object> events(const std::string& sse_body);

  std::filesystem::path dir_;
  std::unique_ptr<auth::LocalCognito> idp_;
  std::unique_ptr<http::Server> idp_http_;
  std::string idp_url_, pool_, client_;
  std::unique_ptr<mcp::Server> mcp_;
  std::unique_ptr<http::Server> mcp_http_;
  std::unique_ptr<mcp::StreamableHttpServer> mcp_transport_;
  std::string secret_;
  ScriptedTurns turns_;
  std::unique_ptr<Service> service_;
  std::uint16_t port_ = 0;
  std::string store_path_, ui_dir_;
};

}  // namespace idp::service::test
