// MCP authorization on the command line: the --oauth-* options of `tools` and `call` (an
// idp::auth::McpOAuthProvider for the server: client credentials with a client secret, else
// the authorization code grant through a loopback redirect), and `idp-agents auth login URL`,
// which signs in with the authorization code grant (PKCE) and shows what was granted. The
// authorization URL is printed on stderr; the browser comes back to
// http://127.0.0.1:<--redirect-port>/callback, where a one-request listener waits (5 minutes).
// Tokens stay in memory unless --token-file PATH asks to keep them (src/cli/token_file.h).
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <optional>

#include "cli.h"
#include "token_file.h"
#include "idp/auth/mcp_oauth.h"
#include "idp/core/clock.h"
#include "idp/http/server.h"

namespace net = boost::asio;
using net::awaitable;

namespace idp::cli {
namespace {

constexpr std::chrono::minutes kLoginWait{5};

// The redirect the browser brings back, handed from the listener's thread to the waiting
// coroutine.
struct Callback {
  explicit Callback(net::any_io_executor ex) : timer(ex) {}
  std::mutex mu;
  std::optional<std::string> target;  // "/callback?code=...&state=..."
  net::steady_timer timer;
};

awaitable<void> on_callback(std::shared_ptr<Callback> cb, std::string target, http::Responder& res) {
  {
    std::lock_guard lock(cb->mu);
    if (!cb->target) cb->target = std::move(target);
  }
  net::post(cb->timer.get_executor(), [cb] { cb->timer.cancel(); });
  co_await res.send(http::Response::text(200, "Signed in: you may close this window and return to idp-agents.\n"));
}

awaitable<Result<std::string>> wait_for_redirect(std::uint16_t port, std::string url) {
  auto ex = co_await net::this_coro::executor;
  auto cb = std::make_shared<Callback>(ex);
  http::ServerOptions so;
  so.port = port;
  http::Server server(so);
  server.route("GET", "/callback", [cb](const http::Request& req, http::Responder& res) {
    return on_callback(cb, std::string(req.target()), res);
  });
  auto started = server.start();
  if (!started) {
    co_return make_error(ErrorCode::kUnavailable,
                         "the sign-in redirect listener: " + started.error().message() +
                             " (choose another --redirect-port)");
  }
  std::fprintf(stderr,
               "Open this URL in a browser to sign in (waiting up to %d minutes for the redirect to "
               "http://127.0.0.1:%u/callback):\n%s\n",
               static_cast<int>(kLoginWait.count()), static_cast<unsigned>(port), url.c_str());
  std::fflush(stderr);
  cb->timer.expires_after(kLoginWait);
  std::optional<std::string> got;
  for (;;) {
    {
      std::lock_guard lock(cb->mu);
      got = cb->target;
    }
    if (got) break;
    auto [ec] = co_await cb->timer.async_wait(net::as_tuple(net::use_awaitable));
    if (!ec) break;  // expired
  }
  server.stop();
  server.wait();
  if (!got) {
    co_return make_error(ErrorCode::kTimeout, "no sign-in redirect came back within 5 minutes");
  }
  co_return "http://127.0.0.1:" + std::to_string(port) + *got;
}

struct LoginArgs {
  std::string url;
  std::string ca_file;
  OAuthOptions oauth;
  bool print_access_token = false;
};

int cmd_login(const LoginArgs& a) {
  return run([&]() -> awaitable<int> {
    auto ex = co_await net::this_coro::executor;
    auto provider = oauth_provider(a.oauth, a.url, a.ca_file, ex, /*login=*/true);
    if (!provider) {
      print_error(provider.error());
      co_return kUsage;
    }
    mcp::ClientOptions opt;
    opt.listen = false;
    opt.http.ca_file = a.ca_file;
    opt.token_provider = *provider;
    mcp::Client client(ex, a.url, opt);
    auto connected = co_await client.connect();
    if (!connected) {
      print_error(connected.error());
      co_return kFailed;
    }
    auto tools = co_await client.list_tools();
    co_await client.close();
    if (!tools) {
      print_error(tools.error());
      co_return kFailed;
    }
    if (auto kept = keep_tokens(a.oauth, **provider); !kept) {
      print_error(kept.error());
      co_return kFailed;
    }
    auto info = (*provider)->info();
    if (info.access_token.empty()) {
      std::printf("%s did not ask for authorization (%zu tools listed without a token)\n", a.url.c_str(),
                  tools->size());
      co_return kOk;
    }
    if (a.print_access_token) {
      std::printf("%s\n", info.access_token.reveal().c_str());
      co_return kOk;
    }
    auto left = std::chrono::duration_cast<std::chrono::seconds>(info.expires - std::chrono::system_clock::now());
    std::printf("signed in to %s as client %s; scopes: %s; access token valid for %lld s (until %s); %s; %zu tools\n",
                info.authorization_server.c_str(), info.client_id.c_str(),
                info.scope.empty() ? "(none asked for)" : info.scope.c_str(), static_cast<long long>(left.count()),
                format_utc(info.expires).c_str(),
                info.refreshable ? "refresh token received" : "no refresh token", tools->size());
    co_return kOk;
  });
}

}  // namespace

void add_oauth_options(CLI::App* sub, OAuthOptions& o, bool login) {
  const char* group = "MCP authorization (OAuth 2.1)";
  if (!login) {
    sub->add_flag("--oauth", o.enabled,
                  "sign in through the browser when the server asks (implied by the options below; "
                  "without --oauth-client-id the client registers itself)")
        ->group(group);
  }
  sub->add_option("--oauth-client-id", o.client_id,
                  login ? "a pre-registered client id (default: dynamic client registration)"
                        : "OAuth client id: with --oauth-client-secret-env, client credentials; "
                          "without, a sign-in through the browser (authorization code + PKCE)")
      ->group(group);
  sub->add_option("--oauth-client-secret-env", o.client_secret_env,
                  "environment variable holding the OAuth client secret")
      ->group(group);
  sub->add_option("--scope", o.scope,
                  "scopes to ask for, space-separated (default: the server's challenge, else its "
                  "scopes_supported)")
      ->group(group);
  sub->add_option("--token-file", o.token_file,
                  login ? "keep the tokens in PATH (written with mode 0600) for later tools and call runs"
                        : "start from the tokens in PATH (written by auth login --token-file; refused when "
                          "group or others may read it) and keep them there, refreshed (mode 0600)")
      ->group(group);
  sub->add_option("--redirect-port", o.redirect_port,
                  "loopback port of the sign-in redirect (http://127.0.0.1:PORT/callback)")
      ->check(CLI::Range(1, 65535))
      ->capture_default_str()
      ->group(group);
}

Result<std::shared_ptr<auth::McpOAuthProvider>> oauth_provider(const OAuthOptions& o,
                                                               const std::string& url,
                                                               const std::string& ca_file,
                                                               net::any_io_executor executor, bool login) {
  auth::McpOAuthConfig c;
  c.client_id = o.client_id;
  c.scope = o.scope;
  c.http.ca_file = ca_file;
  if (!o.client_secret_env.empty()) {
    if (o.client_id.empty()) {
      return make_error(ErrorCode::kInvalidArgument, "--oauth-client-secret-env needs --oauth-client-id");
    }
    const char* s = std::getenv(o.client_secret_env.c_str());
    if (!s || !*s) return make_error(ErrorCode::kInvalidArgument, "$" + o.client_secret_env + " is empty");
    c.client_secret = Secret(s);
  }
  c.grant = !login && !c.client_secret.empty() ? auth::McpOAuthConfig::Grant::kClientCredentials
                                               : auth::McpOAuthConfig::Grant::kAuthorizationCode;
  c.redirect_uri = "http://127.0.0.1:" + std::to_string(o.redirect_port) + "/callback";
  const auto port = static_cast<std::uint16_t>(o.redirect_port);
  c.authorize = [port](std::string authorization_url) { return wait_for_redirect(port, std::move(authorization_url)); };
  auto provider = std::make_shared<auth::McpOAuthProvider>(executor, url, std::move(c));
  if (!login && !o.token_file.empty()) {
    auto saved = read_token_file(o.token_file);
    if (!saved) return std::unexpected(saved.error());
    if (*saved) {
      auto restored = provider->restore(std::move(**saved));
      if (!restored) return std::unexpected(restored.error().with_context("--token-file " + o.token_file));
    }
  }
  return provider;
}

Result<void> keep_tokens(const OAuthOptions& o, const auth::McpOAuthProvider& provider) {
  if (o.token_file.empty()) return {};
  auto saved = provider.saved();
  if (!saved) return {};
  return write_token_file(o.token_file, *saved);
}

void register_oauth_commands(CLI::App& app, Commands& out) {
  auto args = std::make_shared<LoginArgs>();
  auto* auth_cmd = app.add_subcommand("auth", "MCP authorization (OAuth 2.1) with an MCP server");
  auth_cmd->require_subcommand(1);
  auto* login = auth_cmd->add_subcommand(
      "login", "sign in to an MCP server's authorization server (authorization code + PKCE through a loopback redirect) and show what was granted");
  login->add_option("url", args->url, "MCP server URL (https://, or http:// on loopback)")->required();
  login->add_option("--ca-file", args->ca_file, "PEM CAs to trust instead of the system store");
  login->add_flag("--print-access-token", args->print_access_token, "print only the access token (for scripts)");
  add_oauth_options(login, args->oauth, /*login=*/true);
  out.push_back({login, [args] { return cmd_login(*args); }});
}

}  // namespace idp::cli
