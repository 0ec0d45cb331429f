#include "config.h"

#include <fmt/format.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <iostream>

#include "idp/http/url_policy.h"

namespace example {

std::string Config::issuer() const {
  if (!jwt_issuer.empty()) return jwt_issuer;
  return fmt::format("https://cognito-idp.{}.amazonaws.com/{}", region, user_pool_id);
}

std::vector<std::string> Config::scopes_supported() const {
  std::vector<std::string> out = required_scopes;
  for (const auto& [tool, scopes] : tool_scopes) {
    for (const auto& s : scopes) {
      if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
    }
  }
  return out;
}

namespace {

std::expected<void, std::string> readable(const std::string& flag, const std::string& path) {
  if (path.empty()) return {};
  if (::access(path.c_str(), R_OK) != 0) {
    return std::unexpected(
        fmt::format("{} {}: cannot read the file: {}", flag, path, std::strerror(errno)));
  }
  return {};
}

}  // namespace

std::expected<Config, ConfigError> parse_config(int argc, char** argv) {
  Config c;
  CLI::App app{
      "idp-mcp-server: an example MCP server built on the idp::mcp SDK. Tools: calculator, "
      "get_client_address, send_verification_email, list_outbox, summarize_document. Every "
      "request needs a Cognito "
      "access token; calls are rate-limited, validated and audited; /metrics and /healthz are "
      "served next to /mcp."};
  std::string listen = "127.0.0.1:8000", rate_limit, rate_limit_file;
  int audit_max_mb = 10;
  app.add_option("--listen", listen, "HOST:PORT to listen on (port 0: any free port)")
      ->capture_default_str()
      ->group("Network");
  app.add_option("--tls-cert", c.tls_cert, "PEM certificate chain for HTTPS")->group("Network");
  app.add_option("--tls-key", c.tls_key, "PEM private key for HTTPS")->group("Network");
  app.add_option("--local-ca", c.local_ca_dir,
                 "serve HTTPS with a local CA and a loopback certificate made (or reused) in DIR; "
                 "clients trust DIR/ca.pem")
      ->group("Network");
  app.add_option("--threads", c.threads, "server threads (default: one per core)")
      ->group("Network");
  app.add_flag("--stateless", c.stateless, "issue no MCP sessions; every request stands alone")
      ->group("Network");
  app.add_option("--drain-seconds", c.drain_seconds,
                 "on SIGTERM/SIGINT, let running calls finish for this long")
      ->capture_default_str()
      ->group("Network");

  const char* auth = "Tokens (Cognito access tokens on every request)";
  app.add_option("--cognito-user-pool-id", c.user_pool_id,
                 "Cognito user pool id (e.g. us-east-1_AbC123xyz): issuer and JWKS follow from it")
      ->group(auth);
  app.add_option("--region", c.region, "the pool's AWS region (default: the pool id's prefix)")
      ->group(auth);
  app.add_option("--cognito-client-id", c.client_ids,
                 "app client id whose access tokens are accepted (repeatable)")
      ->group(auth);
  app.add_option("--jwt-issuer", c.jwt_issuer,
                 "exact token issuer instead of a pool (e.g. the local identity provider's "
                 "http://127.0.0.1:9229/<pool>)")
      ->group(auth);
  app.add_option("--jwt-jwks-url", c.jwks_url, "JWKS URL (default: <issuer>/.well-known/jwks.json)")
      ->group(auth);
  app.add_option("--required-scope", c.required_scopes, "scope every token must grant (repeatable)")
      ->group(auth);
  std::vector<std::string> tool_scopes;
  app.add_option("--tool-scope", tool_scopes,
                 "TOOL=SCOPE: a call of TOOL also needs SCOPE (repeatable); without it the call "
                 "gets HTTP 403 insufficient_scope naming the scope, so that clients can step up")
      ->group(auth);
  app.add_option("--resource-url", c.resource_url,
                 "this server's public URL for the protected-resource metadata (default: from "
                 "the Host header)")
      ->group(auth);
  app.add_option("--ca-file", c.ca_file, "PEM CAs to trust for the JWKS and SMTP connections")
      ->group(auth);
  app.add_flag("--allow-anonymous", c.allow_anonymous,
               "accept requests without a token (loopback only; for trying the tools)")
      ->group(auth);

  const char* ops = "Limits, audit and data";
  app.add_option("--rate-limit", rate_limit,
                 "tool calls per caller, e.g. 5/min or 10/s; other methods share a limit ten "
                 "times higher")
      ->group(ops);
  app.add_option("--rate-limit-file", rate_limit_file,
                 "JSON limits: {\"tool_calls\":\"5/min\",\"other_methods\":\"600/min\","
                 "\"tools\":{\"calculator\":\"2/s\"}}")
      ->group(ops);
  app.add_option("--audit-log", c.audit_log,
                 "append one JSON line per tool call, refusal and rate-limited request to PATH "
                 "(- for stdout)")
      ->group(ops);
  app.add_option("--audit-max-mb", audit_max_mb, "rotate the audit log at this size")
      ->capture_default_str()
      ->group(ops);
  app.add_option("--audit-keep", c.audit_keep, "rotated audit files to keep")
      ->capture_default_str()
      ->group(ops);
  app.add_option("--db", c.db, "SQLite database (created and seeded with sample clients)")
      ->capture_default_str()
      ->group(ops);
  app.add_option("--smtp", c.smtp_url,
                 "deliver the outbox through smtp://host:port (loopback, or STARTTLS) or "
                 "smtps://host:port; without it messages stay queued")
      ->group(ops);
  app.add_option("--mail-from", c.mail_from, "sender address")->capture_default_str()->group(ops);
  app.add_option("--smtp-retry-ms", c.smtp_retry_ms, "first retry delay (doubling, at most 60 s)")
      ->capture_default_str()
      ->group(ops);
  app.add_option("--smtp-max-attempts", c.smtp_max_attempts, "attempts before a message fails")
      ->capture_default_str()
      ->group(ops);
  app.add_option("--summarize-delay", c.summarize_delay_seconds,
                 "SECONDS summarize_document takes per document (it reports progress ten times; "
                 "MCP clients that support tasks get a task for it)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 3600.0))
      ->group(ops);
  app.add_option("--log-level", c.log_level, "trace|debug|info|warn|error (logs go to stderr)")
      ->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return std::unexpected(ConfigError{"", 0});
  } catch (const CLI::ParseError& e) {
    return std::unexpected(ConfigError{fmt::format("{}; run idp-mcp-server --help", e.what())});
  }
  auto fail = [](std::string m) { return std::unexpected(ConfigError{std::move(m)}); };

  // --listen HOST:PORT, [v6]:PORT
  auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return fail("--listen " + listen + ": expected HOST:PORT");
  c.host = listen.substr(0, colon);
  if (c.host.front() == '[' && c.host.back() == ']') c.host = c.host.substr(1, c.host.size() - 2);
  std::string port = listen.substr(colon + 1);
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), c.port);
  if (ec != std::errc() || p != port.data() + port.size() || c.port < 0 || c.port > 65535) {
    return fail("--listen " + listen + ": the port must be 0-65535");
  }
  const bool loopback = idp::http::is_loopback_host(c.host);

  if (c.tls_cert.empty() != c.tls_key.empty()) return fail("--tls-cert and --tls-key go together");
  if (!c.tls_cert.empty() && !c.local_ca_dir.empty()) {
    return fail("--local-ca makes its own certificate; leave out --tls-cert/--tls-key");
  }
  for (auto [flag, path] : {std::pair{"--tls-cert", c.tls_cert},
                            {"--tls-key", c.tls_key},
                            {"--ca-file", c.ca_file},
                            {"--rate-limit-file", rate_limit_file}}) {
    if (auto r = readable(flag, path); !r) return fail(r.error());
  }
  if (!c.tls() && !loopback) {
    return fail("--listen " + listen +
                ": plain HTTP is allowed only on loopback (127.0.0.1, ::1, localhost); pass "
                "--tls-cert and --tls-key to serve HTTPS");
  }

  // Tokens.
  if (!c.user_pool_id.empty() && !c.jwt_issuer.empty()) {
    return fail("--cognito-user-pool-id and --jwt-issuer exclude each other");
  }
  const bool has_auth = !c.user_pool_id.empty() || !c.jwt_issuer.empty();
  if (has_auth && c.client_ids.empty()) {
    return fail(
        "--cognito-client-id is required with --cognito-user-pool-id or --jwt-issuer: "
        "the app client whose access tokens are accepted");
  }
  if (!has_auth && !c.client_ids.empty()) {
    return fail("--cognito-client-id needs --cognito-user-pool-id (or --jwt-issuer)");
  }
  if (has_auth && c.allow_anonymous)
    return fail("--allow-anonymous and token options exclude each other");
  if (!has_auth && !c.allow_anonymous) {
    return fail(
        "no token validation configured: pass --cognito-user-pool-id POOL "
        "--cognito-client-id ID (or --jwt-issuer URL --cognito-client-id ID); "
        "--allow-anonymous serves without tokens on loopback");
  }
  if (c.allow_anonymous && !loopback) return fail("--allow-anonymous is allowed only on loopback");
  if (!c.user_pool_id.empty()) {
    auto us = c.user_pool_id.find('_');
    if (us == std::string::npos || us == 0 || us + 1 == c.user_pool_id.size()) {
      return fail("--cognito-user-pool-id " + c.user_pool_id +
                  ": expected <region>_<id>, e.g. us-east-1_AbC123xyz");
    }
    if (c.region.empty()) c.region = c.user_pool_id.substr(0, us);
  }
  if (!c.jwt_issuer.empty()) {
    if (auto u = idp::http::check_url(c.jwt_issuer, "--jwt-issuer"); !u)
      return fail(u.error().message());
  }
  if (!c.jwks_url.empty()) {
    if (auto u = idp::http::check_url(c.jwks_url, "--jwt-jwks-url"); !u)
      return fail(u.error().message());
  }
  for (const auto& ts : tool_scopes) {
    auto eq = ts.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == ts.size() ||
        ts.find_first_of(" \t\"\\", eq + 1) != std::string::npos) {
      return fail("--tool-scope " + ts + ": expected TOOL=SCOPE (one scope; repeat the option for more)");
    }
    if (!has_auth) return fail("--tool-scope needs token validation (--cognito-user-pool-id or --jwt-issuer)");
    auto& scopes = c.tool_scopes[ts.substr(0, eq)];
    std::string scope = ts.substr(eq + 1);
    if (std::find(scopes.begin(), scopes.end(), scope) == scopes.end()) scopes.push_back(scope);
  }

  // Limits and files.
  if (!rate_limit.empty() && !rate_limit_file.empty()) {
    return fail("--rate-limit and --rate-limit-file exclude each other");
  }
  if (!rate_limit.empty()) {
    auto r = idp::mcp::parse_rate(rate_limit);
    if (!r) return fail("--rate-limit: " + r.error().message());
    idp::mcp::RateLimits limits;
    limits.tool_calls = *r;
    idp::mcp::Rate other = *r;
    other.count *= 10;
    other.burst = other.count;
    limits.other_methods = other;
    c.rate_limits = limits;
  } else if (!rate_limit_file.empty()) {
    auto r = idp::mcp::load_rate_limits(rate_limit_file);
    if (!r) return fail("--rate-limit-file: " + r.error().message());
    c.rate_limits = *r;
  }
  if (audit_max_mb < 1) return fail("--audit-max-mb must be at least 1");
  c.audit_max_bytes = static_cast<std::uint64_t>(audit_max_mb) * 1024 * 1024;
  if (c.audit_keep < 0 || c.audit_keep > 100) return fail("--audit-keep must be 0-100");
  if (c.threads < 0 || c.threads > 256) return fail("--threads must be 1-256");
  if (c.drain_seconds < 0 || c.drain_seconds > 3600) return fail("--drain-seconds must be 0-3600");
  if (c.smtp_retry_ms < 1 || c.smtp_max_attempts < 1) {
    return fail("--smtp-retry-ms and --smtp-max-attempts must be positive");
  }
  return c;
}

}  // namespace example
