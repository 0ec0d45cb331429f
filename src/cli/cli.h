// Shared pieces of the idp-agents command line: running a coroutine to completion, the
// authentication options every command that talks to an MCP server or a user pool takes, and
// the error printer. Each command lives in its own cmd_*.cc and registers itself on the app.
#pragma once

#include <CLI/CLI.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "idp/auth/cognito.h"
#include "idp/auth/mcp_oauth.h"
#include "idp/core/error.h"
#include "idp/mcp/client.h"

namespace idp::cli {

// Exit codes shared by every command.
inline constexpr int kOk = 0;
inline constexpr int kFailed = 1;  // a peer could not be reached, refused or failed
inline constexpr int kUsage = 2;
inline constexpr int kToolError = 3;  // the tool answered isError: true

// Runs `body` on a fresh io_context and returns its exit code (1 on an escaped exception).
int run(std::function<boost::asio::awaitable<int>()> body);

// "error: <message>" on stderr.
void print_error(const Error& e);
void print_error(std::string_view message);

// Where a bearer token comes from: --token-env VAR, or a Cognito sign-in.
struct AuthOptions {
  std::string token_env;
  std::string user_pool_id;
  std::string client_id;
  std::string username;
  std::string password_env;  // default COGNITO_PASSWORD when a pool is given
  bool password_stdin = false;
  std::string client_secret_env;
  std::string endpoint;
  bool any_cognito() const { return !user_pool_id.empty() || !client_id.empty() || !username.empty(); }
};

// Adds --user-pool-id/--client-id/--username/--password-env/--password-stdin/
// --client-secret-env and the endpoint option (named `endpoint_flag`), and --token-env when
// `with_token_env`.
void add_auth_options(CLI::App* sub, AuthOptions& auth, const std::string& endpoint_flag,
                      bool with_token_env);

// Adds --model SPEC and, when `region` is given, --region (the language model's options, one
// wording for every command that has them).
void add_model_options(CLI::App* sub, std::string& model, std::string* region = nullptr);

// The Cognito configuration named by the options (reads the password from the environment or
// stdin); a usage error names the missing option.
Result<auth::CognitoConfig> cognito_config(const AuthOptions& auth);

// The token provider the options ask for (none when no auth option is given).
Result<std::shared_ptr<mcp::TokenProvider>> token_provider(const AuthOptions& auth,
                                                           boost::asio::any_io_executor executor);

// MCP authorization options of tools, call and auth login (src/cli/cmd_oauth.cc).
struct OAuthOptions {
  std::string client_id;
  std::string client_secret_env;
  std::string scope;
  int redirect_port = 8976;
  std::string token_file;  // --token-file: keep the tokens there (0600) between runs
  bool enabled = false;  // --oauth: MCP authorization with a registered (or metadata-URL) client
  bool any() const {
    return enabled || !client_id.empty() || !client_secret_env.empty() || !scope.empty() || !token_file.empty();
  }
};
// Adds --oauth-client-id, --oauth-client-secret-env, --scope, --redirect-port, --token-file and
// (not with `login`, which always signs in) --oauth.
void add_oauth_options(CLI::App* sub, OAuthOptions& oauth, bool login);
// The provider for the MCP server `url`: client credentials when a secret is given (and not
// `login`), else the authorization code grant through the loopback redirect. Not for `login`:
// it starts from the tokens of --token-file when the file exists (an error when the file is
// readable by others, or holds another server's tokens).
Result<std::shared_ptr<auth::McpOAuthProvider>> oauth_provider(const OAuthOptions& oauth,
                                                               const std::string& url,
                                                               const std::string& ca_file,
                                                               boost::asio::any_io_executor executor,
                                                               bool login);
// Writes the provider's tokens to --token-file (mode 0600) when it was given and there are any.
Result<void> keep_tokens(const OAuthOptions& oauth, const auth::McpOAuthProvider& provider);

// A subcommand and what runs when it was chosen (after logging is set up).
struct Command {
  CLI::App* sub;
  std::function<int()> run;
};
using Commands = std::vector<Command>;

// Each cmd_*.cc adds its subcommands; their options live as long as the app.
void register_mcp_commands(CLI::App& app, Commands& out);
void register_auth_commands(CLI::App& app, Commands& out);
void register_oauth_commands(CLI::App& app, Commands& out);
void register_agents_commands(CLI::App& app, Commands& out);
void register_demo_command(CLI::App& app, Commands& out);
void register_models_command(CLI::App& app, Commands& out);
void register_serve_command(CLI::App& app, Commands& out);
void register_ask_command(CLI::App& app, Commands& out);

}  // namespace idp::cli
