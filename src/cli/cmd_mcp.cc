// `idp-agents tools` and `idp-agents call`: the seed's troubleshooting steps "list the tools"
// and "call one tool" against one MCP server, with a bearer token from --token-env, a Cognito
// sign-in, or MCP authorization (--oauth-client-id ...: src/cli/cmd_oauth.cc). Both MCP protocol eras: --protocol-era auto (default: 2026-07-28 when the server
// answers server/discover, else the initialize handshake), modern or legacy; `tools` names the
// negotiated version and era in its human output (--json stays the Inspector's {"tools":[...]}).
// `call` runs a tool as an MCP task when the tool requires one (--task: also when it allows one),
// printing the task's status changes to stderr; --task-timeout bounds the whole task.
// Exit codes: 0 success, 1 the server could not be reached or failed, 2 usage, 3 the tool
// returned isError.
#include <boost/asio/this_coro.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <set>
#include <string>

#include "cli.h"
#include "idp/core/json_util.h"
#include "idp/mcp/client.h"

namespace bj = boost::json;
using boost::asio::awaitable;

namespace idp::cli {
namespace {

struct Common {
  std::string url;
  std::vector<std::string> headers;
  bool json_output = false;
  double timeout_s = 60;
  std::string ca_file;
  std::string transport = "http";
  std::string protocol_era = "auto";
  AuthOptions auth;
  OAuthOptions oauth;
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
  if (!(c.timeout_s > 0)) return make_error(ErrorCode::kInvalidArgument, "--timeout must be more than 0 seconds");
  opt.timeout = std::chrono::milliseconds(static_cast<long>(c.timeout_s * 1000));
  opt.http.ca_file = c.ca_file;
  opt.listen = false;  // one-shot commands need no server-initiated stream
  if (c.transport == "sse") opt.transport = mcp::ClientOptions::Transport::kLegacySse;
  if (c.protocol_era == "modern") opt.protocol_era = mcp::ProtocolEra::kModern;
  if (c.protocol_era == "legacy") opt.protocol_era = mcp::ProtocolEra::kLegacy;
  if (c.transport == "sse" && c.protocol_era == "modern") {
    return make_error(ErrorCode::kInvalidArgument,
                      "--protocol-era modern needs --transport http (the sse transport is 2024-11-05)");
  }
  return opt;
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
int with_session(const Common& c, mcp::ClientOptions opt,
                 std::function<awaitable<int>(mcp::Client&)> body) {
  return run([&]() -> awaitable<int> {
    auto ex = co_await boost::asio::this_coro::executor;
    // The token provider holds connections on this io_context: it lives in this frame, and so
    // goes before the io_context does (not in the caller's `opt`, which outlives it).
    mcp::ClientOptions options = opt;
    std::shared_ptr<auth::McpOAuthProvider> oauth_used;
    if (c.oauth.any()) {
      if (!c.auth.token_env.empty() || c.auth.any_cognito()) {
        print_error("the --oauth-* options exclude --token-env and the Cognito options");
        co_return kUsage;
      }
      auto oauth = oauth_provider(c.oauth, c.url, c.ca_file, ex, /*login=*/false);
      if (!oauth) {
        print_error(oauth.error());
        co_return kUsage;
      }
      options.token_provider = *oauth;
      oauth_used = *oauth;
    } else {
      auto provider = token_provider(c.auth, ex);
      if (!provider) {
        print_error(provider.error());
        co_return kUsage;
      }
      options.token_provider = *provider;
    }
    mcp::Client client(ex, c.url, options);
    auto connected = co_await client.connect();
    if (!connected) {
      print_error(connected.error());
      co_return kFailed;
    }
    int rc = co_await body(client);
    co_await client.close();
    if (oauth_used) {
      if (auto kept = keep_tokens(c.oauth, *oauth_used); !kept) {
        print_error(kept.error());
        if (rc == kOk) rc = kFailed;
      }
    }
    co_return rc;
  });
}

int cmd_tools(const Common& c) {
  auto opt = client_options(c);
  if (!opt) {
    print_error(opt.error());
    return kUsage;
  }
  return with_session(c, *opt, [&](mcp::Client& client) -> awaitable<int> {
    auto tools = co_await client.list_tools();
    if (!tools) {
      print_error(tools.error());
      co_return kFailed;
    }
    if (c.json_output) {
      bj::object out{{"tools", bj::value_from(*tools)}};
      std::cout << bj::serialize(out) << "\n";
      co_return 0;
    }
    std::cout << client.server_info().name << " " << client.server_info().version << " (MCP "
              << client.protocol_version() << ", " << mcp::to_string(client.era()) << " era), "
              << tools->size() << " tools\n";
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

struct TaskFlags {
  bool prefer = false;        // --task: also a tool that only allows tasks
  double timeout_s = 0;       // --task-timeout: the whole task (0: the client's maximum)
};

int cmd_call(const Common& c, const std::string& tool, const std::vector<std::string>& kv,
             const std::string& args_json, const TaskFlags& task) {
  auto opt = client_options(c);
  if (!opt) {
    print_error(opt.error());
    return kUsage;
  }
  bj::object args;
  if (!args_json.empty()) {
    auto parsed = ::idp::json::parse(args_json);
    if (!parsed || !parsed->is_object()) {
      std::fprintf(stderr, "error: --args-json must be a JSON object%s%s\n", parsed ? "" : ": ",
                   parsed ? "" : parsed.error().message().c_str());
      return kUsage;
    }
    args = parsed->get_object();
  }
  for (const auto& item : kv) {
    auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::fprintf(stderr, "error: --arg '%s': expected name=value\n", item.c_str());
      return kUsage;
    }
    std::string value = item.substr(eq + 1);
    // As the Inspector CLI does: a value that parses as JSON is JSON (2 is a number).
    auto parsed = ::idp::json::parse(value);
    args[item.substr(0, eq)] = parsed ? *parsed : bj::value(value);
  }
  if (task.timeout_s < 0) {
    std::fprintf(stderr, "error: --task-timeout must be 0 or more seconds\n");
    return kUsage;
  }
  mcp::CallOptions call_options;
  if (task.prefer) call_options.task = mcp::TaskMode::kPrefer;
  if (task.timeout_s > 0) {
    call_options.task_timeout =
        std::chrono::milliseconds(static_cast<long long>(task.timeout_s * 1000));
  }
  // A tool that runs as a task: each change of its status on stderr.
  call_options.on_task_status = [](const mcp::TaskInfo& s) {
    std::string line = ".. task " + s.task_id + " " + s.status +
                       (s.status_message.empty() ? "" : ": " + s.status_message) + "\n";
    std::fputs(line.c_str(), stderr);
  };
  return with_session(c, *opt, [&](mcp::Client& client) -> awaitable<int> {
    auto r = co_await client.call_tool(tool, std::move(args), std::move(call_options));
    if (!r) {
      print_error(r.error());
      co_return kFailed;
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
    co_return r->is_error ? kToolError : kOk;
  });
}


void add_common(CLI::App* sub, Common& common) {
  sub->add_option("url", common.url, "MCP server URL (https://, or http:// on loopback)")->required();
  sub->add_option("--header", common.headers, "extra HTTP header 'Name: value' (repeatable)");
  sub->add_flag("--json", common.json_output, "print JSON as the MCP Inspector CLI does");
  sub->add_option("--timeout", common.timeout_s, "seconds to wait for each answer")->capture_default_str();
  sub->add_option("--ca-file", common.ca_file, "PEM file of CAs to trust instead of the system's");
  sub->add_option("--transport", common.transport,
                  "http (Streamable HTTP) or sse (the 2024-11-05 HTTP+SSE transport)")
      ->check(CLI::IsMember({"http", "sse"}))
      ->capture_default_str();
  sub->add_option("--protocol-era", common.protocol_era,
                  "auto (2026-07-28 via server/discover, else initialize), modern (2026-07-28 only) "
                  "or legacy (initialize: 2025-11-25 and older)")
      ->check(CLI::IsMember({"auto", "modern", "legacy"}))
      ->capture_default_str();
  add_auth_options(sub, common.auth, "--cognito-endpoint", /*with_token_env=*/true);
  add_oauth_options(sub, common.oauth, /*login=*/false);
}

}  // namespace

void register_mcp_commands(CLI::App& app, Commands& out) {
  auto common = std::make_shared<Common>();
  auto* tools = app.add_subcommand("tools", "list the tools of an MCP server");
  add_common(tools, *common);
  out.push_back({tools, [common] { return cmd_tools(*common); }});

  auto common_call = std::make_shared<Common>();
  struct CallArgs {
    std::string tool;
    std::vector<std::string> kv;
    std::string args_json;
    TaskFlags task;
  };
  auto args = std::make_shared<CallArgs>();
  auto* call = app.add_subcommand("call", "call one tool of an MCP server and print its result");
  add_common(call, *common_call);
  call->add_option("tool", args->tool, "tool name")->required();
  call->add_option("--arg", args->kv, "argument name=value (JSON values are parsed: n=2 is a number)");
  call->add_option("--args-json", args->args_json, "all arguments as one JSON object");
  call->add_flag("--task", args->task.prefer,
                 "run the tool as an MCP task when it allows one (taskSupport optional); a tool "
                 "that requires one always runs as a task");
  call->add_option("--task-timeout", args->task.timeout_s,
                   "seconds the whole task may take; past it the task is cancelled on the server "
                   "(default: 600)");
  out.push_back({call, [common_call, args] {
                   return cmd_call(*common_call, args->tool, args->kv, args->args_json, args->task);
                 }});
}

}  // namespace idp::cli
