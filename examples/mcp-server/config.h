// The command line of idp-mcp-server, parsed and checked before anything listens: a bad flag, a
// missing pairing (--tls-cert without --tls-key), an unreadable file or plain HTTP on a public
// interface is an error that names the flag and what to do.
#pragma once

#include <chrono>
#include <expected>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "idp/mcp/rate_limit.h"

namespace example {

struct Config {
  std::string host = "127.0.0.1";
  int port = 8000;
  std::string tls_cert, tls_key;
  std::string local_ca_dir;  // --local-ca: generate/reuse a CA and a loopback certificate here

  // Tokens: issuer and JWKS from the pool id, or an explicit issuer (local identity provider).
  std::string user_pool_id, region, jwt_issuer, jwks_url;
  std::vector<std::string> client_ids;
  std::vector<std::string> required_scopes;
  // --tool-scope TOOL=SCOPE: what a call of TOOL needs on top of required_scopes.
  std::map<std::string, std::vector<std::string>> tool_scopes;
  std::string resource_url;
  std::string ca_file;  // extra CAs for the JWKS and SMTP connections
  bool allow_anonymous = false;

  std::optional<idp::mcp::RateLimits> rate_limits;
  std::string audit_log;  // path, "-" for stdout, empty: none
  std::uint64_t audit_max_bytes = 10 * 1024 * 1024;
  int audit_keep = 5;
  std::string db = "idp-mcp-server.db";

  std::string smtp_url, mail_from = "no-reply@idp-mcp-server.example";
  int smtp_retry_ms = 1000, smtp_max_attempts = 5;

  // summarize_document's reading time per document (--summarize-delay SECONDS).
  double summarize_delay_seconds = 5;

  bool stateless = false;
  int threads = 0;  // 0: the number of cores
  int drain_seconds = 10;
  std::string log_level = "info";

  bool tls() const { return !tls_cert.empty() || !local_ca_dir.empty(); }
  std::string issuer() const;  // the exact `iss` the tokens must carry
  // For the protected-resource metadata: required_scopes, then the tools' scopes.
  std::vector<std::string> scopes_supported() const;
};

// Parses argv. On --help, prints the help and returns an empty error with exit code 0; on a
// usage error returns the message (exit code 2).
struct ConfigError {
  std::string message;
  int exit_code = 2;
};
std::expected<Config, ConfigError> parse_config(int argc, char** argv);

}  // namespace example
