// Fuzz target: the External MCP Agents secret (idp::agents::validate_secret), text that an
// operator writes and a secret store hands us. Checks: every finding names a real entry (or the
// whole secret) and never repeats a password, client secret, token or header value (those
// marked "SECRET", see add_secret); valid
// entries have an id of [A-Za-z0-9_-]{1,64}, a unique one, and an https:// or loopback URL.
#include <set>
#include <string>

#include "fuzz_target.h"
#include "idp/agents/secret_schema.h"
#include "idp/http/url_policy.h"

namespace {

bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// A secret value that a finding must not contain. Only values with the marker "SECRET" (the seeds'
// passwords, tokens and header values have it; no message text does) are checked: an arbitrary
// value such as "cognito_password" may appear in a finding by right, as the name of a field.
void add_secret(std::vector<std::string>& out, const idp::Secret& s, std::string_view input) {
  const std::string& v = s.reveal();
  if (v.find("SECRET") == std::string::npos) return;
  auto first = input.find(v);
  if (first == std::string_view::npos || input.find(v, first + 1) != std::string_view::npos) return;
  out.push_back(v);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  idp::agents::SecretLimits limits;
  limits.max_entries = 20;
  const std::string_view input = idp::fuzz::as_text(data, size);
  auto v = idp::agents::validate_secret(input, limits);
  std::vector<std::string> secrets;
  std::set<std::string> ids;
  for (const auto& e : v.entries) {
    IDP_FUZZ_CHECK(valid_id(e.id));
    IDP_FUZZ_CHECK(ids.insert(e.id).second);
    // A usable entry's URL passes the policy, link-local only when the entry allowed it.
    IDP_FUZZ_CHECK(idp::http::check_url(e.mcp_url, "mcp_url",
                                        idp::http::UrlRules{.allow_link_local = e.allow_link_local})
                       .has_value());
    if (e.cognito) {
      add_secret(secrets, e.cognito->password, input);
      if (e.cognito->client_secret) add_secret(secrets, *e.cognito->client_secret, input);
    }
    if (e.oauth) add_secret(secrets, e.oauth->client_secret, input);
    if (e.oauth2) {
      add_secret(secrets, e.oauth2->client_secret, input);
      add_secret(secrets, e.oauth2->private_key, input);
    }
    if (e.bearer_token) add_secret(secrets, *e.bearer_token, input);
    for (const auto& [name, value] : e.headers) add_secret(secrets, value, input);
    (void)idp::agents::tool_allowed(e, "calculator");
  }
  for (const auto& f : v.findings) {
    IDP_FUZZ_CHECK(f.index == idp::agents::Finding::kWholeSecret ||
                   (f.index >= 0 && static_cast<std::size_t>(f.index) < limits.max_entries));
    IDP_FUZZ_CHECK(!f.message.empty());
    for (const auto& s : secrets) IDP_FUZZ_CHECK(f.message.find(s) == std::string::npos);
  }
  (void)idp::agents::findings_to_json(v.findings);
  return 0;
}
