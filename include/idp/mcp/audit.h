// idp::mcp::AuditLog writes one JSON line per audited event of an MCP server: every tool call,
// every refused request and every rate-limited request (ServerGuard produces the records). A
// line holds who (sub, username, client_id, or the peer address), what (method, tool, the names
// of the arguments and a SHA-256 digest of their canonical JSON), the outcome and how long it
// took; never a token and never an argument value, so the log can be kept and shipped without
// becoming a store of personal data. The digest lets an investigator confirm that a call had
// given arguments without the log revealing them.
//
// Sinks: a file, rotated by size (path -> path.1 -> ... -> path.<keep>, the oldest dropped), or
// standard output. Each line is written with one write(2) on a file opened with O_APPEND, so
// lines never interleave, and a crash loses at most the line being written.
// Thread-safe: write() may be called from any thread.
#pragma once

#include <boost/json/value.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "idp/core/error.h"

namespace idp::mcp {

enum class AuditOutcome { kOk, kToolError, kInvalid, kDenied, kRateLimited };
// "ok", "tool_error", "invalid", "denied", "rate_limited".
const char* to_string(AuditOutcome outcome);

struct AuditRecord {
  std::chrono::system_clock::time_point time = std::chrono::system_clock::now();
  std::string trace_id;
  std::string sub, username, client_id;  // of the verified token; empty when none
  std::string peer;                      // remote address
  std::string session;                   // Mcp-Session-Id; empty when none
  std::string method;                    // "tools/call", "initialize", ...
  std::string tool;                      // tools/call only
  std::vector<std::string> argument_names;
  std::string arguments_sha256;  // hex digest of canonical_json(arguments); tools/call
  AuditOutcome outcome = AuditOutcome::kOk;
  // A short reason from a fixed vocabulary of our own code ("invalid_token", "tool_calls 5/min",
  // "format"), never text taken from the request.
  std::string detail;
  std::chrono::microseconds duration{0};
};

// JSON with object members sorted by key and no insignificant white space (RFC 8785's ordering,
// with Boost.JSON's number formatting): equal arguments give equal text, whatever their order.
std::string canonical_json(const boost::json::value& value);

// The record as one JSON object, without the trailing newline.
std::string to_json_line(const AuditRecord& record);

struct AuditFileOptions {
  std::uint64_t max_bytes = 10 * 1024 * 1024;  // rotate before a line would pass this size
  int keep = 5;                                // rotated files kept (path.1 .. path.<keep>)
};

class AuditLog {
 public:
  // Opens (creating, mode 0600) `path` for appending. The error names the path and the reason.
  static Result<std::shared_ptr<AuditLog>> open_file(const std::string& path,
                                                     AuditFileOptions options = {});
  // Lines to standard output (e.g. for a container's log collector).
  static std::shared_ptr<AuditLog> to_stdout();
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Writes the record as one line. A failing write is reported once on the process log and
  // counted; the server keeps serving.
  void write(const AuditRecord& record);

  std::uint64_t lines_written() const;
  std::uint64_t write_failures() const;
  const std::string& path() const;  // empty for stdout

 private:
  struct Impl;
  explicit AuditLog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace idp::mcp
