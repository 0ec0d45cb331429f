// The External MCP Agents secret: a JSON array with one object per MCP server, and its
// validation. validate_secret() checks every entry on its own and reports every problem as a
// Finding that names the entry and the field ("secret entry 2: cognito_client_id is missing");
// a bad entry is skipped and never takes the others down. Passwords, client secrets, tokens and
// header values are held as idp::Secret and never appear in a finding.
//
// Entry fields (the seed's, then ours; all ours are optional):
//   mcp_url               https://, or http:// to a loopback host
//   cognito_user_pool_id  "<region>_<id>"           \  required for "transport": "http"
//   cognito_client_id                                |  unless `auth` is given; optional
//   cognito_username                                 |  (all or none) for "sse"
//   cognito_password                                /
//   agent_name, agent_description, transport ("http" default | "sse": the legacy HTTP+SSE)
//   agent_id (stable id, [A-Za-z0-9_-]{1,64}), cognito_client_secret,
//   auth: {"type":"oauth2","client_id","client_secret"|"private_key","signing_alg"?,"scope"?,
//          "token_endpoint"?} (MCP authorization: the rest is discovered from the server)
//       | {"type":"oauth2_client_credentials","token_url","client_id","client_secret","scope"}
//       | {"type":"bearer","token"} | {"type":"none"} (loopback mcp_url only),
//   tools_allow / tools_deny (tool names or globs with * and ?), tool_prefix, timeout_seconds,
//   headers (object of strings), ca_file, sample_queries (array of strings), enabled (boolean:
//   false lists the agent as disabled without connecting), allow_link_local (boolean: mcp_url
//   and the token endpoints may be link-local or cloud metadata addresses, refused otherwise).
//
// Numbering: Finding::index and AgentEntry::index are 0-based positions in the array; messages
// say "secret entry N" with N = index + 1, as a person counts (entry 1 is the first).
//
// All functions are pure and thread-safe.
#pragma once

#include <boost/json/array.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "idp/core/secret.h"

namespace idp::agents {

struct SecretLimits {
  std::size_t max_bytes = std::size_t{64} * 1024;
  std::size_t max_entries = 100;
};

enum class Severity { kError, kWarning };
const char* to_string(Severity severity);  // "error" | "warning"

struct Finding {
  static constexpr int kWholeSecret = -1;
  int index = kWholeSecret;  // 0-based entry position, or kWholeSecret
  std::string field;         // "cognito_client_id", "auth.token_url", "headers.X-Api-Key", or ""
  Severity severity = Severity::kError;
  std::string message;  // complete and user-facing: "secret entry 2: ..."
};

enum class Transport { kHttp, kSse };
const char* to_string(Transport transport);  // "http" | "sse"

enum class AuthType { kCognito, kOAuth2, kOAuth2ClientCredentials, kBearer, kNone };
// "cognito" | "oauth2" | "oauth2_client_credentials" | "bearer" | "none"
const char* to_string(AuthType type);

struct CognitoCredentials {
  std::string user_pool_id;
  std::string client_id;
  std::string username;
  Secret password;
  std::optional<Secret> client_secret;
};

struct OAuthCredentials {
  std::string token_url;
  std::string client_id;
  Secret client_secret;
  std::string scope;
};

// MCP authorization with a pre-registered confidential client (client_credentials grant).
struct OAuth2Credentials {
  std::string client_id;
  Secret client_secret;              // client_secret_basic / _post, or
  Secret private_key;                // PEM, private_key_jwt
  std::string signing_alg = "RS256";  // of private_key
  std::string scope;                 // "" : from the server's challenge or metadata
  std::string token_endpoint;        // "" : discovered; given: no authorization server metadata
};

// One valid entry, with defaults applied and its agent id and name resolved.
struct AgentEntry {
  std::size_t index = 0;  // position in the array
  std::string id;         // agent_id, else derived from agent_name, else external-mcp-agent-{index}
  std::string name;       // agent_name, else "External MCP Agent {index+1}"
  std::optional<std::string> description;  // agent_description as given
  std::string mcp_url;
  Transport transport = Transport::kHttp;
  AuthType auth = AuthType::kNone;
  std::optional<CognitoCredentials> cognito;  // AuthType::kCognito
  std::optional<OAuth2Credentials> oauth2;    // AuthType::kOAuth2
  std::optional<OAuthCredentials> oauth;      // AuthType::kOAuth2ClientCredentials
  std::optional<Secret> bearer_token;         // AuthType::kBearer
  std::vector<std::string> tools_allow;       // empty: every tool
  std::vector<std::string> tools_deny;
  std::string tool_prefix;
  std::optional<double> timeout_seconds;
  std::vector<std::pair<std::string, Secret>> headers;
  std::string ca_file;
  std::vector<std::string> sample_queries;  // the three defaults when not given
  bool enabled = true;
  bool allow_link_local = false;  // link-local and cloud metadata addresses allowed
  // SHA-256 over the entry's JSON text and its resolved id: equal fingerprints mean an entry
  // that did not change between two versions of the secret.
  std::string fingerprint;
};

struct ValidatedSecret {
  std::vector<AgentEntry> entries;  // the valid ones, in array order
  std::vector<Finding> findings;    // errors and warnings, in array order

  bool has_errors() const;
  std::size_t error_count() const;
  std::size_t warning_count() const;
};

// Validates the whole secret text.
ValidatedSecret validate_secret(std::string_view text, const SecretLimits& limits = {});
inline ValidatedSecret validate_secret(const Secret& text, const SecretLimits& limits = {}) {
  return validate_secret(std::string_view(text.reveal()), limits);
}

// The id derived from an agent name: lowercase, spaces to '_', only [a-z0-9_-] kept, at most
// 64 characters. Empty when nothing is left.
std::string derive_agent_id(std::string_view agent_name);

// Glob match with '*' (any run, also empty) and '?' (one character); case-sensitive.
bool glob_match(std::string_view pattern, std::string_view text);
// True when `tool` (the server's name) passes the entry's allow and deny lists.
bool tool_allowed(const AgentEntry& entry, std::string_view tool);

// The three sample queries of the reference, for entries that give none.
const std::vector<std::string>& default_sample_queries();

// [{"index":0|null,"entry":1|null,"field":"...","severity":"error","message":"..."}, ...]
boost::json::array findings_to_json(const std::vector<Finding>& findings);

}  // namespace idp::agents
