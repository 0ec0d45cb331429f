// Groups of LocalCognito's pools: CreateGroup, AdminAddUserToGroup and the `cognito:groups`
// claim that the tokens of a member carry, with Cognito's validation messages and errors.
#include <boost/json/array.hpp>

#include <algorithm>
#include <limits>

#include "idp/core/json_util.h"
#include "idp/core/log.h"
#include "local_cognito_api.h"

namespace idp::auth::local {

namespace bj = boost::json;

namespace {

constexpr std::size_t kMaxGroupName = 128;
constexpr std::size_t kMaxDescription = 2048;

// Cognito's GroupName pattern is [\p{L}\p{M}\p{S}\p{N}\p{P}]+: no spaces or control characters.
bool valid_group_name(std::string_view name) {
  return std::none_of(name.begin(), name.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f;
  });
}

ApiError constraint(std::string_view member, std::string_view value, std::string_view what) {
  return invalid("1 validation error detected: Value '" + std::string(value) + "' at '" +
                 std::string(member) + "' failed to satisfy constraint: " + std::string(what));
}

bj::object group_json(const std::string& pool_id, const Group& g) {
  bj::object o;
  o["GroupName"] = g.name;
  o["UserPoolId"] = pool_id;
  if (!g.description.empty()) o["Description"] = g.description;
  if (!g.role_arn.empty()) o["RoleArn"] = g.role_arn;
  if (g.precedence) o["Precedence"] = *g.precedence;
  o["LastModifiedDate"] = g.modified;
  o["CreationDate"] = g.created;
  return o;
}

}  // namespace

bj::array groups_claim(const Pool& pool, const User& u) {
  std::vector<const Group*> groups;
  for (const auto& name : u.groups) {
    if (auto it = pool.groups.find(name); it != pool.groups.end()) groups.push_back(&it->second);
  }
  std::ranges::sort(groups, [](const Group* a, const Group* b) {
    auto rank = [](const Group* g) {
      return g->precedence.value_or(std::numeric_limits<std::int64_t>::max());
    };
    if (rank(a) != rank(b)) return rank(a) < rank(b);
    return a->name < b->name;
  });
  bj::array out;
  for (const Group* g : groups) out.push_back(bj::string(g->name));
  return out;
}

ApiResult<bj::object> Api::create_group(const bj::object& in) {
  auto pool_id = required_string(in, "UserPoolId");
  if (!pool_id) return std::unexpected(pool_id.error());
  auto name = required_string(in, "GroupName");
  if (!name) return std::unexpected(name.error());
  if (name->size() > kMaxGroupName) {
    return std::unexpected(
        constraint("groupName", *name, "Member must have length less than or equal to 128"));
  }
  if (!valid_group_name(*name)) {
    return std::unexpected(constraint(
        "groupName", *name,
        "Member must satisfy regular expression pattern: [\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}]+"));
  }
  Group g;
  g.name = *name;
  if (const bj::value* d = in.if_contains("Description")) {
    if (!d->is_string()) return std::unexpected(invalid("Description must be a string"));
    g.description = std::string(d->get_string());
    if (g.description.size() > kMaxDescription) {
      return std::unexpected(invalid(
          "1 validation error detected: Value at 'description' failed to satisfy constraint: "
          "Member must have length less than or equal to 2048"));
    }
  }
  if (const bj::value* p = in.if_contains("Precedence"); p && !p->is_null()) {
    if (!p->is_int64() && !p->is_uint64()) {
      return std::unexpected(invalid("Precedence must be an integer"));
    }
    std::int64_t v = p->is_int64() ? p->get_int64() : -1;
    if (v < 0 || v > std::numeric_limits<std::int32_t>::max()) {
      return std::unexpected(invalid(
          "1 validation error detected: Value '" + ::idp::json::serialize(*p) +
          "' at 'precedence' failed to satisfy constraint: Member must have value greater than "
          "or equal to 0 and less than or equal to 2147483647"));
    }
    g.precedence = v;
  }
  if (const bj::string* role = ::idp::json::find_string(in, "RoleArn")) {
    g.role_arn = std::string(*role);
  }
  std::lock_guard lock(mu_);
  auto p = pool_locked(*pool_id);
  if (!p) return std::unexpected(p.error());
  if ((*p)->groups.contains(g.name)) {
    return std::unexpected(
        ApiError{"GroupExistsException", "A group with the name " + g.name + " already exists."});
  }
  g.created = g.modified = now_s();
  bj::object out;
  out["Group"] = group_json(*pool_id, g);
  (*p)->groups.emplace(g.name, std::move(g));
  writer_->changed();
  log::info("local-cognito: created group {} in pool {}", *name, *pool_id);
  return out;
}

ApiResult<bj::object> Api::admin_add_user_to_group(const bj::object& in) {
  auto pool_id = required_string(in, "UserPoolId");
  if (!pool_id) return std::unexpected(pool_id.error());
  auto username = required_string(in, "Username");
  if (!username) return std::unexpected(username.error());
  auto group = required_string(in, "GroupName");
  if (!group) return std::unexpected(group.error());
  std::lock_guard lock(mu_);
  auto p = pool_locked(*pool_id);
  if (!p) return std::unexpected(p.error());
  auto u = user_locked(**p, *username);
  if (!u) return std::unexpected(u.error());
  if (!(*p)->groups.contains(*group)) {
    return std::unexpected(ApiError{"ResourceNotFoundException", "Group not found."});
  }
  auto& groups = (*u)->groups;
  if (std::ranges::find(groups, *group) == groups.end()) {  // adding twice changes nothing
    groups.push_back(*group);
    (*u)->modified = now_s();
    writer_->changed();
    log::info("local-cognito: added user {} to group {} in pool {}", (*u)->username, *group,
              *pool_id);
  }
  return bj::object{};
}

}  // namespace idp::auth::local
