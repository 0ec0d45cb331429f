// idp-agents: the command-line front end. Today: `tools` and `call` against one MCP server (the
// seed's troubleshooting steps "list the tools" and "call one tool" as commands). Exit codes:
// 0 success, 1 the server could not be reached or failed, 2 usage, 3 the tool returned isError.
#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>

#include <cstdio>
#include <iostream>
#include <set>
#include <string>

#include "idp/auth/cognito.h"
#include "idp/auth/local_cognito.h"
#include "idp/core/random.h"
#include "idp/core/json_util.h"
#include "idp/http/server.h"
#include "idp/core/log.h"
#include "idp/mcp/client.h"

namespace bj = boost::json;
using boost::asio::awaitable;
using namespace idp;

namespace {

struct Common {
  std::string url;
  std::vector<std::string> headers;
  bool json_output = false;
  double timeout_s = 60;
  std::string ca_file;
  std::string log_level = "warn";
  std::string transport = "http";
};

Result<mcp::ClientOptions> client_options(const Common& c) {
  mcp::ClientOptions opt;
  for (const auto& h : c.headers) {
    auto colon = h.find(':');
    if (colon == std::string::npos || colon == 0) {
      return make_error(ErrorCode::kInvalidArgument, "--header '" + h + "': expected Name: value");
    }
    std::string value = h.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    opt.headers.add(h.substr(0, colon), value);
  }
  opt.timeout = std::chrono::milliseconds(static_cast<long>(c.timeout_s * 1000));
  opt.http.ca_file = c.ca_file;
  opt.listen = false;  // one-shot commands need no server-initiated stream
  if (c.transport == "sse") opt.transport = mcp::ClientOptions::Transport::kLegacySse;
  return opt;
}

// Runs `body` on an io_context and returns its exit code.
int run(std::function<awaitable<int>()> body) {
  boost::asio::io_context ioc;
  int rc = 1;
  boost::asio::co_spawn(ioc, body(), [&](std::exception_ptr e, int r) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        std::fprintf(stderr, "error: %s\n", ex.what());
      }
      rc = 1;
    } else {
      rc = r;
    }
  });
  ioc.run();
  return rc;
}

std::string describe_fields(const bj::object& schema) {
  const bj::object* props = ::idp::json::find_object(schema, "properties");
  if (!props || props->empty()) return "(no arguments)";
  std::set<std::string> required;
  if (auto* r = ::idp::json::find_array(schema, "required")) {
    for (const auto& v : *r) {
      if (v.is_string()) required.insert(std::string(v.get_string()));
    }
  }
  std::string out;
  for (const auto& [name, prop] : *props) {
    if (!out.empty()) out += ", ";
    out += std::string(name);
    std::string type = "any";
    if (auto* p = prop.if_object()) {
      if (auto* t = ::idp::json::find_string(*p, "type")) type = std::string(*t);
    }
    out += ": " + type;
    if (!required.contains(std::string(name))) out += "?";
  }
  return out;
}

// Connects to c.url, runs `body` with the session, closes it; the exit code of `body`, or 1
// with the error printed when the connection fails.
int with_session(const Common& c, const mcp::ClientOptions& opt,
                 std::function<awaitable<int>(mcp::Client&)> body) {
  return run([&]() -> awaitable<int> {
    auto ex = co_await boost::asio::this_coro::executor;
    mcp::Client client(ex, c.url, opt);
    auto connected = co_await client.connect();
    if (!connected) {
      std::fprintf(stderr, "error: %s\n", connected.error().message().c_str());
      co_return 1;
    }
    int rc = co_await body(client);
    co_await client.close();
    co_return rc;
  });
}

int cmd_tools(const Common& c) {
  auto opt = client_options(c);
  if (!opt) {
    std::fprintf(stderr, "error: %s\n", opt.error().message().c_str());
    return 2;
  }
  return with_session(c, *opt, [&](mcp::Client& client) -> awaitable<int> {
    auto tools = co_await client.list_tools();
    if (!tools) {
      std::fprintf(stderr, "error: %s\n", tools.error().message().c_str());
      co_return 1;
    }
    if (c.json_output) {
      bj::object out{{"tools", bj::value_from(*tools)}};
      std::cout << bj::serialize(out) << "\n";
      co_return 0;
    }
    std::cout << client.server_info().name << " " << client.server_info().version << " (MCP "
              << client.protocol_version() << "), " << tools->size() << " tools\n";
    for (const auto& t : *tools) {
      std::cout << "\n" << t.name;
      if (t.title) std::cout << " - " << *t.title;
      std::cout << "\n";
      if (t.description) std::cout << "  " << *t.description << "\n";
      std::cout << "  input: " << describe_fields(t.input_schema) << "\n";
    }
    co_return 0;
  });
}

int cmd_call(const Common& c, const std::string& tool, const std::vector<std::string>& kv,
             const std::string& args_json) {
  auto opt = client_options(c);
  if (!opt) {
    std::fprintf(stderr, "error: %s\n", opt.error().message().c_str());
    return 2;
  }
  bj::object args;
  if (!args_json.empty()) {
    auto parsed = ::idp::json::parse(args_json);
    if (!parsed || !parsed->is_object()) {
      std::fprintf(stderr, "error: --args-json must be a JSON object%s%s\n", parsed ? "" : ": ",
                   parsed ? "" : parsed.error().message().c_str());
      return 2;
    }
    args = parsed->get_object();
  }
  for (const auto& item : kv) {
    auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::fprintf(stderr, "error: --arg '%s': expected name=value\n", item.c_str());
      return 2;
    }
    std::string value = item.substr(eq + 1);
    // As the Inspector CLI does: a value that parses as JSON is JSON (2 is a number).
    auto parsed = ::idp::json::parse(value);
    args[item.substr(0, eq)] = parsed ? *parsed : bj::value(value);
  }
  return with_session(c, *opt, [&](mcp::Client& client) -> awaitable<int> {
    auto r = co_await client.call_tool(tool, std::move(args));
    if (!r) {
      std::fprintf(stderr, "error: %s\n", r.error().message().c_str());
      co_return 1;
    }
    if (c.json_output) {
      std::cout << bj::serialize(bj::value_from(*r)) << "\n";
    } else {
      for (const auto& item : r->content) {
        const bj::object* o = item.if_object();
        const bj::string* type = o ? ::idp::json::find_string(*o, "type") : nullptr;
        if (type && *type == "text") {
          std::cout << o->at("text").as_string().c_str() << "\n";
        } else {
          std::cout << bj::serialize(item) << "\n";
        }
      }
      if (r->structured_content) {
        std::cout << "structuredContent: " << bj::serialize(*r->structured_content) << "\n";
      }
    }
    co_return r->is_error ? 3 : 0;
  });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"idp-agents: External MCP Agents for the GenAI IDP accelerator"};
  app.require_subcommand(1);
  Common common;
  auto add_common = [&](CLI::App* sub) {
    sub->add_option("url", common.url, "MCP server URL (https://, or http:// on loopback)")->required();
    sub->add_option("--header", common.headers, "extra HTTP header 'Name: value' (repeatable)");
    sub->add_flag("--json", common.json_output, "print JSON as the MCP Inspector CLI does");
    sub->add_option("--timeout", common.timeout_s, "seconds to wait for each answer")->capture_default_str();
    sub->add_option("--ca-file", common.ca_file, "PEM file of CAs to trust instead of the system's");
    sub->add_option("--log-level", common.log_level, "trace|debug|info|warn|error")->capture_default_str();
    sub->add_option("--transport", common.transport,
                    "http (Streamable HTTP) or sse (the 2024-11-05 HTTP+SSE transport)")
        ->check(CLI::IsMember({"http", "sse"}))
        ->capture_default_str();
  };
  auto* tools = app.add_subcommand("tools", "list the tools of an MCP server");
  add_common(tools);
  auto* call = app.add_subcommand("call", "call one tool of an MCP server and print its result");
  add_common(call);
  std::string tool;
  std::vector<std::string> kv;
  std::string args_json;
  call->add_option("tool", tool, "tool name")->required();
  call->add_option("--arg", kv, "argument name=value (JSON values are parsed: n=2 is a number)");
  call->add_option("--args-json", args_json, "all arguments as one JSON object");
  auto* cognito = app.add_subcommand(
      "local-cognito", "run a local Cognito-compatible identity provider on 127.0.0.1 (for tests and the demo)");
  std::uint16_t cognito_port = 9229;
  std::string cognito_data = ".local-cognito";
  std::string cognito_region = "us-east-1";
  cognito->add_option("--port", cognito_port, "TCP port")->capture_default_str();
  cognito->add_option("--data", cognito_data, "folder for pools, clients, users and keys")->capture_default_str();
  cognito->add_option("--region", cognito_region, "region prefix of new pool ids")->capture_default_str();
  cognito->add_option("--log-level", common.log_level, "trace|debug|info|warn|error")->capture_default_str();
  auto* token = app.add_subcommand(
      "token", "sign in to a Cognito user pool as the agent does (USER_PASSWORD_AUTH) and show the token's claims");
  auth::CognitoConfig cog;
  std::string password_env = "COGNITO_PASSWORD";
  std::string secret_env;
  bool print_token = false;
  token->add_option("--pool-id", cog.user_pool_id, "user pool id, e.g. us-east-1_AbC123")->required();
  token->add_option("--client-id", cog.client_id, "app client id")->required();
  token->add_option("--username", cog.username, "user name")->required();
  token->add_option("--password-env", password_env, "environment variable holding the password")
      ->capture_default_str();
  token->add_option("--client-secret-env", secret_env, "environment variable holding the app client secret");
  token->add_option("--endpoint", cog.endpoint, "Cognito endpoint (default: from the pool's region)");
  token->add_flag("--print-token", print_token, "also print the access token itself");
  CLI11_PARSE(app, argc, argv);

  log::Level level;
  if (!log::parse_level(common.log_level, &level)) {
    std::fprintf(stderr, "error: --log-level: unknown level '%s'\n", common.log_level.c_str());
    return 2;
  }
  log::init(level);
  if (*tools) return cmd_tools(common);
  if (*call) return cmd_call(common, tool, kv, args_json);
  if (*token) {
    const char* pw = std::getenv(password_env.c_str());
    if (!pw || !*pw) {
      std::fprintf(stderr, "error: set the password in $%s (it is never taken on the command line)\n",
                   password_env.c_str());
      return 2;
    }
    cog.password = Secret(pw);
    if (!secret_env.empty()) {
      const char* sec = std::getenv(secret_env.c_str());
      if (!sec || !*sec) {
        std::fprintf(stderr, "error: $%s is empty\n", secret_env.c_str());
        return 2;
      }
      cog.client_secret = Secret(sec);
    }
    return run([&]() -> awaitable<int> {
      auto ex = co_await boost::asio::this_coro::executor;
      auth::CognitoClient client(ex);
      auto t = co_await client.sign_in(cog);
      if (!t) {
        std::fprintf(stderr, "error: %s\n", t.error().message().c_str());
        co_return 1;
      }
      // The claims (not the token): what an MCP server will check.
      std::string_view jwt = t->access_token.reveal();
      auto a = jwt.find('.');
      auto b = jwt.find('.', a + 1);
      auto payload = base64_decode(jwt.substr(a + 1, b - a - 1));
      auto claims = payload ? ::idp::json::parse(*payload) : Result<bj::value>(bj::value());
      auto left = std::chrono::duration_cast<std::chrono::seconds>(t->expires - std::chrono::system_clock::now());
      std::cout << "signed in as " << cog.username << " (sub " << t->subject << "), token valid for "
                << left.count() << " s\n";
      if (claims) std::cout << "claims: " << bj::serialize(*claims) << "\n";
      if (print_token) std::cout << t->access_token.reveal() << "\n";
      co_return 0;
    });
  }
  if (*cognito) {
    auto idp = auth::LocalCognito::open(cognito_data, cognito_region);
    if (!idp) {
      std::fprintf(stderr, "error: %s\n", idp.error().message().c_str());
      return 1;
    }
    http::ServerOptions ho;
    ho.port = cognito_port;
    http::Server server(ho);
    (*idp)->attach(server);
    auto port = server.start();
    if (!port) {
      std::fprintf(stderr, "error: %s\n", port.error().message().c_str());
      return 1;
    }
    std::printf("local Cognito listening on http://127.0.0.1:%u (data in %s); Ctrl-C stops it\n",
                static_cast<unsigned>(*port), cognito_data.c_str());
    std::fflush(stdout);
    server.run_until_signal();
    return 0;
  }
  return 2;
}
