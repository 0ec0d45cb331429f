#include "idp/agents/secret_source.h"

#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

#include <fmt/format.h>

namespace idp::agents {

namespace {

constexpr std::string_view kForms =
    "use aws-secretsmanager://NAME[?region=R], file://PATH or env://VAR";

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool is_env_name(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s.front()))) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

bool is_region(std::string_view s) {
  if (s.empty() || s.size() > 32) return false;
  for (char c : s) {
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '-')) {
      return false;
    }
  }
  return true;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Error bad_uri(std::string_view text, std::string_view why) {
  return Error(ErrorCode::kInvalidArgument,
               fmt::format("secret source '{}': {} ({})", text, why, kForms));
}

}  // namespace

const char* to_string(SecretUri::Kind kind) {
  switch (kind) {
    case SecretUri::Kind::kAwsSecretsManager:
      return "aws-secretsmanager";
    case SecretUri::Kind::kFile:
      return "file";
    case SecretUri::Kind::kEnv:
      return "env";
  }
  return "unknown";
}

Result<SecretUri> parse_secret_uri(std::string_view input) {
  std::string_view text = trim(input);
  SecretUri out;
  out.text = std::string(text);
  if (text.empty()) return std::unexpected(bad_uri(text, "empty"));
  auto sep = text.find("://");
  if (sep == std::string_view::npos) {
    if (text.front() == '/' || text.starts_with("./") || text.ends_with(".json")) {
      return std::unexpected(
          bad_uri(text, fmt::format("not a URI; for a file write file://{}", text)));
    }
    return std::unexpected(bad_uri(text, "not a URI"));
  }
  std::string scheme = lower(text.substr(0, sep));
  std::string_view rest = text.substr(sep + 3);
  if (scheme == "file") {
    out.kind = SecretUri::Kind::kFile;
    if (rest.empty()) return std::unexpected(bad_uri(text, "the file path is empty"));
    out.path = std::string(rest);
    return out;
  }
  if (scheme == "env") {
    out.kind = SecretUri::Kind::kEnv;
    if (!is_env_name(rest)) {
      return std::unexpected(bad_uri(
          text,
          fmt::format("'{}' is not an environment variable name (letters, digits and _)", rest)));
    }
    out.name = std::string(rest);
    return out;
  }
  if (scheme == "aws-secretsmanager") {
    out.kind = SecretUri::Kind::kAwsSecretsManager;
    std::string_view name = rest;
    std::string_view query;
    if (auto q = rest.find('?'); q != std::string_view::npos) {
      name = rest.substr(0, q);
      query = rest.substr(q + 1);
    }
    if (name.empty()) return std::unexpected(bad_uri(text, "the secret name is empty"));
    out.name = std::string(name);
    while (!query.empty()) {
      auto amp = query.find('&');
      std::string_view param = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
      if (param.empty()) continue;
      auto eq = param.find('=');
      std::string_view key = param.substr(0, eq);
      std::string_view value =
          eq == std::string_view::npos ? std::string_view{} : param.substr(eq + 1);
      if (key != "region") {
        return std::unexpected(
            bad_uri(text, fmt::format("unknown parameter '{}'; only region= is accepted", key)));
      }
      if (!is_region(value)) {
        return std::unexpected(
            bad_uri(text, fmt::format("'{}' is not an AWS region (e.g. us-east-1)", value)));
      }
      out.region = std::string(value);
    }
    // arn:aws:secretsmanager:<region>:<account>:secret:<name>: the region is in the ARN.
    if (out.region.empty() && out.name.starts_with("arn:")) {
      std::vector<std::string_view> parts;
      std::string_view arn = out.name;
      for (int i = 0; i < 4; ++i) {
        auto colon = arn.find(':');
        if (colon == std::string_view::npos) break;
        parts.push_back(arn.substr(0, colon));
        arn.remove_prefix(colon + 1);
      }
      if (parts.size() == 4 && parts[2] == "secretsmanager" && is_region(parts[3])) {
        out.region = std::string(parts[3]);
      }
    }
    return out;
  }
  return std::unexpected(bad_uri(text, fmt::format("unsupported scheme '{}://'", scheme)));
}

std::optional<std::string> default_secret_uri(const GetEnv& getenv) {
  const char* stack = getenv ? getenv("AWS_STACK_NAME") : std::getenv("AWS_STACK_NAME");
  if (!stack || !*stack) return std::nullopt;
  return fmt::format("aws-secretsmanager://{}/external-mcp-agents/credentials", stack);
}

Result<SecretUri> resolve_secret_uri(std::string_view option, const GetEnv& getenv) {
  if (!trim(option).empty()) return parse_secret_uri(option);
  auto def = default_secret_uri(getenv);
  if (!def) {
    return make_error(ErrorCode::kInvalidArgument,
                      "no secret source: pass --secret (file://PATH, env://VAR or "
                      "aws-secretsmanager://NAME) or set AWS_STACK_NAME to read "
                      "{AWS_STACK_NAME}/external-mcp-agents/credentials from Secrets Manager");
  }
  return parse_secret_uri(*def);
}

// ---- file -------------------------------------------------------------------------------------

FileSecretSource::FileSecretSource(std::string path, std::size_t max_bytes)
    : path_(std::move(path)), max_bytes_(max_bytes) {}

Result<SecretValue> FileSecretSource::read_now() {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    int err = errno;
    if (err == ENOENT || err == ENOTDIR) {
      return make_error(ErrorCode::kNotFound, fmt::format("secret file {} does not exist", path_));
    }
    if (err == EACCES) {
      return make_error(ErrorCode::kPermissionDenied,
                        fmt::format("cannot read secret file {}: permission denied", path_));
    }
    return make_error(ErrorCode::kUnavailable,
                      fmt::format("cannot read secret file {}: {}", path_, std::strerror(err)));
  }
  if (!S_ISREG(st.st_mode)) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("secret file {} is not a regular file", path_));
  }
  if (static_cast<std::size_t>(st.st_size) > max_bytes_) {
    return make_error(ErrorCode::kResourceExhausted,
                      fmt::format("secret file {} is {} bytes; at most {} are read", path_,
                                  static_cast<long long>(st.st_size), max_bytes_));
  }
  std::ifstream in(path_, std::ios::binary);
  if (!in) {
    int err = errno;
    if (err == EACCES) {
      return make_error(ErrorCode::kPermissionDenied,
                        fmt::format("cannot read secret file {}: permission denied", path_));
    }
    return make_error(ErrorCode::kUnavailable, fmt::format("cannot open secret file {}", path_));
  }
  std::string content;
  content.reserve(static_cast<std::size_t>(st.st_size));
  content.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (content.size() > max_bytes_) {
    return make_error(ErrorCode::kResourceExhausted,
                      fmt::format("secret file {} is more than {} bytes", path_, max_bytes_));
  }
  std::vector<std::string> warnings;
  if (st.st_mode & (S_IRGRP | S_IROTH)) {
    warnings.push_back(fmt::format(
        "secret file {} is readable by other users (mode {:04o}); restrict it with chmod 600 {}",
        path_, static_cast<unsigned>(st.st_mode & 07777), path_));
  }
  {
    std::lock_guard lock(mu_);
    warnings_ = std::move(warnings);
  }
  SecretValue v;
  v.version = sha256_hex(content);
  v.text = Secret(std::move(content));
  return v;
}

boost::asio::awaitable<Result<SecretValue>> FileSecretSource::read() { co_return read_now(); }

boost::asio::awaitable<Result<std::string>> FileSecretSource::version() {
  auto v = read_now();
  if (!v) co_return std::unexpected(v.error());
  co_return std::move(v->version);
}

std::string FileSecretSource::describe() const { return "file " + path_; }

std::vector<std::string> FileSecretSource::warnings() const {
  std::lock_guard lock(mu_);
  return warnings_;
}

// ---- environment ------------------------------------------------------------------------------

EnvSecretSource::EnvSecretSource(std::string variable, GetEnv getenv)
    : variable_(std::move(variable)), getenv_(std::move(getenv)) {}

Result<SecretValue> EnvSecretSource::read_now() const {
  const char* value = getenv_ ? getenv_(variable_.c_str()) : std::getenv(variable_.c_str());
  if (!value) {
    return make_error(ErrorCode::kNotFound,
                      fmt::format("environment variable {} is not set", variable_));
  }
  std::string text(value);
  SecretValue v;
  v.version = sha256_hex(text);
  v.text = Secret(std::move(text));
  return v;
}

boost::asio::awaitable<Result<SecretValue>> EnvSecretSource::read() { co_return read_now(); }

boost::asio::awaitable<Result<std::string>> EnvSecretSource::version() {
  auto v = read_now();
  if (!v) co_return std::unexpected(v.error());
  co_return std::move(v->version);
}

std::string EnvSecretSource::describe() const { return "environment variable " + variable_; }

// ---- memory -----------------------------------------------------------------------------------

MemorySecretSource::MemorySecretSource(std::string text, std::string description)
    : description_(std::move(description)) {
  set(std::move(text));
}

void MemorySecretSource::set(std::string text) {
  std::string version = sha256_hex(text);
  std::lock_guard lock(mu_);
  text_ = Secret(std::move(text));
  version_ = std::move(version);
}

boost::asio::awaitable<Result<SecretValue>> MemorySecretSource::read() {
  SecretValue v;
  {
    std::lock_guard lock(mu_);
    v.text = text_;
    v.version = version_;
  }
  co_return v;
}

boost::asio::awaitable<Result<std::string>> MemorySecretSource::version() {
  std::string v;
  {
    std::lock_guard lock(mu_);
    v = version_;
  }
  co_return v;
}

std::string MemorySecretSource::describe() const { return description_; }

// ---- factory ----------------------------------------------------------------------------------

Result<std::shared_ptr<SecretSource>> make_secret_source(
    const SecretUri& uri, boost::asio::any_io_executor executor,
    const AwsSecretSourceFactory& aws_factory) {
  switch (uri.kind) {
    case SecretUri::Kind::kFile:
      return std::shared_ptr<SecretSource>(std::make_shared<FileSecretSource>(uri.path));
    case SecretUri::Kind::kEnv:
      return std::shared_ptr<SecretSource>(std::make_shared<EnvSecretSource>(uri.name));
    case SecretUri::Kind::kAwsSecretsManager:
      if (!aws_factory) {
        return make_error(ErrorCode::kUnavailable,
                          fmt::format("secret source '{}': this program was built without AWS "
                                      "Secrets Manager support; use file://PATH or env://VAR",
                                      uri.text));
      }
      return aws_factory(uri, std::move(executor));
  }
  return make_error(ErrorCode::kInternal, "unknown secret source kind");
}

Result<std::shared_ptr<SecretSource>> make_secret_source(
    std::string_view uri, boost::asio::any_io_executor executor,
    const AwsSecretSourceFactory& aws_factory) {
  auto parsed = parse_secret_uri(uri);
  if (!parsed) return std::unexpected(parsed.error());
  return make_secret_source(*parsed, std::move(executor), aws_factory);
}

}  // namespace idp::agents
