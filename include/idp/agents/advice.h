// What to do about an agent that is not ready or a problem of the secret: the fixes the seed's
// troubleshooting guide gives, written once for `idp-agents doctor` (one per failed step), the
// service's agents status (one per agent and per finding) and anything else that explains a
// failure to an operator. Pure functions and constants; thread-safe.
#pragma once

#include <string>

#include "idp/agents/registry.h"
#include "idp/agents/secret_schema.h"

namespace idp::agents::advice {

inline constexpr const char* kNetwork =
    "Verify the MCP server is running and reachable from here (host, port, firewall); remote "
    "servers must be reachable over HTTPS";
inline constexpr const char* kTls =
    "The server's certificate must be valid for this host name and signed by a trusted CA; for "
    "a private CA set ca_file in the entry";
inline constexpr const char* kCognito =
    "Verify the Cognito user pool id and app client id; make sure the username and password are "
    "valid and the user is confirmed; check that the app client allows USER_PASSWORD_AUTH";
inline constexpr const char* kInitialize =
    "Check that the server accepts the Streamable HTTP transport (set \"transport\": \"sse\" for "
    "servers of the older HTTP+SSE transport) and that it validates this pool's tokens (a 401 "
    "means it rejected the token: its issuer and client id settings must match the pool)";
inline constexpr const char* kTools =
    "Verify the MCP server implements tools/list correctly and its tools are registered; review "
    "the server's logs; check tools_allow / tools_deny in the entry";

// The fix for an agent that is not ready, read from its status and reason ("" when ready).
std::string fix_for(const AgentInfo& agent);
// The fix for one finding of the secret check ("" for a warning that needs none).
std::string fix_for(const Finding& finding);

}  // namespace idp::agents::advice
