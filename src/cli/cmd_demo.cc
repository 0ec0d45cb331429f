// `idp-agents demo`: the seed's whole flow on one machine, with embedded defaults and no AWS:
//   1. a local Cognito-compatible identity provider (pool, app client, service user with a
//      random password),
//   2. an MCP server ("Document Tools") that accepts only that pool's access tokens,
//   3. the External MCP Agents secret naming it (written to <dir>/secret.json, mode 0600),
//   4. the agent registry: sign-in, connect, discover tools, register the agent,
//   5. a tool call through the agent.
// Everything listens on 127.0.0.1. Then it keeps running for other commands to try (agents list,
// doctor, tools, call) until Ctrl-C, or exits with --once.
#include <boost/asio/signal_set.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <regex>
#include <string>

#include "cli.h"
#include "idp/agents/registry.h"
#include "idp/agents/secret_source.h"
#include "idp/auth/bearer_auth.h"
#include "idp/auth/local_cognito.h"
#include "idp/core/json_util.h"
#include "idp/core/random.h"
#include "idp/http/server.h"
#include "idp/mcp/server.h"
#include "idp/mcp/streamable_http_server.h"

namespace bj = boost::json;
namespace net = boost::asio;
using net::awaitable;

namespace idp::cli {
namespace {

struct DemoArgs {
  std::string dir = ".idp-demo";
  bool once = false;
};

bj::object cognito_call(auth::LocalCognito& idp, std::string_view op, const bj::object& body) {
  auto r = idp.handle("AWSCognitoIdentityProviderService." + std::string(op), bj::serialize(body));
  auto v = ::idp::json::parse(r.body);
  if (r.status != 200 || !v || !v->is_object()) {
    throw std::runtime_error(fmt::format("local identity provider: {} failed: {}", op, r.body));
  }
  return v->get_object();
}

// The demo MCP server's tools: small document helpers an IDP assistant could call.
void add_document_tools(mcp::Server& s) {
  mcp::Tool wc;
  wc.name = "word_count";
  wc.title = "Word count";
  wc.description = "Counts the words, lines and characters of a text";
  wc.input_schema = {{"type", "object"},
                     {"properties", bj::object{{"text", bj::object{{"type", "string"}, {"maxLength", 100000}}}}},
                     {"required", bj::array{"text"}}};
  (void)s.add_tool(wc, [](const bj::object& args, mcp::ToolContext&) -> awaitable<mcp::CallToolResult> {
    std::string_view text = args.at("text").as_string();
    std::size_t words = 0, lines = text.empty() ? 0 : 1;
    bool in_word = false;
    for (char c : text) {
      bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
      if (!space && !in_word) ++words;
      in_word = !space;
      if (c == '\n') ++lines;
    }
    mcp::CallToolResult r;
    r.content.push_back(mcp::content::text(fmt::format("{} words, {} lines, {} characters", words, lines, text.size())));
    r.structured_content = bj::object{{"words", words}, {"lines", lines}, {"characters", text.size()}};
    co_return r;
  });

  mcp::Tool dates;
  dates.name = "find_dates";
  dates.title = "Find dates";
  dates.description = "Lists the ISO dates (YYYY-MM-DD) that appear in a text, e.g. invoice and due dates";
  dates.input_schema = {{"type", "object"},
                        {"properties", bj::object{{"text", bj::object{{"type", "string"}, {"maxLength", 100000}}}}},
                        {"required", bj::array{"text"}}};
  (void)s.add_tool(dates, [](const bj::object& args, mcp::ToolContext&) -> awaitable<mcp::CallToolResult> {
    std::string text(args.at("text").as_string());
    static const std::regex iso(R"(\b(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])\b)");
    bj::array found;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), iso); it != std::sregex_iterator(); ++it) {
      found.push_back(bj::string(it->str()));
    }
    mcp::CallToolResult r;
    r.content.push_back(mcp::content::text(found.empty() ? std::string("no dates") : bj::serialize(found)));
    r.structured_content = bj::object{{"dates", found}};
    co_return r;
  });

  mcp::Tool total;
  total.name = "sum_amounts";
  total.title = "Sum amounts";
  total.description = "Adds up a list of amounts (for example invoice line totals)";
  total.input_schema = {
      {"type", "object"},
      {"properties", bj::object{{"amounts", bj::object{{"type", "array"}, {"items", bj::object{{"type", "number"}}}, {"maxItems", 10000}}}}},
      {"required", bj::array{"amounts"}}};
  (void)s.add_tool(total, [](const bj::object& args, mcp::ToolContext&) -> awaitable<mcp::CallToolResult> {
    double sum = 0;
    for (const auto& v : args.at("amounts").as_array()) sum += v.to_number<double>();
    mcp::CallToolResult r;
    r.content.push_back(mcp::content::text(fmt::format("{:.2f}", sum)));
    r.structured_content = bj::object{{"total", sum}};
    co_return r;
  });
}

void step(int n, std::string_view what) { std::cout << "\n" << n << ". " << what << "\n"; }

int cmd_demo(const DemoArgs& args) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(args.dir, ec);
  if (ec) {
    print_error("cannot create " + args.dir + ": " + ec.message());
    return kFailed;
  }
  std::cout << "idp-agents demo: the External MCP Agent flow on this machine (127.0.0.1 only, no AWS)\n";

  // 1. Identity provider (fresh for every run: the demo's pool, client and user are new).
  fs::remove_all(args.dir + "/cognito", ec);
  auto idp = auth::LocalCognito::open(args.dir + "/cognito");
  if (!idp) {
    print_error(idp.error());
    return kFailed;
  }
  http::Server idp_http(http::ServerOptions{});
  (*idp)->attach(idp_http);
  auto idp_port = idp_http.start();
  if (!idp_port) {
    print_error(idp_port.error());
    return kFailed;
  }
  const std::string cognito_url = fmt::format("http://127.0.0.1:{}", *idp_port);
  (*idp)->set_issuer_base(cognito_url);
  std::string pool, client_id;
  const std::string username = "idp-demo-agent";
  const Secret password("Demo-" + random_token(18) + "!9a");
  try {
    pool = std::string(cognito_call(**idp, "CreateUserPool", {{"PoolName", "idp-demo"}}).at("UserPool").at("Id").as_string());
    client_id = std::string(cognito_call(**idp, "CreateUserPoolClient",
                                         {{"UserPoolId", pool},
                                          {"ClientName", "external-mcp-agents"},
                                          {"ExplicitAuthFlows", bj::array{"ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}}})
                                .at("UserPoolClient").at("ClientId").as_string());
    cognito_call(**idp, "AdminCreateUser",
                 {{"UserPoolId", pool}, {"Username", username}, {"TemporaryPassword", "Temp-" + random_token(12) + "!1a"}});
    cognito_call(**idp, "AdminSetUserPassword",
                 {{"UserPoolId", pool}, {"Username", username}, {"Password", password.reveal()}, {"Permanent", true}});
  } catch (const std::exception& e) {
    print_error(e.what());
    return kFailed;
  }
  step(1, "Local Cognito-compatible identity provider");
  std::cout << "   " << cognito_url << "  pool " << pool << ", app client " << client_id << ", user " << username << "\n";

  // 2. The protected MCP server.
  mcp::ServerOptions so;
  so.info = mcp::Implementation{"idp-demo-document-tools", "0.1.0"};
  so.instructions = "Document helpers for the IDP assistant.";
  mcp::Server mcp_server(so);
  add_document_tools(mcp_server);
  auth::BearerAuthOptions ao;
  ao.rules.issuer = (*idp)->issuer(pool);
  ao.rules.client_ids = {client_id};
  auth::BearerAuth bearer(ao);
  http::Server mcp_http(http::ServerOptions{});
  mcp::StreamableHttpOptions mo;
  mo.authenticate = bearer.authenticator();
  mcp::StreamableHttpServer transport(mcp_server, mo);
  transport.attach(mcp_http);
  bearer.serve_metadata(mcp_http);
  auto mcp_port = mcp_http.start();
  if (!mcp_port) {
    print_error(mcp_port.error());
    return kFailed;
  }
  const std::string mcp_url = fmt::format("http://127.0.0.1:{}/mcp", *mcp_port);
  step(2, "MCP server \"Document Tools\" (idp::mcp SDK), accepting only the pool's access tokens");
  std::cout << "   " << mcp_url << "\n";

  // 3. The secret.
  bj::array secret{bj::object{{"mcp_url", mcp_url},
                              {"agent_name", "Document Tools"},
                              {"agent_description", "Counts words, finds dates and adds up amounts in document text."},
                              {"cognito_user_pool_id", pool},
                              {"cognito_client_id", client_id},
                              {"cognito_username", username},
                              {"cognito_password", password.reveal()},
                              {"sample_queries", bj::array{"How many words are in this paragraph?",
                                                           "Which dates appear in this invoice?",
                                                           "What is the total of 12.50, 7.25 and 80?"}}}};
  const std::string secret_path = args.dir + "/secret.json";
  {
    // Created 0600 from the start: it holds the password.
    std::string text = bj::serialize(secret) + "\n";
    int fd = ::open(secret_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool ok = fd >= 0 && ::fchmod(fd, 0600) == 0 &&
              ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    if (fd >= 0) ::close(fd);
    if (!ok) {
      print_error("cannot write " + secret_path + ": " + std::strerror(errno));
      return kFailed;
    }
  }
  step(3, "The External MCP Agents secret (a JSON array; the password is shown as ***)");
  bj::array shown = secret;
  shown[0].as_object()["cognito_password"] = "***";
  std::cout << "   " << secret_path << " (mode 0600): " << bj::serialize(shown) << "\n";

  int rc = run([&]() -> awaitable<int> {
    auto ex = co_await net::this_coro::executor;
    // 4. Discovery.
    auto source = std::make_shared<agents::FileSecretSource>(secret_path);
    agents::RegistryOptions ro;
    ro.cognito_endpoint = cognito_url + "/";
    ro.refresh_interval = std::chrono::seconds(5);
    agents::AgentRegistry registry(ex, source, ro);
    auto t0 = std::chrono::steady_clock::now();
    auto started = co_await registry.start();
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    if (!started) {
      print_error(started.error());
      co_await registry.stop();
      co_return kFailed;
    }
    step(4, fmt::format("Agent registry: signed in (USER_PASSWORD_AUTH), connected, discovered tools in {} ms", ms));
    auto list = registry.list_available_agents();
    for (const auto& a : list) {
      std::cout << "   " << a.agent_id << "  " << a.agent_name << "  [" << agents::to_string(a.status) << "]\n";
      std::cout << "   " << a.agent_description << "\n";
    }
    if (list.empty() || list[0].status != agents::AgentStatus::kReady) {
      print_error("the demo agent is not ready: " + (list.empty() ? std::string("no agent") : list[0].reason));
      co_await registry.stop();
      co_return kFailed;
    }
    // 5. A call through the agent.
    const std::string agent_id = list[0].agent_id;
    const std::string tool = "find_dates";
    bj::object call_args{{"text", "Invoice INV-7 issued 2026-11-02, due 2026-12-02. Paid: no."}};
    auto r = co_await registry.call_tool(agent_id, tool, std::move(call_args));
    step(5, "Calling find_dates through the agent (the token is sent as Authorization: Bearer)");
    if (!r) {
      print_error(r.error());
      co_await registry.stop();
      co_return kFailed;
    }
    for (const auto& c : r->content) {
      if (const auto* o = c.if_object(); o && ::idp::json::find_string(*o, "text")) {
        std::cout << "   " << o->at("text").as_string().c_str() << "\n";
      }
    }
    if (args.once) {
      co_await registry.stop();
      co_return kOk;
    }
    std::cout << "\nEverything stays up until Ctrl-C. In another terminal, try:\n"
              << "   build/bin/idp-agents agents list --secret file://" << secret_path << " --cognito-endpoint " << cognito_url << "/\n"
              << "   build/bin/idp-agents doctor --secret file://" << secret_path << " --cognito-endpoint " << cognito_url << "/\n"
              << "   build/bin/idp-agents tools " << mcp_url << "   (401: the server wants a token)\n";
    net::signal_set signals(ex, SIGINT, SIGTERM);
    co_await signals.async_wait(net::use_awaitable);
    co_await registry.stop();
    co_return kOk;
  });
  mcp_http.stop();
  mcp_http.wait();
  idp_http.stop();
  idp_http.wait();
  return rc;
}

}  // namespace

void register_demo_command(CLI::App& app, Commands& out) {
  auto a = std::make_shared<DemoArgs>();
  auto* demo = app.add_subcommand(
      "demo", "run the whole flow locally: identity provider, protected MCP server, secret, agent discovery, a tool call");
  demo->add_option("--dir", a->dir, "folder for the demo's identity provider data and secret")->capture_default_str();
  demo->add_flag("--once", a->once, "exit after the tool call instead of staying up");
  out.push_back({demo, [a] { return cmd_demo(*a); }});
}

}  // namespace idp::cli
