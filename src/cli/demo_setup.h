// The embedded defaults of `idp-agents demo`: the pools of its local identity provider (one for
// the MCP servers' service user, one for the web users), random passwords that meet the pools'
// policy, and the agents' secret file.
#pragma once

#include <boost/json/array.hpp>

#include <string>
#include <string_view>

#include "idp/auth/local_cognito.h"
#include "idp/core/error.h"
#include "idp/core/secret.h"

namespace idp::cli {

struct DemoPool {
  std::string id;
  std::string client_id;
};

// A pool named `pool_name`, an app client allowing USER_PASSWORD_AUTH and REFRESH_TOKEN_AUTH
// (no secret), and the confirmed user `username` with `password`, through the provider's
// Cognito API. The error names the operation that failed.
Result<DemoPool> make_demo_pool(auth::LocalCognito& idp, std::string_view pool_name,
                                std::string_view client_name, std::string_view username,
                                const Secret& password);

// A new random password (upper and lower case letters, digits, a symbol).
Secret demo_password();

// Writes the secret (a JSON array) to `path`, created with mode 0600 from the start: it holds a
// password. The error names the file.
Result<void> write_secret_file(const std::string& path, const boost::json::array& secret);

}  // namespace idp::cli
