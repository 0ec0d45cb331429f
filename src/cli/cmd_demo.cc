// `idp-agents demo`: the whole product on this machine with embedded defaults and no AWS:
//   1. a local Cognito-compatible identity provider with two pools: one for the MCP servers (the
//      agents' service user) and one for the web users (the demo user, whose random password is
//      printed once),
//   2. the example MCP server idp-mcp-server over HTTPS with a local CA, accepting only the
//      first pool's access tokens,
//   3. the External MCP Agents secret naming it (with the CA as its ca_file),
//   4. the service (`idp-agents serve` in this process) with the offline model unless --model or
//      IDP_MODEL names another: the registry, the agent loop, the API and the web UI.
// It prints the URL and the sign-in and stays up until Ctrl-C; --once signs in through the API,
// asks one question, prints the answer and exits. Everything listens on 127.0.0.1. Lines reach
// a pipe or a log as they are printed (stdout is line-buffered).
#include <fmt/format.h>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "cli.h"
#include "demo_ask.h"
#include "demo_setup.h"
#include "idp/agents/secret_source.h"
#include "idp/auth/local_cognito.h"
#include "idp/core/child_process.h"
#include "idp/http/local_ca.h"
#include "idp/http/server.h"
#include "idp/service/service.h"
#include "serve_common.h"

namespace bj = boost::json;

namespace idp::cli {
namespace {

constexpr const char* kAgentId = "client_records";
constexpr const char* kAgentName = "Client Records";
constexpr const char* kWebUser = "demo";
constexpr const char* kServiceUser = "idp-demo-agent";
// The first is what --once asks; the offline planner answers each with the example server.
const std::vector<std::string> kSampleQueries = {
    "What is the address of client C-1001?",
    "What is (12.5 + 7) * 3?",
    "Send a verification email to ada@example.com",
};

struct DemoArgs {
  std::string dir = ".idp-demo";
  std::string listen = "127.0.0.1:8080";
  std::string model;
  std::string question;
  bool once = false;
};

void line(const std::string& text) { std::printf("%s\n", text.c_str()); }
void step(int n, const std::string& what) { std::printf("\n%d. %s\n", n, what.c_str()); }

// A folder of the demo, made fresh (the previous run's pools, users and store go).
Result<std::string> fresh_dir(const std::string& parent, std::string_view name) {
  std::string dir = (std::filesystem::path(parent) / name).string();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (ec) return make_error(ErrorCode::kUnavailable, "cannot remove " + dir + ": " + ec.message());
  return dir;
}

int cmd_demo(const DemoArgs& args) {
  // A pipe or a log gets each line as it is printed, not when the demo ends.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  auto listen = parse_listen(args.listen);
  if (!listen) {
    print_error(listen.error());
    return kUsage;
  }
  if (listen->first != "127.0.0.1") {
    print_error("--listen " + args.listen + ": the demo serves on loopback only (127.0.0.1)");
    return kUsage;
  }
  auto model = serve_model(args.model);
  if (!model) {
    print_error(model.error());
    return kUsage;
  }
  const std::string mcp_program =
      (std::filesystem::path(program_dir()) / "idp-mcp-server").string();
  if (::access(mcp_program.c_str(), X_OK) != 0) {
    print_error(
        mcp_program +
        " is missing: build it (make demo, or cmake --build build --target idp-mcp-server)");
    return kFailed;
  }
  std::error_code ec;
  std::filesystem::create_directories(args.dir, ec);
  ::chmod(args.dir.c_str(), 0700);  // it holds the secret, keys and the store
  if (ec) {
    print_error("cannot create " + args.dir + ": " + ec.message());
    return kFailed;
  }
  const std::string dir = std::filesystem::absolute(args.dir).string();
  line("idp-agents demo: the whole product on this machine (127.0.0.1 only, no AWS)");

  // 1. The identity provider: fresh pools and users on every run.
  auto cognito_dir = fresh_dir(dir, "cognito");
  if (!cognito_dir) {
    print_error(cognito_dir.error());
    return kFailed;
  }
  auto idp = auth::LocalCognito::open(*cognito_dir);
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
  const Secret service_password = demo_password();
  const Secret web_password = demo_password();
  auto agents_pool = make_demo_pool(**idp, "idp-demo-mcp-servers", "external-mcp-agents",
                                    kServiceUser, service_password);
  if (!agents_pool) {
    print_error(agents_pool.error());
    return kFailed;
  }
  auto users_pool = make_demo_pool(**idp, "idp-demo-web-users", "web-ui", kWebUser, web_password);
  if (!users_pool) {
    print_error(users_pool.error());
    return kFailed;
  }
  step(1, "Local Cognito-compatible identity provider");
  line(fmt::format("   {}", cognito_url));
  line(fmt::format("   pool {} (MCP servers): app client {}, service user {}", agents_pool->id,
                   agents_pool->client_id, kServiceUser));
  line(fmt::format("   pool {} (web users): app client {}, user {}", users_pool->id,
                   users_pool->client_id, kWebUser));

  // 2. The example MCP server over HTTPS with a local CA, taking only the first pool's tokens.
  auto ca = http::ensure_local_ca(dir + "/ca");
  if (!ca) {
    print_error(ca.error().with_context("local CA"));
    return kFailed;
  }
  ChildOptions co;
  co.stderr_file = dir + "/idp-mcp-server.log";
  auto mcp = ChildProcess::start(
      {mcp_program, "--listen", "127.0.0.1:0", "--tls-cert", ca->server_cert, "--tls-key",
       ca->server_key, "--jwt-issuer", (*idp)->issuer(agents_pool->id), "--cognito-client-id",
       agents_pool->client_id, "--db", dir + "/idp-mcp-server.db", "--audit-log",
       dir + "/audit.log", "--log-level", "warn"},
      "https://127\\.0\\.0\\.1:[0-9]+/mcp", co);
  if (!mcp) {
    print_error(mcp.error().message() + " (its log: " + co.stderr_file + ")");
    return kFailed;
  }
  const std::string mcp_url = (*mcp)->match();
  step(2, "MCP server idp-mcp-server (calculator, client addresses, verification e-mails)");
  line(fmt::format("   {}  (HTTPS: local CA {}; only pool {}'s access tokens)", mcp_url,
                   ca->ca_cert, agents_pool->id));

  // 3. The secret.
  bj::array queries;
  for (const auto& q : kSampleQueries) queries.push_back(bj::string(q));
  bj::object entry{{"mcp_url", mcp_url},
                   {"agent_id", kAgentId},
                   {"agent_name", kAgentName},
                   {"agent_description",
                    "Looks up clients' postal addresses, sends and lists verification e-mails, "
                    "and does arithmetic."},
                   {"cognito_user_pool_id", agents_pool->id},
                   {"cognito_client_id", agents_pool->client_id},
                   {"cognito_username", kServiceUser},
                   {"cognito_password", service_password.reveal()},
                   {"ca_file", ca->ca_cert},
                   {"sample_queries", queries}};
  const std::string secret_path = dir + "/secret.json";
  if (auto w = write_secret_file(secret_path, bj::array{entry}); !w) {
    print_error(w.error());
    return kFailed;
  }
  entry["cognito_password"] = "***";
  step(3, "The External MCP Agents secret (the password is shown as ***)");
  line(fmt::format("   {} (mode 0600): [{}]", secret_path, bj::serialize(entry)));

  // 4. The service.
  auto serve_dir = fresh_dir(dir, "serve");
  if (!serve_dir) {
    print_error(serve_dir.error());
    return kFailed;
  }
  service::ServiceOptions o;
  o.host = listen->first;
  o.port = listen->second;
  o.store_path = *serve_dir + "/idp-agents.db";
  std::filesystem::create_directories(*serve_dir, ec);
  o.user_pool_id = users_pool->id;
  o.user_client_id = users_pool->client_id;
  o.cognito_endpoint = cognito_url;
  o.registry.refresh_interval = std::chrono::seconds(5);
  o.ui_dir = default_ui_dir();
  o.model = model->info;
  auto secret =
      [secret_path](boost::asio::any_io_executor) -> Result<std::shared_ptr<agents::SecretSource>> {
    return std::make_shared<agents::FileSecretSource>(secret_path);
  };
  service::Service svc(o, secret, model->turns);
  auto port = svc.start();
  if (!port) {
    print_error(port.error().message() +
                (listen->second != 0 ? " (another port: --listen 127.0.0.1:PORT)" : ""));
    return kFailed;
  }
  const std::string url = fmt::format("http://127.0.0.1:{}", *port);
  step(4, fmt::format("The service: agent registry, agent loop (model: {}), API and web UI",
                      o.model.spec.empty() ? "offline" : o.model.spec));
  line("   " + url);
  if (!std::filesystem::is_directory(o.ui_dir)) {
    line("   (the web UI is not built in " + o.ui_dir + ": make demo builds it; the API works)");
  }

  int rc = kOk;
  if (args.once) {
    DemoQuestion q{url, kWebUser, web_password, kAgentId,
                   args.question.empty() ? kSampleQueries.front() : args.question};
    std::printf("\n");
    rc = run([&q]() { return ask_once(q); });
  } else {
    line("\nOpen " + url + "/ and sign in:");
    line(std::string("   username: ") + kWebUser);
    line("   password: " + web_password.reveal() + "   (shown once: a new one on every run)");
    line("Pick \"" + std::string(kAgentName) +
         "\" and try a sample query. Ctrl-C stops everything.");
    svc.run_until_signal();
  }
  svc.stop();
  (*mcp)->stop();
  idp_http.stop();
  idp_http.wait();
  return rc;
}

}  // namespace

void register_demo_command(CLI::App& app, Commands& out) {
  auto a = std::make_shared<DemoArgs>();
  auto* demo = app.add_subcommand(
      "demo",
      "run the whole product locally: identity provider, example MCP server over HTTPS, the "
      "secret, and the service with its web UI (until Ctrl-C)");
  demo->add_option("--dir", a->dir,
                   "folder for the demo's data (identity provider, CA, secret, store)")
      ->capture_default_str();
  demo->add_option("--listen", a->listen, "where the service listens (port 0: any free port)")
      ->capture_default_str();
  add_model_options(demo, a->model);
  demo->add_flag("--once", a->once,
                 "sign in through the API, ask one question, print the answer and exit");
  demo->add_option("--question", a->question,
                   "what --once asks (default: the agent's first sample query)");
  out.push_back({demo, [a] { return cmd_demo(*a); }});
}

}  // namespace idp::cli
