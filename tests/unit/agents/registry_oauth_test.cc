// Secret entries of auth type "oauth2" through the agent registry, against an MCP server that
// speaks the MCP authorization spec, all in this process on 127.0.0.1: the server's BearerAuth
// verifies RS256 JWTs and serves RFC 9728 metadata naming an authorization server, which this
// test plays (RFC 8414 metadata, a client_credentials token endpoint that checks the client's
// secret with client_secret_basic and signs Cognito-shaped M2M access tokens, a JWKS). The
// registry discovers the rest from the server's 401. A wrong secret leaves that agent
// unavailable with the authorization server's refusal while the others stay ready; a
// token_endpoint in the entry skips the authorization server's metadata.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/serialize.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include "../../integration/test_rsa_key.h"
#include "idp/agents/registry.h"
#include "idp/auth/bearer_auth.h"
#include "idp/core/json_util.h"
#include "idp/core/log.h"
#include "idp/core/random.h"
#include "idp/http/server.h"
#include "idp/mcp/server.h"
#include "idp/mcp/streamable_http_server.h"

namespace idp::agents {
namespace {

namespace bj = boost::json;
namespace net = boost::asio;
using net::awaitable;
using namespace std::chrono_literals;

constexpr auto kEventGuard = 20s;  // how long a test waits for an event before it fails
constexpr std::string_view kClientId = "m2m-agent";
constexpr std::string_view kClientSecret = "Cl1ent-Secret-Value";

std::int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The authorization server: metadata, token endpoint, JWKS.
class TestAuthorizationServer {
 public:
  TestAuthorizationServer() {
    key_.generate();
    key_.kid = "as-key";
    http::ServerOptions ho;
    ho.shutdown_grace = 300ms;
    http_ = std::make_unique<http::Server>(ho);
    http_->route("GET", "/.well-known/oauth-authorization-server",
                 [this](const http::Request&, http::Responder& res) -> awaitable<void> {
                   ++metadata_reads_;
                   bj::object doc{{"issuer", base_},
                                  {"token_endpoint", base_ + "/token"},
                                  {"jwks_uri", base_ + "/jwks.json"},
                                  {"grant_types_supported", bj::array{"client_credentials"}},
                                  {"token_endpoint_auth_methods_supported",
                                   bj::array{"client_secret_basic"}}};
                   co_await res.send(http::Response::json(200, bj::serialize(doc)));
                 });
    http_->route("GET", "/jwks.json",
                 [this](const http::Request&, http::Responder& res) -> awaitable<void> {
                   bj::object doc{{"keys", bj::array{key_.jwk()}}};
                   co_await res.send(http::Response::json(200, bj::serialize(doc)));
                 });
    http_->route("POST", "/token", [this](const http::Request& req, http::Responder& res) {
      return token(req, res);
    });
    auto p = http_->start();
    if (!p) throw std::runtime_error(p.error().message());
    base_ = fmt::format("http://127.0.0.1:{}", *p);
  }
  ~TestAuthorizationServer() {
    http_->stop();
    http_->wait();
  }

  const std::string& issuer() const { return base_; }
  int metadata_reads() const { return metadata_reads_; }
  int tokens_issued() const { return tokens_issued_; }

 private:
  awaitable<void> token(const http::Request& req, http::Responder& res) {
    auto refuse = [](int status, std::string_view error) {
      return http::Response::json(status, fmt::format(R"({{"error":"{}"}})", error));
    };
    auto basic = req.header("Authorization");
    std::optional<std::string> pair;
    if (basic && basic->starts_with("Basic ")) pair = base64_decode(basic->substr(6));
    if (!pair || *pair != fmt::format("{}:{}", kClientId, kClientSecret)) {
      co_await res.send(refuse(401, "invalid_client"));
      co_return;
    }
    if (req.body().find("grant_type=client_credentials") == std::string_view::npos) {
      co_await res.send(refuse(400, "unsupported_grant_type"));
      co_return;
    }
    // A Cognito machine-to-machine access token: client_id and scope, no username.
    bj::object header{{"alg", "RS256"}, {"kid", key_.kid}, {"typ", "JWT"}};
    bj::object claims{{"iss", base_},          {"sub", kClientId},
                      {"client_id", kClientId}, {"token_use", "access"},
                      {"scope", "mcp/tools"},   {"iat", now_s()},
                      {"exp", now_s() + 3600}};
    std::string input = base64url_encode(bj::serialize(header)) + "." +
                        base64url_encode(bj::serialize(claims));
    std::string jwt = input + "." + base64url_encode(test::rsa_sign(key_.pkey, "SHA256", input));
    ++tokens_issued_;
    bj::object answer{{"access_token", jwt}, {"token_type", "Bearer"}, {"expires_in", 3600}};
    co_await res.send(http::Response::json(200, bj::serialize(answer)));
  }

  test::RsaKey key_;
  std::unique_ptr<http::Server> http_;
  std::string base_;
  std::atomic<int> metadata_reads_{0};
  std::atomic<int> tokens_issued_{0};
};

// An MCP server with an "add" tool that accepts only the authorization server's tokens for
// kClientId and names it in its protected-resource metadata.
class ProtectedServer {
 public:
  explicit ProtectedServer(const std::string& issuer) {
    server_ = std::make_unique<mcp::Server>(mcp::ServerOptions{.info = {"protected", "1.0"}});
    mcp::Tool t;
    t.name = "add";
    t.description = "adds a and b";
    t.input_schema = ::idp::json::parse(R"({"type":"object","properties":{"a":{"type":"number"},
        "b":{"type":"number"}},"required":["a","b"]})")
                         ->as_object();
    auto added = server_->add_tool(
        t, [](const bj::object& args, mcp::ToolContext&) -> awaitable<mcp::CallToolResult> {
          double sum = args.at("a").to_number<double>() + args.at("b").to_number<double>();
          co_return mcp::CallToolResult::text(fmt::format("{}", sum));
        });
    if (!added) throw std::runtime_error(added.error().message());
    http::ServerOptions ho;
    ho.shutdown_grace = 300ms;
    http_ = std::make_unique<http::Server>(ho);
    auth::BearerAuthOptions ao;
    ao.rules.issuer = issuer;
    ao.rules.client_ids = {std::string(kClientId)};
    ao.jwks_url = issuer + "/jwks.json";
    bearer_ = std::make_unique<auth::BearerAuth>(ao);
    mcp::StreamableHttpOptions mo;
    mo.authenticate = bearer_->authenticator();
    transport_ = std::make_unique<mcp::StreamableHttpServer>(*server_, mo);
    transport_->attach(*http_);
    bearer_->serve_metadata(*http_);
    auto p = http_->start();
    if (!p) throw std::runtime_error(p.error().message());
    url_ = fmt::format("http://127.0.0.1:{}/mcp", *p);
  }
  ~ProtectedServer() {
    http_->stop();
    http_->wait();
  }
  const std::string& url() const { return url_; }

 private:
  std::unique_ptr<mcp::Server> server_;
  std::unique_ptr<http::Server> http_;
  std::unique_ptr<auth::BearerAuth> bearer_;
  std::unique_ptr<mcp::StreamableHttpServer> transport_;
  std::string url_;
};

class RegistryOAuth2Test : public ::testing::Test {
 protected:
  void SetUp() override {
    log::init(log::Level::kWarn);
    work_.emplace(ioc_.get_executor());
    runner_ = std::thread([this] { ioc_.run(); });
    options_.retry_initial = 30s;  // one attempt per agent during a test
    options_.retry_max = 30s;
    options_.refresh_interval = 60s;
  }
  void TearDown() override {
    if (registry_) {
      await(registry_->stop());
      registry_.reset();
    }
    work_.reset();
    ioc_.stop();
    runner_.join();
  }

  template <class T>
  T await(awaitable<T> op) {
    return net::co_spawn(ioc_, std::move(op), net::use_future).get();
  }
  void await(awaitable<void> op) { net::co_spawn(ioc_, std::move(op), net::use_future).get(); }

  AgentRegistry& make(std::string secret) {
    registry_ = std::make_unique<AgentRegistry>(
        ioc_.get_executor(), std::make_shared<MemorySecretSource>(std::move(secret)), options_);
    return *registry_;
  }

  AgentInfo info(std::string_view id) {
    auto a = registry_->agent(id);
    EXPECT_TRUE(a.has_value()) << "no agent " << id;
    return a.value_or(AgentInfo{});
  }

  // Polls until `cond` holds; the limit only guards against a hang.
  static bool eventually(const std::function<bool()>& cond) {
    auto end = std::chrono::steady_clock::now() + kEventGuard;
    while (std::chrono::steady_clock::now() < end) {
      if (cond()) return true;
      std::this_thread::sleep_for(20ms);
    }
    return cond();
  }

  net::io_context ioc_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  std::thread runner_;
  RegistryOptions options_;
  std::unique_ptr<AgentRegistry> registry_;
};

std::string oauth2_entry(const std::string& url, std::string_view id, std::string_view secret,
                         std::string_view extra = {}) {
  return fmt::format(
      R"({{"mcp_url": "{}", "agent_id": "{}",
          "auth": {{"type": "oauth2", "client_id": "{}", "client_secret": "{}"{}}}}})",
      url, id, kClientId, secret, extra);
}

TEST_F(RegistryOAuth2Test, DiscoveredFromTheServerAWrongSecretFailsAloneAndOthersStayUp) {
  TestAuthorizationServer as;
  ProtectedServer mcp(as.issuer());
  ProtectedServer other(as.issuer());
  const std::string wrong = "Wr0ng-Secret-Value";
  std::string secret = "[" + oauth2_entry(mcp.url(), "calc", kClientSecret) + "," +
                       oauth2_entry(mcp.url(), "bad_secret", wrong) + "," +
                       oauth2_entry(other.url(), "second", kClientSecret) + "]";
  auto& reg = make(secret);
  auto started = await(reg.start());
  ASSERT_TRUE(started) << started.error().message();

  for (const char* id : {"calc", "second"}) {
    auto a = info(id);
    EXPECT_EQ(a.status, AgentStatus::kReady) << id << ": " << a.reason;
    EXPECT_EQ(a.tools, std::vector<std::string>{"add"}) << id;
    EXPECT_EQ(a.auth, AuthType::kOAuth2);
  }
  auto bad = info("bad_secret");
  EXPECT_EQ(bad.status, AgentStatus::kUnavailable);
  EXPECT_NE(bad.reason.find("invalid_client"), std::string::npos) << bad.reason;
  EXPECT_NE(bad.reason.find(as.issuer() + "/token"), std::string::npos) << bad.reason;
  EXPECT_EQ(reg.client("bad_secret"), nullptr);

  // A call goes through with the agent's token.
  bj::object args{{"a", 2}, {"b", 3}};
  auto sum = await(reg.call_tool("calc", "add", std::move(args)));
  ASSERT_TRUE(sum) << sum.error().message();
  EXPECT_EQ(sum->content.at(0).at("text").as_string(), "5");

  // What a user can see says the auth type and never the secrets.
  std::string everything = bj::serialize(reg.agents_json()) + bj::serialize(reg.findings_json());
  EXPECT_NE(everything.find(R"("auth":"oauth2")"), std::string::npos) << everything;
  EXPECT_EQ(everything.find(kClientSecret), std::string::npos);
  EXPECT_EQ(everything.find(wrong), std::string::npos);
  EXPECT_GE(as.metadata_reads(), 1);
}

TEST_F(RegistryOAuth2Test, AGivenTokenEndpointSkipsTheAuthorizationServerMetadata) {
  TestAuthorizationServer as;
  ProtectedServer mcp(as.issuer());
  auto& reg = make("[" +
                   oauth2_entry(mcp.url(), "pinned", kClientSecret,
                                fmt::format(R"(, "token_endpoint": "{}/token", "scope": "mcp/tools")",
                                            as.issuer())) +
                   "]");
  auto started = await(reg.start());
  ASSERT_TRUE(started) << started.error().message();
  auto a = info("pinned");
  EXPECT_EQ(a.status, AgentStatus::kReady) << a.reason;
  EXPECT_EQ(as.metadata_reads(), 0);
  EXPECT_EQ(as.tokens_issued(), 1);
}

TEST_F(RegistryOAuth2Test, AnEntryPointingAtTheMetadataAddressIsRefusedAndTheOptInIsNamed) {
  // Refused by the schema: the agent never exists, the finding names the entry and field.
  auto& reg = make(R"([{"mcp_url": "https://169.254.169.254/mcp", "agent_id": "imds",
      "auth": {"type": "oauth2", "client_id": "c", "client_secret": "s"}}])");
  auto started = await(reg.start());
  ASSERT_TRUE(started) << started.error().message();
  EXPECT_FALSE(reg.agent("imds").has_value());
  std::string findings = bj::serialize(reg.findings_json());
  EXPECT_NE(findings.find("secret entry 1: mcp_url points at 169.254.169.254, the cloud instance "
                          "metadata address"),
            std::string::npos)
      << findings;
  EXPECT_NE(findings.find(R"(\"allow_link_local\": true)"), std::string::npos) << findings;
}

}  // namespace
}  // namespace idp::agents
