// The CLI's token file (--token-file PATH of `auth login`, `tools` and `call`): the MCP
// authorization tokens of one server kept between runs, as JSON, mode 0600. A file that group or
// others may read (or that belongs to another user) is refused, not read, with an error that
// says how to fix it: it holds bearer tokens. Thread-safe (no shared state).
#pragma once

#include <optional>
#include <string>

#include "idp/auth/mcp_oauth.h"
#include "idp/core/error.h"

namespace idp::cli {

using SavedTokens = auth::McpOAuthProvider::SavedTokens;

// nullopt when `path` does not exist; an error naming the path when it cannot be used.
Result<std::optional<SavedTokens>> read_token_file(const std::string& path);
// Writes (replaces) `path` atomically with mode 0600.
Result<void> write_token_file(const std::string& path, const SavedTokens& tokens);

}  // namespace idp::cli
