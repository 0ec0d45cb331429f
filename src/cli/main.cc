// idp-agents: the command-line front end. Each command lives in its own cmd_*.cc and registers
// itself through one entry of kRegistrations below:
//   tools, call            one MCP server (cmd_mcp.cc)
//   token, local-cognito   Cognito sign-in and the local identity provider (cmd_auth.cc)
//   secret check, agents list, doctor   the secret and its agents (cmd_agents.cc)
//   demo                   the whole flow on this machine (cmd_demo.cc)
//   models check           the configured language model answers (cmd_models.cc)
//   ask                    a question answered with the agents' tools (cmd_ask.cc)
//   serve                  the service: API, web UI, agent loop (cmd_serve.cc)
// Exit codes: 0 success, 1 a peer could not be reached or failed, 2 usage, 3 a tool's isError.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli.h"
#include "idp/core/core_dumps.h"
#include "idp/core/log.h"
#include "idp/core/text.h"

#ifndef IDP_AGENTS_VERSION
#error "IDP_AGENTS_VERSION comes from the CMake project version"
#endif

namespace {

using Registration = void (*)(CLI::App&, idp::cli::Commands&);

// Adding a command: write its cmd_*.cc with a register function (declared in cli.h) and list it
// here.
constexpr Registration kRegistrations[] = {
    idp::cli::register_mcp_commands,
    idp::cli::register_auth_commands,
    idp::cli::register_oauth_commands,
    idp::cli::register_agents_commands,
    idp::cli::register_demo_command,
    idp::cli::register_models_command,
    idp::cli::register_ask_command,
    idp::cli::register_serve_command,
};

constexpr const char* kFooter =
    "Exit codes: 0 ok; 1 failed (a server or identity provider could not be reached, refused or "
    "failed); 2 usage (unknown command or option, missing argument); 3 the tool answered with "
    "isError.\n"
    "`idp-agents COMMAND --help` describes a command.";

// The word naming the command: the first argument that is not an option of the app itself.
std::optional<std::string_view> command_word(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--")
      return i + 1 < argc ? std::optional<std::string_view>(argv[i + 1]) : std::nullopt;
    if (arg == "--log-level") {
      ++i;  // its value
      continue;
    }
    if (arg.starts_with("-")) continue;
    return arg;
  }
  return std::nullopt;
}

// "error: unknown command 'tool'; did you mean 'tools'? (...)" when `word` names no command.
bool unknown_command(CLI::App& app, std::string_view word) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    if (sub->check_name(std::string(word))) return false;
    names.push_back(sub->get_name());
  }
  std::vector<std::string_view> candidates(names.begin(), names.end());
  std::string hint;
  if (auto near = idp::closest_match(word, candidates)) hint = "; did you mean '" + *near + "'?";
  std::fprintf(stderr, "error: unknown command '%.*s'%s (idp-agents --help lists the commands)\n",
               static_cast<int>(word.size()), word.data(), hint.c_str());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace idp;
  CLI::App app{"idp-agents: External MCP Agents for the GenAI IDP accelerator"};
  app.require_subcommand(1);
  app.fallthrough();  // --log-level may come after the subcommand
  app.set_version_flag("--version", std::string("idp-agents ") + IDP_AGENTS_VERSION,
                       "print the version (idp-agents " IDP_AGENTS_VERSION ") and exit");
  app.footer(kFooter);
  std::string log_level = "warn";
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error (logs go to stderr)")
      ->capture_default_str();
  cli::Commands commands;
  for (Registration add : kRegistrations) add(app, commands);

  if (auto word = command_word(argc, argv); word && unknown_command(app, *word)) {
    return cli::kUsage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version end here too, with exit code 0; every other parse error is a usage
    // error, whatever number CLI11 gives it.
    const int rc = app.exit(e);
    return rc == 0 ? cli::kOk : cli::kUsage;
  }

  log::Level level;
  if (!log::parse_level(log_level, &level)) {
    std::fprintf(stderr, "error: --log-level: unknown level '%s'\n", log_level.c_str());
    return cli::kUsage;
  }
  log::init(level);
  // Every command may hold a password, client secret or token: none is written to a core file.
  disable_core_dumps_or_warn();
  for (const auto& c : commands) {
    if (c.sub->parsed()) return c.run();
  }
  return cli::kUsage;
}
