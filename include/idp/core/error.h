// idp::Error is the error type that crosses module boundaries, carried in
// std::expected<T, Error> (alias idp::Result<T>). It has a stable machine code, a message a
// user can act on ("secret entry 2: cognito_client_id is missing"), and optional details.
// Immutable value type; safe to copy between threads.
#pragma once

#include <expected>
#include <string>
#include <utility>

namespace idp {

enum class ErrorCode {
  kInvalidArgument,   // the caller passed something malformed
  kNotFound,          // a named thing does not exist
  kPermissionDenied,  // the caller is not allowed
  kUnauthenticated,   // credentials missing or invalid
  kUnavailable,       // a peer cannot be reached right now; retrying may help
  kTimeout,           // a deadline passed
  kProtocol,          // a peer violated its protocol (bad HTTP, bad JSON-RPC, ...)
  kResourceExhausted, // a limit was hit
  kCancelled,         // the operation was cancelled
  kInternal,          // a bug on our side
};

// Stable lowercase name of a code ("invalid_argument"), for logs and JSON.
const char* to_string(ErrorCode code);

class Error {
 public:
  Error(ErrorCode code, std::string message, std::string details = {})
      : code_(code), message_(std::move(message)), details_(std::move(details)) {}

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::string& details() const { return details_; }

  // "message (details)" or just the message.
  std::string to_string() const;

  // Returns a copy whose message is prefixed with `context: ` (e.g. "secret entry 2").
  Error with_context(std::string_view context) const;

 private:
  ErrorCode code_;
  std::string message_;
  std::string details_;
};

template <class T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> make_error(ErrorCode code, std::string message,
                                         std::string details = {}) {
  return std::unexpected<Error>(Error(code, std::move(message), std::move(details)));
}

}  // namespace idp
