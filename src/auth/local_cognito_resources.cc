// The OAuth administration side of LocalCognito's API: resource servers (CreateResourceServer,
// DescribeResourceServer, ListResourceServers, DeleteResourceServer) with their custom scopes,
// and the OAuth settings of app clients (AllowedOAuthFlows, AllowedOAuthScopes,
// AllowedOAuthFlowsUserPoolClient), checked as Cognito checks them.
#include <boost/json/array.hpp>

#include <algorithm>

#include "idp/core/json_util.h"
#include "idp/core/log.h"
#include "local_cognito_api.h"

namespace idp::auth::local {

namespace bj = boost::json;

namespace {

constexpr std::size_t kMaxScopes = 100;
constexpr std::int64_t kMaxListResults = 50;

// Cognito's standard scopes: allowed for the code and implicit flows, not for client_credentials.
constexpr std::string_view kStandardScopes[] = {"openid", "email", "phone", "profile",
                                                "aws.cognito.signin.user.admin"};

bool is_standard_scope(std::string_view s) {
  return std::find(std::begin(kStandardScopes), std::end(kStandardScopes), s) !=
         std::end(kStandardScopes);
}

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Printable ASCII without the characters Cognito's patterns leave out (`"`, `\`, and for scope
// names `/`), 1-256 characters.
bool valid_name(std::string_view s, bool allow_slash) {
  if (s.empty() || s.size() > 256) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) {
    return c >= 0x21 && c <= 0x7E && c != '"' && c != '\\' && (allow_slash || c != '/');
  });
}

ApiError invalid_flow(std::string message) {
  return ApiError{"InvalidOAuthFlowException", std::move(message)};
}

// A list member of strings ("AllowedOAuthFlows"), empty when absent.
ApiResult<std::vector<std::string>> string_list(const bj::object& in, std::string_view name) {
  std::vector<std::string> out;
  const bj::value* v = in.if_contains(name);
  if (!v || v->is_null()) return out;
  if (!v->is_array()) return std::unexpected(invalid(std::string(name) + " must be a list of strings"));
  for (const auto& e : v->as_array()) {
    if (!e.is_string()) return std::unexpected(invalid(std::string(name) + " must be a list of strings"));
    if (!contains(out, std::string_view(e.as_string()))) out.emplace_back(e.as_string());
  }
  return out;
}

bj::object resource_server_json(const std::string& pool_id, const ResourceServer& r) {
  bj::array scopes;
  for (const auto& [n, d] : r.scopes) {
    scopes.push_back(bj::object{{"ScopeName", n}, {"ScopeDescription", d}});
  }
  return bj::object{{"UserPoolId", pool_id},
                    {"Identifier", r.identifier},
                    {"Name", r.name},
                    {"Scopes", std::move(scopes)}};
}

}  // namespace

std::vector<std::string> custom_scopes(const Pool& p) {
  std::vector<std::string> out;
  for (const auto& [id, r] : p.resource_servers) {
    for (const auto& [n, d] : r.scopes) out.push_back(id + "/" + n);
  }
  return out;
}

ApiResult<void> Api::read_oauth_settings(const bj::object& in, Client& c) {
  auto flows = string_list(in, "AllowedOAuthFlows");
  if (!flows) return std::unexpected(flows.error());
  auto scopes = string_list(in, "AllowedOAuthScopes");
  if (!scopes) return std::unexpected(scopes.error());
  for (const auto& f : *flows) {
    if (f != "code" && f != "implicit" && f != "client_credentials") {
      return std::unexpected(invalid(
          "1 validation error detected: Value '[" + f +
          "]' at 'allowedOAuthFlows' failed to satisfy constraint: Member must satisfy enum value "
          "set: [implicit, client_credentials, code]"));
    }
  }
  if (flows->size() > 1 && contains(*flows, "client_credentials")) {
    return std::unexpected(
        invalid_flow("client_credentials flow can not be selected along with code flow or "
                     "implicit flow."));
  }
  if (contains(*flows, "client_credentials") && !c.secret) {
    return std::unexpected(invalid_flow(
        "client_credentials flow can not be selected if client does not have a client secret."));
  }
  if (scopes->size() > kMaxScopes) {
    return std::unexpected(invalid("AllowedOAuthScopes: at most 100 scopes"));
  }
  c.oauth_flows = std::move(*flows);
  c.oauth_scopes = std::move(*scopes);
  c.oauth_enabled = json::find_bool(in, "AllowedOAuthFlowsUserPoolClient").value_or(false);
  if (c.oauth_enabled && c.oauth_flows.empty()) {
    return std::unexpected(invalid_flow(
        "AllowedOAuthFlowsUserPoolClient is true but no AllowedOAuthFlows are given."));
  }
  return {};
}

ApiResult<void> Api::check_oauth_settings_locked(const Pool& p, const Client& c) {
  const std::vector<std::string> custom = custom_scopes(p);
  const bool m2m = contains(c.oauth_flows, "client_credentials");
  for (const auto& s : c.oauth_scopes) {
    if (is_standard_scope(s)) {
      if (m2m) {
        return std::unexpected(invalid_flow("client_credentials flow can only be used with custom "
                                            "scopes (from a resource server); " + s +
                                            " is a standard scope."));
      }
      continue;
    }
    if (!contains(custom, s)) {
      return std::unexpected(
          ApiError{"ScopeDoesNotExistException", "Invalid scope requested: " + s});
    }
  }
  if (m2m && c.oauth_scopes.empty()) {
    return std::unexpected(invalid_flow(
        "client_credentials flow needs at least one custom scope in AllowedOAuthScopes."));
  }
  return {};
}

ApiResult<bj::object> Api::create_resource_server(const bj::object& in) {
  auto pool_id = required_string(in, "UserPoolId");
  if (!pool_id) return std::unexpected(pool_id.error());
  auto identifier = required_string(in, "Identifier");
  if (!identifier) return std::unexpected(identifier.error());
  auto name = required_string(in, "Name");
  if (!name) return std::unexpected(name.error());
  if (!valid_name(*identifier, true)) {
    return std::unexpected(invalid("Identifier " + *identifier +
                                   ": 1-256 printable characters without quotes or backslashes"));
  }
  ResourceServer r;
  r.identifier = *identifier;
  r.name = *name;
  if (const bj::value* sv = in.if_contains("Scopes"); sv && !sv->is_null()) {
    if (!sv->is_array()) return std::unexpected(invalid("Scopes must be a list"));
    if (sv->as_array().size() > kMaxScopes) return std::unexpected(invalid("Scopes: at most 100"));
    for (const auto& e : sv->as_array()) {
      const bj::object* o = e.if_object();
      const bj::string* n = o ? json::find_string(*o, "ScopeName") : nullptr;
      const bj::string* d = o ? json::find_string(*o, "ScopeDescription") : nullptr;
      if (!n || !d) {
        return std::unexpected(invalid("Scopes entries need ScopeName and ScopeDescription"));
      }
      if (!valid_name(*n, false)) {
        return std::unexpected(invalid("ScopeName " + std::string(*n) +
                                       ": 1-256 printable characters without /, quotes or "
                                       "backslashes"));
      }
      for (const auto& [have, unused] : r.scopes) {
        if (have == *n) return std::unexpected(invalid("Duplicate ScopeName " + have));
      }
      r.scopes.emplace_back(std::string(*n), std::string(*d));
    }
  }
  std::lock_guard lock(mu_);
  auto p = pool_locked(*pool_id);
  if (!p) return std::unexpected(p.error());
  if ((*p)->resource_servers.contains(r.identifier)) {
    return std::unexpected(invalid("A resource server with identifier " + r.identifier +
                                   " already exists in user pool " + *pool_id + "."));
  }
  bj::object out{{"ResourceServer", resource_server_json(*pool_id, r)}};
  log::info("local-cognito: created resource server {} ({} scopes) in pool {}", r.identifier,
            r.scopes.size(), *pool_id);
  std::string key = r.identifier;
  (*p)->resource_servers.emplace(std::move(key), std::move(r));
  writer_->changed();
  return out;
}

ApiResult<bj::object> Api::describe_resource_server(const bj::object& in) {
  auto pool_id = required_string(in, "UserPoolId");
  if (!pool_id) return std::unexpected(pool_id.error());
  auto identifier = required_string(in, "Identifier");
  if (!identifier) return std::unexpected(identifier.error());
  std::lock_guard lock(mu_);
  auto p = pool_locked(*pool_id);
  if (!p) return std::unexpected(p.error());
  auto it = (*p)->resource_servers.find(*identifier);
  if (it == (*p)->resource_servers.end()) {
    return std::unexpected(ApiError{"ResourceNotFoundException",
                                    "Resource server " + *identifier + " does not exist."});
  }
  return bj::object{{"ResourceServer", resource_server_json(*pool_id, it->second)}};
}

// Pages in identifier order; NextToken is the last identifier of the page before.
ApiResult<bj::object> Api::list_resource_servers(const bj::object& in) {
  auto pool_id = required_string(in, "UserPoolId");
  if (!pool_id) return std::unexpected(pool_id.error());
  std::int64_t max = kMaxListResults;
  if (auto m = json::find_number(in, "MaxResults")) {
    if (*m < 1 || *m > kMaxListResults) {
      return std::unexpected(invalid("MaxResults must be between 1 and 50"));
    }
    max = static_cast<std::int64_t>(*m);
  }
  const bj::string* next = json::find_string(in, "NextToken");
  std::lock_guard lock(mu_);
  auto p = pool_locked(*pool_id);
  if (!p) return std::unexpected(p.error());
  const auto& servers = (*p)->resource_servers;
  auto it = next ? servers.upper_bound(std::string(*next)) : servers.begin();
  bj::array page;
  for (; it != servers.end() && static_cast<std::int64_t>(page.size()) < max; ++it) {
    page.push_back(resource_server_json(*pool_id, it->second));
  }
  bj::object out{{"ResourceServers", std::move(page)}};
  if (it != servers.end()) out["NextToken"] = std::prev(it)->first;
  return out;
}

ApiResult<bj::object> Api::delete_resource_server(const bj::object& in) {
  auto pool_id = required_string(in, "UserPoolId");
  if (!pool_id) return std::unexpected(pool_id.error());
  auto identifier = required_string(in, "Identifier");
  if (!identifier) return std::unexpected(identifier.error());
  std::lock_guard lock(mu_);
  auto p = pool_locked(*pool_id);
  if (!p) return std::unexpected(p.error());
  if ((*p)->resource_servers.erase(*identifier) == 0) {
    return std::unexpected(ApiError{"ResourceNotFoundException",
                                    "Resource server " + *identifier + " does not exist."});
  }
  writer_->changed();
  return bj::object{};
}

}  // namespace idp::auth::local
