// Where the External MCP Agents secret (a JSON array of servers, see secret_schema.h) comes from:
// `aws-secretsmanager://NAME[?region=R]`, `file://PATH` or `env://VAR`. A SecretSource reads the
// whole value as an idp::Secret together with a version string, and answers a cheap version()
// so that the registry re-reads and re-validates only when the value changed.
//
// This module has no AWS code: an aws-secretsmanager:// source is built by a factory the caller
// passes to make_secret_source() (idp::aws provides one). Defaults follow the reference: the
// secret `{AWS_STACK_NAME}/external-mcp-agents/credentials` when AWS_STACK_NAME is set.
//
// Thread-safety: parse_secret_uri(), default_secret_uri() and resolve_secret_uri() are pure.
// FileSecretSource, EnvSecretSource and MemorySecretSource may be used from any thread and any
// executor (their state is behind a mutex); their coroutines never suspend.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "idp/core/crypto.h"
#include "idp/core/error.h"
#include "idp/core/secret.h"

namespace idp::agents {

// One read of a secret: the text (JSON, may hold passwords) and a version that changes whenever
// the text does (the SHA-256 of the content for files and environment variables, the
// VersionId for Secrets Manager).
struct SecretValue {
  Secret text;
  std::string version;
};

class SecretSource {
 public:
  virtual ~SecretSource() = default;
  // The whole value. Errors say what failed and where ("secret file /x/y.json does not exist").
  virtual boost::asio::awaitable<Result<SecretValue>> read() = 0;
  // The current version without (where the backend allows) fetching the value.
  virtual boost::asio::awaitable<Result<std::string>> version() = 0;
  // For messages: "file /etc/idp/agents.json", "environment variable IDP_AGENTS", ...
  virtual std::string describe() const = 0;
  // Problems noticed by the last read() that do not stop it (a file readable by others).
  virtual std::vector<std::string> warnings() const { return {}; }
};

// The parsed form of a secret URI.
struct SecretUri {
  enum class Kind { kAwsSecretsManager, kFile, kEnv };
  Kind kind = Kind::kFile;
  std::string name;    // Secrets Manager name or ARN; environment variable name
  std::string region;  // Secrets Manager, optional ("us-east-1")
  std::string path;    // file
  std::string text;    // the URI as given
};

// "aws-secretsmanager", "file", "env".
const char* to_string(SecretUri::Kind kind);

// Parses `aws-secretsmanager://NAME[?region=R]` (NAME may contain '/' and be an ARN),
// `file://PATH` (`file:///abs/path` or `file://relative/path`) and `env://VAR`. Errors
// (kInvalidArgument) name the URI and list the accepted forms.
Result<SecretUri> parse_secret_uri(std::string_view text);

using GetEnv = std::function<const char*(const char*)>;

// `aws-secretsmanager://{AWS_STACK_NAME}/external-mcp-agents/credentials` when AWS_STACK_NAME is
// set and not empty; nullopt otherwise.
std::optional<std::string> default_secret_uri(const GetEnv& getenv);

// The --secret option if given (non-empty), else the default; else an error telling the user to
// pass --secret or set AWS_STACK_NAME.
Result<SecretUri> resolve_secret_uri(std::string_view option, const GetEnv& getenv);

// Lowercase hex SHA-256 of `data` (the version of file and environment sources), from core.
using crypto::sha256_hex;

// Reads a file. version() re-reads and hashes it (values are small: at most max_bytes). read()
// records a warning when the file is readable by group or others.
class FileSecretSource final : public SecretSource {
 public:
  explicit FileSecretSource(std::string path, std::size_t max_bytes = std::size_t{1024} * 1024);

  boost::asio::awaitable<Result<SecretValue>> read() override;
  boost::asio::awaitable<Result<std::string>> version() override;
  std::string describe() const override;
  std::vector<std::string> warnings() const override;

  // The synchronous work behind read() (also for the CLI).
  Result<SecretValue> read_now();

 private:
  std::string path_;
  std::size_t max_bytes_;
  mutable std::mutex mu_;
  std::vector<std::string> warnings_;
};

// Reads an environment variable on every call (through `getenv`, std::getenv by default).
class EnvSecretSource final : public SecretSource {
 public:
  explicit EnvSecretSource(std::string variable, GetEnv getenv = {});

  boost::asio::awaitable<Result<SecretValue>> read() override;
  boost::asio::awaitable<Result<std::string>> version() override;
  std::string describe() const override;

 private:
  Result<SecretValue> read_now() const;
  std::string variable_;
  GetEnv getenv_;
};

// A value held in memory and replaced with set(): for tests and for the embedded demo.
class MemorySecretSource final : public SecretSource {
 public:
  explicit MemorySecretSource(std::string text = "[]", std::string description = "memory");

  void set(std::string text);

  boost::asio::awaitable<Result<SecretValue>> read() override;
  boost::asio::awaitable<Result<std::string>> version() override;
  std::string describe() const override;

 private:
  mutable std::mutex mu_;
  Secret text_;
  std::string version_;
  std::string description_;
};

// Builds an aws-secretsmanager:// source (supplied by idp::aws, or a fake in tests).
using AwsSecretSourceFactory = std::function<Result<std::shared_ptr<SecretSource>>(
    const SecretUri& uri, boost::asio::any_io_executor executor)>;

// The source for a parsed URI. aws-secretsmanager:// needs `aws_factory`; without one the error
// (kUnavailable) says that this build cannot read Secrets Manager and suggests file:// or env://.
Result<std::shared_ptr<SecretSource>> make_secret_source(
    const SecretUri& uri, boost::asio::any_io_executor executor,
    const AwsSecretSourceFactory& aws_factory = {});
// The same from the URI text.
Result<std::shared_ptr<SecretSource>> make_secret_source(
    std::string_view uri, boost::asio::any_io_executor executor,
    const AwsSecretSourceFactory& aws_factory = {});

}  // namespace idp::agents
