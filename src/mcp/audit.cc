#include "idp/mcp/audit.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "idp/core/clock.h"
#include "idp/core/log.h"

namespace idp::mcp {

namespace bj = boost::json;

const char* to_string(AuditOutcome outcome) {
  switch (outcome) {
    case AuditOutcome::kOk:
      return "ok";
    case AuditOutcome::kToolError:
      return "tool_error";
    case AuditOutcome::kInvalid:
      return "invalid";
    case AuditOutcome::kDenied:
      return "denied";
    case AuditOutcome::kRateLimited:
      return "rate_limited";
  }
  return "unknown";
}

namespace {

// `s` as a JSON string, escaped exactly as Boost.JSON's serializer does (so that the canonical
// text, and with it every digest, stays what it was): \" \\ \b \f \n \r \t, other control
// characters as \u00xx, everything else as it is.
void put_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  std::size_t plain = 0;  // start of the run of characters that need no escape
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto u = static_cast<unsigned char>(s[i]);
    if (u >= 0x20 && u != '"' && u != '\\') continue;
    out.append(s.data() + plain, i - plain);
    plain = i + 1;
    switch (u) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += "\\u00";
        out += kHex[u >> 4];
        out += kHex[u & 15];
    }
  }
  out.append(s.data() + plain, s.size() - plain);
  out += '"';
}

void canonical(const bj::value& v, std::string& out) {
  if (const auto* o = v.if_object()) {
    std::vector<const bj::key_value_pair*> members;
    members.reserve(o->size());
    for (const auto& kv : *o) members.push_back(&kv);
    std::sort(members.begin(), members.end(),
              [](const auto* a, const auto* b) { return a->key() < b->key(); });
    out += '{';
    for (std::size_t i = 0; i < members.size(); ++i) {
      if (i) out += ',';
      put_string(out, members[i]->key());
      out += ':';
      canonical(members[i]->value(), out);
    }
    out += '}';
  } else if (const auto* a = v.if_array()) {
    out += '[';
    for (std::size_t i = 0; i < a->size(); ++i) {
      if (i) out += ',';
      canonical((*a)[i], out);
    }
    out += ']';
  } else if (const auto* str = v.if_string()) {
    put_string(out, *str);
  } else {
    out += bj::serialize(v);
  }
}

// ,"key":"value"
void put_member(std::string& out, std::string_view key, std::string_view value) {
  out += ",\"";
  out += key;
  out += "\":";
  put_string(out, value);
}

}  // namespace

std::string canonical_json(const bj::value& value) {
  std::string out;
  canonical(value, out);
  return out;
}

std::string to_json_line(const AuditRecord& r) {
  auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(r.time.time_since_epoch()).count();
  char frac[16];
  std::snprintf(frac, sizeof frac, ".%06lldZ", static_cast<long long>(us % 1'000'000));
  // Written directly (no JSON tree): the audit line is on every tool call's path.
  std::string o;
  o.reserve(384 + r.sub.size() + r.username.size() + r.client_id.size());
  o += "{\"time\":\"";
  o += format_utc(r.time, "%Y-%m-%dT%H:%M:%S");
  o += frac;
  o += '"';
  put_member(o, "trace_id", r.trace_id);
  put_member(o, "sub", r.sub);
  put_member(o, "username", r.username);
  put_member(o, "client_id", r.client_id);
  put_member(o, "peer", r.peer);
  put_member(o, "session", r.session);
  put_member(o, "method", r.method);
  if (!r.tool.empty()) put_member(o, "tool", r.tool);
  if (r.method == "tools/call") {
    o += ",\"argument_names\":[";
    for (std::size_t i = 0; i < r.argument_names.size(); ++i) {
      if (i) o += ',';
      put_string(o, r.argument_names[i]);
    }
    o += ']';
    put_member(o, "arguments_sha256", r.arguments_sha256);
  }
  put_member(o, "outcome", to_string(r.outcome));
  if (!r.detail.empty()) put_member(o, "detail", r.detail);
  o += ",\"duration_ms\":";
  char ms[32];
  auto [end, ec] =
      std::to_chars(ms, ms + sizeof ms, static_cast<double>(r.duration.count()) / 1000.0);
  o.append(ms, ec == std::errc() ? end : ms);
  o += '}';
  return o;
}

struct AuditLog::Impl {
  std::string path;
  AuditFileOptions options;
  std::mutex mu;
  int fd = -1;
  bool own_fd = false;
  std::uint64_t size = 0;
  std::atomic<std::uint64_t> lines{0}, failures{0};
  bool reported = false;

  ~Impl() {
    if (own_fd && fd >= 0) ::close(fd);
  }

  Result<void> open() {
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
      return make_error(ErrorCode::kUnavailable,
                        "cannot open audit log " + path + ": " + std::strerror(errno),
                        "check that the folder exists and is writable");
    }
    own_fd = true;
    struct stat st {};
    size = ::fstat(fd, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
    return {};
  }

  // path.<keep> is dropped, path.<i> becomes path.<i+1>, path becomes path.1.
  void rotate() {
    ::close(fd);
    fd = -1;
    for (int i = options.keep - 1; i >= 1; --i) {
      std::string from = path + "." + std::to_string(i), to = path + "." + std::to_string(i + 1);
      std::rename(from.c_str(), to.c_str());
    }
    if (options.keep >= 1) {
      std::rename(path.c_str(), (path + ".1").c_str());
    } else {
      ::unlink(path.c_str());
    }
    if (!open()) fd = -1;
    size = 0;
  }
};

AuditLog::AuditLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AuditLog::~AuditLog() = default;

Result<std::shared_ptr<AuditLog>> AuditLog::open_file(const std::string& path,
                                                      AuditFileOptions options) {
  if (path.empty()) return make_error(ErrorCode::kInvalidArgument, "audit log path is empty");
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->options = options;
  if (auto r = impl->open(); !r) return std::unexpected(r.error());
  return std::shared_ptr<AuditLog>(new AuditLog(std::move(impl)));
}

std::shared_ptr<AuditLog> AuditLog::to_stdout() {
  auto impl = std::make_unique<Impl>();
  impl->fd = STDOUT_FILENO;
  return std::shared_ptr<AuditLog>(new AuditLog(std::move(impl)));
}

void AuditLog::write(const AuditRecord& record) {
  std::string line = to_json_line(record);
  line += '\n';
  Impl& I = *impl_;
  std::lock_guard lock(I.mu);
  if (I.own_fd && I.size > 0 && I.size + line.size() > I.options.max_bytes) I.rotate();
  bool ok = I.fd >= 0;
  std::size_t done = 0;
  while (ok && done < line.size()) {
    ssize_t n = ::write(I.fd, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      ok = false;
    else
      done += static_cast<std::size_t>(n);
  }
  if (ok) {
    I.size += line.size();
    I.lines.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  I.failures.fetch_add(1, std::memory_order_relaxed);
  if (!I.reported) {
    I.reported = true;
    log::error("cannot write the audit log {}: {}", I.path.empty() ? "(stdout)" : I.path,
               std::strerror(errno));
  }
}

std::uint64_t AuditLog::lines_written() const { return impl_->lines.load(); }
std::uint64_t AuditLog::write_failures() const { return impl_->failures.load(); }
const std::string& AuditLog::path() const { return impl_->path; }

}  // namespace idp::mcp
