#include "cli.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace idp::cli {

int run(std::function<boost::asio::awaitable<int>()> body) {
  boost::asio::io_context ioc;
  int rc = kFailed;
  boost::asio::co_spawn(ioc, body(), [&](std::exception_ptr e, int r) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        std::fprintf(stderr, "error: %s\n", ex.what());
      }
      rc = kFailed;
    } else {
      rc = r;
    }
  });
  ioc.run();
  return rc;
}

void print_error(const Error& e) { print_error(e.message()); }
void print_error(std::string_view message) {
  std::fprintf(stderr, "error: %.*s\n", static_cast<int>(message.size()), message.data());
}

void add_model_options(CLI::App* sub, std::string& model, std::string* region) {
  sub->add_option("--model", model,
                  "the language model: bedrock:MODEL_ID, openai:MODEL or offline (default: "
                  "$IDP_MODEL, else offline)");
  if (region) {
    sub->add_option("--region", *region,
                    "AWS region for bedrock (default: AWS_REGION, AWS_DEFAULT_REGION, the "
                    "profile's region)");
  }
}

void add_auth_options(CLI::App* sub, AuthOptions& auth, const std::string& endpoint_flag,
                      bool with_token_env) {
  const char* group = "Cognito sign-in (the agent's USER_PASSWORD_AUTH)";
  sub->add_option("--user-pool-id,--pool-id", auth.user_pool_id, "user pool id, e.g. us-east-1_AbC123")
      ->group(group);
  sub->add_option("--client-id", auth.client_id, "app client id")->group(group);
  sub->add_option("--username", auth.username, "user name")->group(group);
  sub->add_option("--password-env", auth.password_env,
                  "environment variable holding the password (default COGNITO_PASSWORD)")
      ->group(group);
  sub->add_flag("--password-stdin", auth.password_stdin, "read the password from the first line of stdin")
      ->group(group);
  sub->add_option("--client-secret-env", auth.client_secret_env,
                  "environment variable holding the app client secret (SECRET_HASH is then sent)")
      ->group(group);
  sub->add_option(endpoint_flag, auth.endpoint,
                  "Cognito endpoint (default: AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER, else the pool's region)")
      ->group(group);
  if (with_token_env) {
    sub->add_option("--token-env", auth.token_env,
                    "environment variable holding a bearer token to send instead of signing in");
  }
}

namespace {

Result<Secret> read_password(const AuthOptions& auth) {
  if (auth.password_stdin) {
    if (!auth.password_env.empty()) {
      return make_error(ErrorCode::kInvalidArgument, "--password-stdin and --password-env exclude each other");
    }
    std::string line;
    if (!std::getline(std::cin, line) || line.empty()) {
      return make_error(ErrorCode::kInvalidArgument, "--password-stdin: no password on standard input");
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return Secret(std::move(line));
  }
  std::string var = auth.password_env.empty() ? "COGNITO_PASSWORD" : auth.password_env;
  const char* pw = std::getenv(var.c_str());
  if (!pw || !*pw) {
    return make_error(ErrorCode::kInvalidArgument,
                      "set the password in $" + var +
                          " or pass --password-stdin (it is never taken on the command line)");
  }
  return Secret(pw);
}

}  // namespace

Result<auth::CognitoConfig> cognito_config(const AuthOptions& auth) {
  auth::CognitoConfig cog;
  const std::pair<const char*, const std::string*> required[] = {
      {"--user-pool-id", &auth.user_pool_id}, {"--client-id", &auth.client_id}, {"--username", &auth.username}};
  for (const auto& [flag, value] : required) {
    if (value->empty()) {
      return make_error(ErrorCode::kInvalidArgument,
                        std::string(flag) + " is required to sign in to Cognito");
    }
  }
  cog.user_pool_id = auth.user_pool_id;
  cog.client_id = auth.client_id;
  cog.username = auth.username;
  cog.endpoint = auth.endpoint;
  auto pw = read_password(auth);
  if (!pw) return std::unexpected(pw.error());
  cog.password = std::move(*pw);
  if (!auth.client_secret_env.empty()) {
    const char* sec = std::getenv(auth.client_secret_env.c_str());
    if (!sec || !*sec) {
      return make_error(ErrorCode::kInvalidArgument, "$" + auth.client_secret_env + " is empty");
    }
    cog.client_secret = Secret(sec);
  }
  return cog;
}

Result<std::shared_ptr<mcp::TokenProvider>> token_provider(const AuthOptions& auth,
                                                           boost::asio::any_io_executor executor) {
  if (!auth.token_env.empty()) {
    if (auth.any_cognito()) {
      return make_error(ErrorCode::kInvalidArgument, "--token-env and the Cognito options exclude each other");
    }
    const char* t = std::getenv(auth.token_env.c_str());
    if (!t || !*t) return make_error(ErrorCode::kInvalidArgument, "$" + auth.token_env + " is empty");
    return std::make_shared<mcp::StaticTokenProvider>(Secret(t));
  }
  if (!auth.any_cognito()) return std::shared_ptr<mcp::TokenProvider>();
  auto cog = cognito_config(auth);
  if (!cog) return std::unexpected(cog.error());
  return std::make_shared<auth::CognitoTokenProvider>(executor, std::move(*cog));
}

}  // namespace idp::cli
