// `idp-agents token` (the seed's "Test Cognito Authentication" step) and `idp-agents
// local-cognito` (the local Cognito-compatible identity provider for tests and the demo).
#include <boost/asio/this_coro.hpp>
#include <boost/json/serialize.hpp>

#include <cstdio>
#include <ctime>
#include <iostream>
#include <string>

#include "cli.h"
#include "idp/auth/cognito.h"
#include "idp/auth/jwt.h"
#include "idp/auth/local_cognito.h"
#include "idp/core/clock.h"
#include "idp/core/json_util.h"
#include "idp/core/random.h"
#include "idp/http/server.h"

namespace bj = boost::json;
using boost::asio::awaitable;

namespace idp::cli {
namespace {

void describe(std::string_view what, const auth::CognitoTokens& t) {
  // The access token's claims (not the token): what an MCP server will check.
  auto claims = auth::unverified_claims(t.access_token.reveal());
  auto left = std::chrono::duration_cast<std::chrono::seconds>(t.expires - std::chrono::system_clock::now());
  std::string scopes = "(none)";
  if (auto* s = ::idp::json::find_string(claims, "scope")) scopes = std::string(*s);
  std::cout << what << " (sub " << t.subject << "); scopes: " << scopes << "; access token valid for "
            << left.count() << " s (until " << format_utc(t.expires) << ")"
            << (t.refresh_token ? "; refresh token received" : "") << "\n";
  std::cout << "claims: " << bj::serialize(claims) << "\n";
}

struct TokenArgs {
  AuthOptions auth;
  bool print_access_token = false;
  bool refresh = false;
};

int cmd_token(const TokenArgs& args) {
  auto cog = cognito_config(args.auth);
  if (!cog) {
    print_error(cog.error());
    return kUsage;
  }
  return run([&]() -> awaitable<int> {
    auto ex = co_await boost::asio::this_coro::executor;
    auth::CognitoClient client(ex);
    auto t = co_await client.sign_in(*cog);
    if (!t) {
      print_error(t.error());
      co_return kFailed;
    }
    if (args.refresh) {
      if (!t->refresh_token) {
        print_error("Cognito sent no refresh token: enable ALLOW_REFRESH_TOKEN_AUTH on the app client");
        co_return kFailed;
      }
      const Secret refresh_token = *t->refresh_token;
      const std::string subject = t->subject;
      auto r = co_await client.refresh(*cog, refresh_token, subject);
      if (!r) {
        print_error(r.error());
        co_return kFailed;
      }
      if (!r->refresh_token) r->refresh_token = refresh_token;
      t = std::move(r);
    }
    if (args.print_access_token) {
      std::cout << t->access_token.reveal() << "\n";
      co_return kOk;
    }
    std::string what = (args.refresh ? "signed in and refreshed as " : "signed in as ") + cog->username;
    describe(what, *t);
    co_return kOk;
  });
}

struct LocalCognitoArgs {
  std::uint16_t port = 9229;
  std::string data = ".local-cognito";
  std::string region = "us-east-1";
  int access_token_seconds = 3600;
};

int cmd_local_cognito(const LocalCognitoArgs& args) {
  auto idp = auth::LocalCognito::open(args.data, args.region);
  if (!idp) {
    print_error(idp.error());
    return kFailed;
  }
  (*idp)->set_token_lifetime(std::chrono::seconds(args.access_token_seconds));
  http::ServerOptions ho;
  ho.port = args.port;
  http::Server server(ho);
  (*idp)->attach(server);
  auto port = server.start();
  if (!port) {
    print_error(port.error());
    return kFailed;
  }
  std::printf("local Cognito listening on http://127.0.0.1:%u (data in %s); Ctrl-C stops it\n",
              static_cast<unsigned>(*port), args.data.c_str());
  std::fflush(stdout);
  server.run_until_signal();
  return kOk;
}

}  // namespace

void register_auth_commands(CLI::App& app, Commands& out) {
  auto targs = std::make_shared<TokenArgs>();
  auto* token = app.add_subcommand(
      "token", "sign in to a Cognito user pool as the agent does (USER_PASSWORD_AUTH) and show who, scopes and expiry");
  add_auth_options(token, targs->auth, "--endpoint", /*with_token_env=*/false);
  token->add_flag("--print-access-token", targs->print_access_token,
                  "print only the access token (for scripts: T=$(idp-agents token ... --print-access-token))");
  token->add_flag("--refresh", targs->refresh,
                  "after signing in, refresh once with REFRESH_TOKEN_AUTH and show the refreshed token");
  out.push_back({token, [targs] { return cmd_token(*targs); }});

  auto largs = std::make_shared<LocalCognitoArgs>();
  auto* cognito = app.add_subcommand(
      "local-cognito", "run a local Cognito-compatible identity provider on 127.0.0.1 (for tests and the demo)");
  cognito->add_option("--port", largs->port, "TCP port (0: any free port)")->capture_default_str();
  cognito->add_option("--data", largs->data, "folder for pools, clients, users and keys")->capture_default_str();
  cognito->add_option("--region", largs->region, "region prefix of new pool ids")->capture_default_str();
  cognito->add_option("--access-token-seconds", largs->access_token_seconds,
                      "lifetime of access and ID tokens (tests use a few seconds to exercise refresh)")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  out.push_back({cognito, [largs] { return cmd_local_cognito(*largs); }});
}

}  // namespace idp::cli
