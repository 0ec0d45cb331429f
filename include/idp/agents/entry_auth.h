// How a secret entry authenticates to its MCP server, as the objects that do it: the HTTP client
// options of everything the entry reaches (its CA file, whether link-local addresses are
// allowed) and the token provider of its auth type (Cognito USER_PASSWORD_AUTH, MCP
// authorization with a pre-registered client, OAuth client credentials at a fixed token URL, a
// static bearer token, none). Used by the agent registry and by `idp-agents doctor`, so both
// reach a server the same way. Pure functions; the providers are thread-safe.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <memory>
#include <string>

#include "idp/agents/secret_schema.h"
#include "idp/http/client.h"
#include "idp/mcp/client.h"

namespace idp::agents {

// `base` with the entry's ca_file and allow_link_local applied.
http::ClientOptions entry_http_options(const AgentEntry& entry, http::ClientOptions base);

// The token provider for the entry's auth type (null for none). `base`: the HTTP options
// before the entry's (oauth2 applies entry_http_options, since it reads metadata from the MCP
// server; Cognito keeps `base`). `cognito_endpoint` overrides the regional Cognito endpoint
// ("" : the real one).
std::shared_ptr<mcp::TokenProvider> make_token_provider(const AgentEntry& entry,
                                                        boost::asio::any_io_executor executor,
                                                        const http::ClientOptions& base,
                                                        const std::string& cognito_endpoint);

}  // namespace idp::agents
