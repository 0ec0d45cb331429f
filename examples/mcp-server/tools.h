// The example server's tools, registered through idp::mcp::ServerGuard so that each call is
// validated (schema and formats), rate-limited, audited and counted:
//   calculator {expression}                      arithmetic (calculator.h)
//   get_client_address {client_id}               a client's postal address from the database
//   send_verification_email {client_id | email, subject?, idempotency_key?}
//                                                queues a verification e-mail in the outbox
//   list_outbox {status?, limit?}                the caller's outbox messages
//   summarize_document {text}                    a slow summary that runs as an MCP task when
//                                                the client supports tasks (summarize.h)
// Their names, parameters and structuredContent fields are a contract: the offline planner of
// idp-agents is tested against them.
#pragma once

#include <chrono>
#include <expected>
#include <string>
#include <string_view>

#include "idp/mcp/server_guard.h"
#include "mailer.h"
#include "store.h"

namespace example {

inline constexpr std::string_view kToolNames[] = {"calculator", "get_client_address",
                                                  "send_verification_email", "list_outbox",
                                                  "summarize_document"};

// `mailer` may be null (no --smtp): messages then stay queued. summarize_document takes
// `summarize_delay` per document.
std::expected<void, std::string> add_tools(idp::mcp::ServerGuard& guard, Store& store,
                                           Mailer* mailer,
                                           std::chrono::milliseconds summarize_delay);

}  // namespace example
