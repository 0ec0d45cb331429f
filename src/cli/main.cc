// idp-agents: the command-line front end. Each command lives in its own cmd_*.cc:
//   tools, call            one MCP server (cmd_mcp.cc)
//   token, local-cognito   Cognito sign-in and the local identity provider (cmd_auth.cc)
//   secret check, agents list, doctor   the secret and its agents (cmd_agents.cc)
//   demo                   the whole flow on this machine (cmd_demo.cc)
//   models check           the configured language model answers (cmd_models.cc)
//   serve                  the service: API, web UI, agent loop (cmd_serve.cc)
// Exit codes: 0 success, 1 a peer could not be reached or failed, 2 usage, 3 a tool's isError.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>

#include "cli.h"
#include "idp/core/log.h"

int main(int argc, char** argv) {
  using namespace idp;
  CLI::App app{"idp-agents: External MCP Agents for the GenAI IDP accelerator"};
  app.require_subcommand(1);
  app.fallthrough();  // --log-level may come after the subcommand
  std::string log_level = "warn";
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error (logs go to stderr)")
      ->capture_default_str();
  cli::Commands commands;
  cli::register_mcp_commands(app, commands);
  cli::register_auth_commands(app, commands);
  cli::register_agents_commands(app, commands);
  cli::register_demo_command(app, commands);
  cli::register_models_command(app, commands);
  cli::register_serve_command(app, commands);
  CLI11_PARSE(app, argc, argv);

  log::Level level;
  if (!log::parse_level(log_level, &level)) {
    std::fprintf(stderr, "error: --log-level: unknown level '%s'\n", log_level.c_str());
    return cli::kUsage;
  }
  log::init(level);
  for (const auto& c : commands) {
    if (c.sub->parsed()) return c.run();
  }
  return cli::kUsage;
}
