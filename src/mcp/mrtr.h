// Private: the server side of 2026-07-28 multi round-trip requests (MRTR): the requestState
// codec and the bookkeeping of one round. A server that asks the client for input returns an
// InputRequiredResult with a requestState; the client sends it back unchanged with the answers,
// and the server must trust nothing in it that it did not sign. The state is
//
//   base64url(payload) "." base64url(HMAC-SHA256(key, base64url(payload)))
//
// and the payload binds the method, the target (tool or prompt name, resource URI), a digest of
// the arguments, a digest of the caller's subject and an expiry, and carries the answers the
// handler has used so far (a later round's retry brings only that round's answers).
// The codec is pure and thread-safe; a round's functions touch only the request given.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <optional>

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

#include "idp/mcp/tool_context.h"
#include "request_state.h"

namespace idp::mcp {

// What a round is about: a state is accepted only for the same target and caller.
struct RoundTarget {
  std::string_view method;               // "tools/call", "prompts/get", "resources/read"
  std::string_view target;               // the tool or prompt name, or the resource URI
  const json::object* params = nullptr;  // the request's params ("arguments" is digested)
  const Identity* identity = nullptr;    // the subject of an authenticated caller is digested
};

// The signed state carrying `responses`, valid until `expires_unix` (seconds since the epoch).
std::string encode_request_state(std::string_view key, const RoundTarget& target,
                                 const json::object& responses, std::int64_t expires_unix);

// The answers a state carries, or why it is refused (altered or signed with another key,
// malformed, for another method/target/arguments/caller, or expired at `now_unix`). The
// messages are meant for the client and name what to do.
std::expected<json::object, std::string> decode_request_state(std::string_view key,
                                                              const RoundTarget& target,
                                                              std::string_view state,
                                                              std::int64_t now_unix);

// A round of a 2026-07-28 tools/call, prompts/get or resources/read, around its handler.
struct Round {
  std::string_view key;  // the HMAC key
  std::chrono::seconds ttl;
  const json::value* server_info = nullptr;  // for the result's _meta; null: none

  // Reads params.inputResponses and params.requestState into the request; the message of the
  // -32602 error when they are malformed or the state is refused.
  std::optional<std::string> begin(RequestState& rs, const RoundTarget& t,
                                   const json::object& params) const;
  // After the handler: the -32021 error when it needed an undeclared client capability, the
  // InputRequiredResult when it asked questions, nullopt when its own result stands.
  std::optional<std::string> end(RequestState& rs, const RoundTarget& t) const;
};

}  // namespace idp::mcp
