// The secret's schema in one file, past the usual ~600 lines: one check per field of an entry,
// each short, all reporting through the same EntryCheck.
#include "idp/agents/secret_schema.h"

#include <fmt/format.h>
#include <boost/json/object.hpp>
#include <boost/json/parse_options.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/stream_parser.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "idp/agents/secret_source.h"
#include "idp/core/json_util.h"
#include "idp/core/text.h"
#include "idp/http/url_policy.h"

namespace idp::agents {

namespace bj = boost::json;

namespace {

constexpr std::size_t kMaxNameChars = 128;
constexpr std::size_t kMaxDescriptionChars = 4000;
constexpr std::size_t kMaxIdChars = 64;
constexpr std::size_t kMaxPrefixChars = 32;
constexpr double kMaxTimeoutSeconds = 600;

constexpr std::string_view kCognitoFields[] = {"cognito_user_pool_id", "cognito_client_id",
                                               "cognito_username", "cognito_password"};

constexpr std::string_view kKnownFields[] = {"mcp_url",
                                             "cognito_user_pool_id",
                                             "cognito_client_id",
                                             "cognito_username",
                                             "cognito_password",
                                             "cognito_client_secret",
                                             "agent_name",
                                             "agent_description",
                                             "transport",
                                             "agent_id",
                                             "auth",
                                             "tools_allow",
                                             "tools_deny",
                                             "tool_prefix",
                                             "timeout_seconds",
                                             "headers",
                                             "ca_file",
                                             "sample_queries",
                                             "enabled",
                                             "allow_link_local"};

// Headers the MCP client owns.
constexpr std::string_view kReservedHeaders[] = {"host",           "content-length",
                                                 "content-type",   "accept",
                                                 "connection",     "transfer-encoding",
                                                 "mcp-session-id", "mcp-protocol-version",
                                                 "last-event-id",  "upgrade"};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
}

// Values we echo (pool ids, transport names) are shown shortened and printable only.
std::string shown(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 80)) out += std::isprint(static_cast<unsigned char>(c)) ? c : '?';
  if (s.size() > 80) out += "...";
  return out;
}

bool id_chars_ok(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

bool header_name_ok(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

// "line 3, column 14" for a byte offset.
std::string position(std::string_view text, std::size_t offset) {
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return fmt::format("line {}, column {}", line, column);
}

struct UrlCheck {
  bool ok = false;
  bool loopback = false;
  std::string problem;  // "mcp_url must use https:// ...", without the URL's userinfo or query
};

// https://, or http:// to loopback, and no link-local or metadata host unless the entry allows
// it (the project's one URL policy); the message never repeats credentials or the query.
UrlCheck check_url(std::string_view url, std::string_view field, bool allow_link_local) {
  UrlCheck out;
  auto checked = http::check_url(url, field, http::UrlRules{.allow_link_local = allow_link_local});
  if (!checked) {
    out.problem = checked.error().message();
    // kPermissionDenied: a link-local or metadata host, which the entry may allow.
    if (checked.error().code() == ErrorCode::kPermissionDenied) {
      out.problem += "; if the server really is there, set \"allow_link_local\": true in this entry";
    }
    return out;
  }
  out.ok = true;
  out.loopback = checked->loopback;
  return out;
}

// Collects the findings of one entry.
class EntryCheck {
 public:
  EntryCheck(std::size_t index, std::vector<Finding>& out) : index_(index), out_(out) {}

  void error(std::string field, std::string_view message) {
    add(std::move(field), Severity::kError, message);
  }
  void warn(std::string field, std::string_view message) {
    add(std::move(field), Severity::kWarning, message);
  }
  bool ok() const { return ok_; }

  // A string member. Absent (or null) is fine unless `required`.
  std::optional<std::string> str(const bj::object& o, std::string_view key, bool required,
                                 std::string_view prefix = {}) {
    std::string field = std::string(prefix) + std::string(key);
    auto it = o.find(key);
    if (it == o.end() || (!required && it->value().is_null())) {
      if (required) error(field, fmt::format("{} is missing", field));
      return std::nullopt;
    }
    if (!it->value().is_string()) {
      error(field,
            fmt::format("{} must be a string, got {}", field, ::idp::json::kind_name(it->value())));
      return std::nullopt;
    }
    std::string_view v = it->value().get_string();
    if (blank(v)) {
      error(field, fmt::format("{} is empty", field));
      return std::nullopt;
    }
    return std::string(v);
  }

  std::optional<Secret> secret(const bj::object& o, std::string_view key, bool required,
                               std::string_view prefix = {}) {
    auto v = str(o, key, required, prefix);
    if (!v) return std::nullopt;
    return Secret(std::move(*v));
  }

  // An array of non-empty strings.
  std::optional<std::vector<std::string>> strings(const bj::object& o, std::string_view key) {
    auto it = o.find(key);
    if (it == o.end() || it->value().is_null()) return std::nullopt;
    std::string field(key);
    const bj::array* a = it->value().if_array();
    if (!a) {
      error(field, fmt::format("{} must be an array of strings, got {}", field,
                               ::idp::json::kind_name(it->value())));
      return std::nullopt;
    }
    std::vector<std::string> out;
    bool good = true;
    for (std::size_t i = 0; i < a->size(); ++i) {
      const bj::value& v = (*a)[i];
      if (!v.is_string()) {
        error(field,
              fmt::format("{}[{}] must be a string, got {}", field, i, ::idp::json::kind_name(v)));
        good = false;
      } else if (blank(v.get_string())) {
        error(field, fmt::format("{}[{}] is empty", field, i));
        good = false;
      } else {
        out.emplace_back(v.get_string());
      }
    }
    if (!good) return std::nullopt;
    return out;
  }

 private:
  void add(std::string field, Severity severity, std::string_view message) {
    if (severity == Severity::kError) ok_ = false;
    out_.push_back(Finding{static_cast<int>(index_), std::move(field), severity,
                           fmt::format("secret entry {}: {}", index_ + 1, message)});
  }

  std::size_t index_;
  std::vector<Finding>& out_;
  bool ok_ = true;
};

// {"type":"oauth2", "client_id", "client_secret" | "private_key", "signing_alg"?, "scope"?,
// "token_endpoint"?}: MCP authorization, everything else discovered from the server.
void check_oauth2(EntryCheck& c, const bj::object& auth, AgentEntry& e) {
  e.auth = AuthType::kOAuth2;
  OAuth2Credentials o;
  if (auto id = c.str(auth, "client_id", true, "auth.")) o.client_id = *id;
  auto secret = c.secret(auth, "client_secret", false, "auth.");
  auto key = c.secret(auth, "private_key", false, "auth.");
  if (secret && key) {
    c.error("auth.private_key",
            "auth.client_secret and auth.private_key are both set; give one (client_secret for "
            "client_secret_basic/post, private_key for private_key_jwt)");
  } else if (!secret && !key && !auth.contains("client_secret") && !auth.contains("private_key")) {
    c.error("auth.client_secret",
            "auth.client_secret is missing (oauth2 needs client_secret or private_key)");
  }
  if (secret) o.client_secret = std::move(*secret);
  if (key) {
    // Checked by shape only: the key itself is never echoed.
    const std::string& pem = key->reveal();
    if (pem.find("-----BEGIN") == std::string::npos ||
        pem.find("PRIVATE KEY-----") == std::string::npos) {
      c.error("auth.private_key",
              "auth.private_key must be a PEM private key (-----BEGIN PRIVATE KEY-----, with "
              "\\n for the line breaks in JSON)");
    }
    o.private_key = std::move(*key);
  }
  if (auto alg = c.str(auth, "signing_alg", false, "auth.")) {
    if (*alg != "RS256" && *alg != "ES256") {
      c.error("auth.signing_alg",
              fmt::format("auth.signing_alg must be RS256 or ES256, got '{}'", shown(*alg)));
    } else if (!auth.contains("private_key")) {
      c.warn("auth.signing_alg", "auth.signing_alg is ignored without auth.private_key");
    }
    o.signing_alg = *alg;
  }
  if (auto scope = c.str(auth, "scope", false, "auth.")) o.scope = *scope;
  if (auto te = c.str(auth, "token_endpoint", false, "auth.")) {
    UrlCheck tu = check_url(*te, "auth.token_endpoint", e.allow_link_local);
    if (!tu.ok) c.error("auth.token_endpoint", tu.problem);
    o.token_endpoint = *te;
  }
  e.oauth2 = std::move(o);
}

void check_auth_object(EntryCheck& c, const bj::object& auth, const UrlCheck& url, AgentEntry& e) {
  auto type = c.str(auth, "type", true, "auth.");
  if (!type) return;
  std::vector<std::string_view> known = {"type"};
  if (*type == "oauth2_client_credentials") {
    e.auth = AuthType::kOAuth2ClientCredentials;
    known.insert(known.end(), {"token_url", "client_id", "client_secret", "scope"});
    OAuthCredentials o;
    auto token_url = c.str(auth, "token_url", true, "auth.");
    if (token_url) {
      UrlCheck tu = check_url(*token_url, "auth.token_url", e.allow_link_local);
      if (!tu.ok) c.error("auth.token_url", tu.problem);
      o.token_url = *token_url;
    }
    auto client_id = c.str(auth, "client_id", true, "auth.");
    auto client_secret = c.secret(auth, "client_secret", true, "auth.");
    auto scope = c.str(auth, "scope", false, "auth.");
    if (client_id) o.client_id = *client_id;
    if (client_secret) o.client_secret = std::move(*client_secret);
    if (scope) o.scope = *scope;
    e.oauth = std::move(o);
  } else if (*type == "oauth2") {
    check_oauth2(c, auth, e);
    known.insert(known.end(), {"client_id", "client_secret", "private_key", "signing_alg", "scope",
                               "token_endpoint"});
  } else if (*type == "bearer") {
    e.auth = AuthType::kBearer;
    known.push_back("token");
    e.bearer_token = c.secret(auth, "token", true, "auth.");
  } else if (*type == "none") {
    e.auth = AuthType::kNone;
    if (!url.loopback) {
      c.error("auth.type",
              "auth type none is allowed only when mcp_url is on loopback (localhost, "
              "127.0.0.0/8, [::1]); a remote server needs credentials (Cognito, oauth2, "
              "oauth2_client_credentials or bearer)");
    }
  } else {
    c.error("auth.type",
            fmt::format("auth.type must be oauth2, oauth2_client_credentials, bearer or none; got '{}'",
                        shown(*type)));
    return;
  }
  for (const auto& kv : auth) {
    if (std::find(known.begin(), known.end(), std::string_view(kv.key())) == known.end()) {
      c.warn(
          "auth." + std::string(kv.key()),
          fmt::format("auth.{} is not a field of {} auth and is ignored", shown(kv.key()), *type));
    }
  }
}

std::optional<AgentEntry> check_entry(std::size_t index, const bj::value& v,
                                      std::vector<Finding>& out) {
  EntryCheck c(index, out);
  const bj::object* op = v.if_object();
  if (!op) {
    c.error("", fmt::format("must be a JSON object, got {}", ::idp::json::kind_name(v)));
    return std::nullopt;
  }
  const bj::object& o = *op;
  AgentEntry e;
  e.index = index;

  for (const auto& kv : o) {
    std::string_view key = kv.key();
    if (std::find(std::begin(kKnownFields), std::end(kKnownFields), key) != std::end(kKnownFields))
      continue;
    std::string hint;
    if (auto near = closest_match(key, kKnownFields)) {
      hint = fmt::format(" (did you mean '{}'?)", *near);
    }
    c.warn(std::string(key), fmt::format("unknown field '{}' is ignored{}", shown(key), hint));
  }

  // allow_link_local first: it decides what the URLs below may point at.
  if (auto it = o.find("allow_link_local"); it != o.end() && !it->value().is_null()) {
    if (!it->value().is_bool()) {
      c.error("allow_link_local", fmt::format("allow_link_local must be true or false, got {}",
                                              ::idp::json::kind_name(it->value())));
    } else {
      e.allow_link_local = it->value().get_bool();
    }
  }

  // mcp_url
  UrlCheck url;
  if (auto u = c.str(o, "mcp_url", true)) {
    url = check_url(*u, "mcp_url", e.allow_link_local);
    if (!url.ok) c.error("mcp_url", url.problem);
    e.mcp_url = *u;
  }

  // transport
  if (auto t = c.str(o, "transport", false)) {
    if (*t == "http") {
      e.transport = Transport::kHttp;
    } else if (*t == "sse") {
      e.transport = Transport::kSse;
    } else {
      c.error("transport", fmt::format("transport must be 'http' or 'sse', got '{}'", shown(*t)));
    }
  }

  // authentication
  auto auth_it = o.find("auth");
  bool has_auth = auth_it != o.end() && !auth_it->value().is_null();
  std::vector<std::string_view> cognito_present;
  for (auto f : kCognitoFields) {
    auto it = o.find(f);
    if (it != o.end() && !it->value().is_null()) cognito_present.push_back(f);
  }
  if (has_auth) {
    if (!auth_it->value().is_object()) {
      c.error("auth", fmt::format("auth must be an object, got {}",
                                  ::idp::json::kind_name(auth_it->value())));
    } else {
      check_auth_object(c, auth_it->value().get_object(), url, e);
    }
    if (!cognito_present.empty() || o.contains("cognito_client_secret")) {
      c.warn("auth", "the cognito_* fields are ignored because auth is set");
    }
  } else {
    bool want_cognito = e.transport == Transport::kHttp || !cognito_present.empty();
    if (want_cognito) {
      e.auth = AuthType::kCognito;
      CognitoCredentials cog;
      bool sse = e.transport == Transport::kSse;
      // For sse a partial set is an error that says all four or none.
      auto missing_note = [&](std::string_view f) {
        if (!o.contains(f) && sse) {
          c.error(std::string(f),
                  fmt::format("{} is missing (an sse entry needs all four cognito_* fields "
                              "or none)",
                              f));
          return true;
        }
        return false;
      };
      if (!missing_note("cognito_user_pool_id")) {
        if (auto pool = c.str(o, "cognito_user_pool_id", true)) {
          auto underscore = pool->find('_');
          bool good =
              underscore != std::string::npos && underscore > 0 && underscore + 1 < pool->size();
          if (good) {
            std::string_view region(pool->data(), underscore);
            std::string_view id(pool->data() + underscore + 1, pool->size() - underscore - 1);
            // <2 letters>-<word>(-<word>)*-<digits>
            good = region.size() >= 6 && std::isdigit(static_cast<unsigned char>(region.back())) &&
                   region.find('-') == 2 &&
                   std::all_of(region.begin(), region.end(),
                               [](char ch) {
                                 return std::islower(static_cast<unsigned char>(ch)) ||
                                        std::isdigit(static_cast<unsigned char>(ch)) || ch == '-';
                               }) &&
                   std::all_of(id.begin(), id.end(), [](char ch) {
                     return std::isalnum(static_cast<unsigned char>(ch));
                   });
          }
          if (!good) {
            c.error("cognito_user_pool_id",
                    fmt::format("cognito_user_pool_id '{}' is not a user pool id: expected "
                                "<region>_<id>, e.g. us-east-1_AbC123xyz",
                                shown(*pool)));
          }
          cog.user_pool_id = *pool;
        }
      }
      if (!missing_note("cognito_client_id")) {
        if (auto v = c.str(o, "cognito_client_id", true)) cog.client_id = *v;
      }
      if (!missing_note("cognito_username")) {
        if (auto v = c.str(o, "cognito_username", true)) cog.username = *v;
      }
      if (!missing_note("cognito_password")) {
        if (auto v = c.secret(o, "cognito_password", true)) cog.password = std::move(*v);
      }
      cog.client_secret = c.secret(o, "cognito_client_secret", false);
      e.cognito = std::move(cog);
    } else {
      e.auth = AuthType::kNone;
      if (o.contains("cognito_client_secret")) {
        c.warn("cognito_client_secret",
               "cognito_client_secret is ignored without the other cognito_* fields");
      }
      if (url.ok && !url.loopback) {
        c.warn("auth",
               "this sse entry has no credentials: the server is called without authentication");
      }
    }
  }

  // names and ids
  if (auto id = c.str(o, "agent_id", false)) {
    if (id->size() > kMaxIdChars || !id_chars_ok(*id)) {
      c.error("agent_id",
              fmt::format("agent_id '{}' may contain only letters, digits, '_' and '-' (at "
                          "most {} characters)",
                          shown(*id), kMaxIdChars));
    } else {
      e.id = *id;
    }
  }
  if (auto name = c.str(o, "agent_name", false)) {
    if (name->size() > kMaxNameChars) {
      c.error("agent_name", fmt::format("agent_name is longer than {} characters", kMaxNameChars));
    }
    e.name = *name;
  }
  if (auto d = c.str(o, "agent_description", false)) {
    if (d->size() > kMaxDescriptionChars) {
      c.error("agent_description",
              fmt::format("agent_description is longer than {} characters", kMaxDescriptionChars));
    }
    e.description = *d;
  }

  // tools
  if (auto allow = c.strings(o, "tools_allow")) {
    if (allow->empty()) {
      c.warn("tools_allow",
             "tools_allow is an empty array, so every tool is allowed; list tool names "
             "or remove it");
    }
    e.tools_allow = std::move(*allow);
  }
  if (auto deny = c.strings(o, "tools_deny")) e.tools_deny = std::move(*deny);
  if (auto prefix = c.str(o, "tool_prefix", false)) {
    if (prefix->size() > kMaxPrefixChars || !id_chars_ok(*prefix)) {
      c.error("tool_prefix",
              fmt::format("tool_prefix may contain only letters, digits, '_' and '-' (at "
                          "most {} characters)",
                          kMaxPrefixChars));
    } else {
      e.tool_prefix = *prefix;
    }
  }

  // connection
  if (auto it = o.find("timeout_seconds"); it != o.end() && !it->value().is_null()) {
    const bj::value& t = it->value();
    if (!t.is_number()) {
      c.error("timeout_seconds",
              fmt::format("timeout_seconds must be a number, got {}", ::idp::json::kind_name(t)));
    } else {
      double s = t.to_number<double>();
      if (!(s > 0)) {
        c.error("timeout_seconds", "timeout_seconds must be greater than 0");
      } else if (s > kMaxTimeoutSeconds) {
        c.error("timeout_seconds",
                fmt::format("timeout_seconds must be at most {}", kMaxTimeoutSeconds));
      } else {
        e.timeout_seconds = s;
      }
    }
  }
  if (auto it = o.find("headers"); it != o.end() && !it->value().is_null()) {
    if (!it->value().is_object()) {
      c.error("headers", fmt::format("headers must be an object of strings, got {}",
                                     ::idp::json::kind_name(it->value())));
    } else {
      for (const auto& kv : it->value().get_object()) {
        std::string name(kv.key());
        std::string field = "headers." + shown(name);
        if (!header_name_ok(name)) {
          c.error(field, fmt::format("headers: '{}' is not a valid header name", shown(name)));
          continue;
        }
        std::string lname = lower(name);
        if (std::find(std::begin(kReservedHeaders), std::end(kReservedHeaders), lname) !=
            std::end(kReservedHeaders)) {
          c.error(field,
                  fmt::format("{} is set by the MCP client and cannot be overridden", field));
          continue;
        }
        if (lname == "authorization" && e.auth != AuthType::kNone) {
          c.error(field, fmt::format("{} conflicts with the entry's {} authentication; remove one",
                                     field, to_string(e.auth)));
          continue;
        }
        if (!kv.value().is_string()) {
          c.error(field, fmt::format("{} must be a string, got {}", field,
                                     ::idp::json::kind_name(kv.value())));
          continue;
        }
        std::string_view value = kv.value().get_string();
        if (value.find_first_of("\r\n") != std::string_view::npos ||
            value.find('\0') != std::string_view::npos) {
          c.error(field, fmt::format("{} contains a line break or NUL character", field));
          continue;
        }
        e.headers.emplace_back(name, Secret(std::string(value)));
      }
    }
  }
  if (auto ca = c.str(o, "ca_file", false)) e.ca_file = *ca;

  // presentation
  if (auto q = c.strings(o, "sample_queries")) {
    e.sample_queries = std::move(*q);
  } else {
    e.sample_queries = default_sample_queries();
  }
  if (auto it = o.find("enabled"); it != o.end() && !it->value().is_null()) {
    if (!it->value().is_bool()) {
      c.error("enabled", fmt::format("enabled must be true or false, got {}",
                                     ::idp::json::kind_name(it->value())));
    } else {
      e.enabled = it->value().get_bool();
    }
  }

  if (!c.ok()) return std::nullopt;
  // The serialized entry is wiped (it holds the password) once hashed.
  Secret canonical(bj::serialize(o));
  e.fingerprint = sha256_hex(canonical.reveal());
  return e;
}

}  // namespace

const char* to_string(Severity severity) {
  return severity == Severity::kError ? "error" : "warning";
}

const char* to_string(Transport transport) {
  return transport == Transport::kHttp ? "http" : "sse";
}

const char* to_string(AuthType type) {
  switch (type) {
    case AuthType::kCognito:
      return "cognito";
    case AuthType::kOAuth2:
      return "oauth2";
    case AuthType::kOAuth2ClientCredentials:
      return "oauth2_client_credentials";
    case AuthType::kBearer:
      return "bearer";
    case AuthType::kNone:
      return "none";
  }
  return "unknown";
}

bool ValidatedSecret::has_errors() const { return error_count() > 0; }

std::size_t ValidatedSecret::error_count() const {
  return static_cast<std::size_t>(
      std::count_if(findings.begin(), findings.end(),
                    [](const Finding& f) { return f.severity == Severity::kError; }));
}

std::size_t ValidatedSecret::warning_count() const { return findings.size() - error_count(); }

const std::vector<std::string>& default_sample_queries() {
  static const std::vector<std::string> kQueries = {
      "What tools are available from the external MCP server?",
      "Help me use the external tools to solve my problem",
      "Show me what capabilities the MCP server provides",
  };
  return kQueries;
}

std::string derive_agent_id(std::string_view agent_name) {
  std::string out;
  for (char ch : agent_name) {
    auto c = static_cast<unsigned char>(ch);
    if (c == ' ') {
      out += '_';
    } else if (std::isalnum(c) || c == '_' || c == '-') {
      out += static_cast<char>(std::tolower(c));
    }
    if (out.size() >= kMaxIdChars) break;
  }
  return out;
}

bool glob_match(std::string_view pattern, std::string_view text) {
  // Iterative matcher with backtracking to the last '*'.
  std::size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool tool_allowed(const AgentEntry& entry, std::string_view tool) {
  auto matches = [&](const std::vector<std::string>& patterns) {
    return std::any_of(patterns.begin(), patterns.end(),
                       [&](const std::string& p) { return glob_match(p, tool); });
  };
  if (!entry.tools_allow.empty() && !matches(entry.tools_allow)) return false;
  return !matches(entry.tools_deny);
}

ValidatedSecret validate_secret(std::string_view text, const SecretLimits& limits) {
  ValidatedSecret out;
  auto whole = [&](std::string message) {
    out.findings.push_back(
        Finding{Finding::kWholeSecret, "", Severity::kError, std::move(message)});
  };
  if (text.size() > limits.max_bytes) {
    whole(fmt::format("the secret is {} bytes; at most {} are allowed", text.size(),
                      limits.max_bytes));
    return out;
  }
  if (blank(text)) {
    whole("the secret is empty; it must be a JSON array of servers ([] for none)");
    return out;
  }
  bj::parse_options opt;
  opt.max_depth = 32;
  bj::stream_parser parser(bj::storage_ptr(), opt);
  boost::system::error_code ec;
  std::size_t n = parser.write_some(text.data(), text.size(), ec);
  if (!ec && n < text.size()) ec = bj::error::extra_data;
  if (!ec) parser.finish(ec);
  if (ec) {
    std::string hint;
    std::string_view at = n < text.size() ? text.substr(n) : std::string_view{};
    if (at.starts_with("//") || at.starts_with("/*")) {
      hint = " (comments are not allowed in JSON: remove them)";
    } else if (ec == bj::error::incomplete || n >= text.size()) {
      hint = " (the text ends too early: a missing ] or })";
    }
    whole(fmt::format("the secret is not valid JSON: {} at {}{}", ec.message(), position(text, n),
                      hint));
    return out;
  }
  bj::value root = parser.release();
  if (root.is_object()) {
    whole("the secret holds one JSON object; wrap it in [ ] to make an array of servers");
    return out;
  }
  if (!root.is_array()) {
    whole(fmt::format("the secret must be a JSON array of servers, got {}",
                      ::idp::json::kind_name(root)));
    return out;
  }
  const bj::array& arr = root.get_array();
  std::size_t count = arr.size();
  if (count > limits.max_entries) {
    whole(fmt::format("the secret has {} entries; at most {} are allowed (the rest are ignored)",
                      count, limits.max_entries));
    count = limits.max_entries;
  }

  std::vector<AgentEntry> valid;
  for (std::size_t i = 0; i < count; ++i) {
    if (auto e = check_entry(i, arr[i], out.findings)) valid.push_back(std::move(*e));
  }

  // Ids: explicit agent_ids first (a repeated one is an error on the later entry), then derived
  // ones made unique with _2, _3, ...
  std::map<std::string, std::size_t> taken;  // id -> index of the entry holding it
  std::vector<AgentEntry> kept;
  std::vector<bool> drop(valid.size(), false);
  for (std::size_t k = 0; k < valid.size(); ++k) {
    AgentEntry& e = valid[k];
    if (e.id.empty()) continue;
    auto [it, inserted] = taken.emplace(e.id, e.index);
    if (!inserted) {
      out.findings.push_back(
          Finding{static_cast<int>(e.index), "agent_id", Severity::kError,
                  fmt::format("secret entry {}: agent_id '{}' is already used by secret entry {}",
                              e.index + 1, e.id, it->second + 1)});
      drop[k] = true;
    }
  }
  for (std::size_t k = 0; k < valid.size(); ++k) {
    if (drop[k]) continue;
    AgentEntry& e = valid[k];
    if (e.id.empty()) {
      std::string base = e.name.empty() ? std::string() : derive_agent_id(e.name);
      if (base.empty()) base = fmt::format("external-mcp-agent-{}", e.index);
      std::string id = base;
      for (int suffix = 2; taken.contains(id); ++suffix) id = fmt::format("{}_{}", base, suffix);
      e.id = id;
      taken.emplace(id, e.index);
    }
    if (e.name.empty()) e.name = fmt::format("External MCP Agent {}", e.index + 1);
    e.fingerprint = sha256_hex(e.id + "\n" + e.fingerprint);
    kept.push_back(std::move(e));
  }
  out.entries = std::move(kept);
  std::stable_sort(out.findings.begin(), out.findings.end(),
                   [](const Finding& a, const Finding& b) { return a.index < b.index; });
  return out;
}

bj::array findings_to_json(const std::vector<Finding>& findings) {
  bj::array out;
  for (const auto& f : findings) {
    bj::object o;
    if (f.index == Finding::kWholeSecret) {
      o["index"] = nullptr;
      o["entry"] = nullptr;
    } else {
      o["index"] = f.index;
      o["entry"] = f.index + 1;
    }
    o["field"] = f.field;
    o["severity"] = to_string(f.severity);
    o["message"] = f.message;
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace idp::agents
