// idp-mcp-server: the example MCP server of idp-agents, built only on the public idp::mcp and
// idp::auth headers, doing what the External MCP Agents seed asks of a customer's server:
// Cognito access tokens checked on every request, rate limits, validated inputs, an audit line
// per tool call, metrics and a health check, HTTPS. Copy this folder to start your own server
// (docs/mcp-server-guide.md walks through it).
#include <curl/curl.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <thread>

#include "config.h"
#include "idp/auth/bearer_auth.h"
#include "idp/core/core_dumps.h"
#include "idp/core/log.h"
#include "idp/core/metrics.h"
#include "idp/http/local_ca.h"
#include "idp/http/server.h"
#include "idp/mcp/server.h"
#include "idp/mcp/server_guard.h"
#include "idp/mcp/streamable_http_server.h"
#include "mailer.h"
#include "store.h"
#include "tools.h"

namespace {

int fail(const std::string& message) {
  std::fprintf(stderr, "idp-mcp-server: error: %s\n", message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace idp;
  auto parsed = example::parse_config(argc, argv);
  if (!parsed) {
    if (parsed.error().exit_code == 0) return 0;
    std::fprintf(stderr, "idp-mcp-server: error: %s\n", parsed.error().message.c_str());
    return parsed.error().exit_code;
  }
  const example::Config& cfg = *parsed;
  log::Level level;
  if (!log::parse_level(cfg.log_level, &level))
    return fail("--log-level: unknown level " + cfg.log_level);
  log::init(level);
  // The server holds its JWKS, an SMTP password and callers' tokens: none is written to a core
  // file.
  disable_core_dumps_or_warn();
  curl_global_init(CURL_GLOBAL_DEFAULT);

  // Everything that can fail is opened before the server listens.
  auto store = example::Store::open(cfg.db);
  if (!store) return fail(store.error());
  std::unique_ptr<example::Mailer> mailer;
  if (!cfg.smtp_url.empty()) {
    if (auto ok = example::check_smtp_url(cfg.smtp_url); !ok) return fail(ok.error());
    example::MailerOptions mo;
    mo.smtp_url = cfg.smtp_url;
    mo.from = cfg.mail_from;
    mo.retry_base = std::chrono::milliseconds(cfg.smtp_retry_ms);
    mo.max_attempts = cfg.smtp_max_attempts;
    mo.ca_file = cfg.ca_file;
    mailer = std::make_unique<example::Mailer>(**store, mo);
  }
  mcp::ServerGuardOptions go;
  go.metrics = std::make_shared<MetricsRegistry>();
  if (cfg.rate_limits) go.rate_limiter = std::make_shared<mcp::RateLimiter>(*cfg.rate_limits);
  if (cfg.audit_log == "-") {
    go.audit = mcp::AuditLog::to_stdout();
  } else if (!cfg.audit_log.empty()) {
    auto audit = mcp::AuditLog::open_file(
        cfg.audit_log, {.max_bytes = cfg.audit_max_bytes, .keep = cfg.audit_keep});
    if (!audit) return fail("--audit-log: " + audit.error().message());
    go.audit = *audit;
  }

  http::ServerOptions ho;
  ho.host = cfg.host;
  ho.port = static_cast<std::uint16_t>(cfg.port);
  ho.threads = cfg.threads > 0
                   ? cfg.threads
                   : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  ho.shutdown_grace = std::chrono::seconds(cfg.drain_seconds);
  ho.tls_cert_file = cfg.tls_cert;
  ho.tls_key_file = cfg.tls_key;
  if (!cfg.local_ca_dir.empty()) {
    auto ca = http::ensure_local_ca(cfg.local_ca_dir);
    if (!ca) return fail("--local-ca: " + ca.error().message());
    ho.tls_cert_file = ca->server_cert;
    ho.tls_key_file = ca->server_key;
    log::info("local CA {} ({}); clients trust it with ca_file={}", ca->ca_cert,
              ca->created_ca ? "new" : "reused", ca->ca_cert);
  }

  mcp::ServerOptions so;
  so.info = mcp::Implementation{"idp-mcp-server", "0.1.0"};
  so.info.title = "IDP example MCP server";
  so.instructions =
      "Client records and verification e-mails. Look up addresses with get_client_address "
      "(ids like C-1001), send a verification e-mail with send_verification_email and check it "
      "with list_outbox; calculator does arithmetic; summarize_document summarizes a text (slowly: "
      "it runs as a task where the client supports tasks).";
  mcp::Server server(so);
  mcp::ServerGuard guard(server, go);
  const auto summarize_delay = std::chrono::milliseconds(
      static_cast<std::int64_t>(cfg.summarize_delay_seconds * 1000));
  if (auto ok = example::add_tools(guard, **store, mailer.get(), summarize_delay); !ok) {
    return fail(ok.error());
  }
  for (const auto& [tool, scopes] : cfg.tool_scopes) {
    if (std::find(std::begin(example::kToolNames), std::end(example::kToolNames), tool) ==
        std::end(example::kToolNames)) {
      std::string names;
      for (std::string_view n : example::kToolNames) names += (names.empty() ? "" : ", ") + std::string(n);
      return fail("--tool-scope " + tool + "=...: this server has no tool " + tool + " (its tools: " +
                  names + ")");
    }
  }

  // Declared before the BearerAuth: the JWKS client's pooled sockets live on the server's
  // io_context, so the BearerAuth must go first when main() returns.
  http::Server http(ho);
  std::unique_ptr<auth::BearerAuth> bearer;
  if (!cfg.allow_anonymous) {
    auth::BearerAuthOptions ao;
    ao.rules.issuer = cfg.issuer();
    ao.rules.client_ids = cfg.client_ids;
    ao.rules.required_scopes = cfg.required_scopes;
    ao.tool_scopes = cfg.tool_scopes;
    ao.scopes_supported = cfg.scopes_supported();  // the metadata names the issuer and these
    // Cognito access tokens are about 1 KiB; 8 KiB leaves room and stays under the 16 KiB header
    // limit, so an oversized token gets a clear 401 rather than a 431.
    ao.rules.max_token_bytes = 8 * 1024;
    ao.jwks_url = cfg.jwks_url;
    ao.resource = cfg.resource_url;
    ao.http.ca_file = cfg.ca_file;
    bearer = std::make_unique<auth::BearerAuth>(ao);
  }

  mcp::StreamableHttpOptions to;
  to.stateless = cfg.stateless;
  if (bearer) to.authenticate = bearer->authenticator();
  guard.install(to);  // rate limits, audit and metrics through the transport's request hooks
  mcp::StreamableHttpServer transport(server, to);
  transport.attach(http);
  if (bearer) bearer->serve_metadata(http, to.path);
  guard.serve(http, [&transport] { return transport.session_count(); });

  auto port = http.start();
  if (!port) return fail(port.error().message());
  if (mailer) mailer->start();
  const bool tls = !ho.tls_cert_file.empty();
  std::string host = cfg.host.find(':') != std::string::npos ? "[" + cfg.host + "]" : cfg.host;
  std::cout << "idp-mcp-server listening on " << (tls ? "https" : "http") << "://" << host << ":"
            << *port << to.path << (bearer ? " (tokens from " + cfg.issuer() + ")" : " (anonymous)")
            << std::endl;
  http.run_until_signal();
  if (mailer) mailer->stop();
  curl_global_cleanup();
  std::cout << "idp-mcp-server stopped" << std::endl;
  return 0;
}
