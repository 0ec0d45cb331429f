// AWS credentials, region and endpoint resolution, the way the AWS SDKs do it.
// DefaultCredentialsChain tries, in order: the environment (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN); the profile (AWS_PROFILE, else "default") in the
// shared credentials file (AWS_SHARED_CREDENTIALS_FILE, ~/.aws/credentials) and in the config file
// (AWS_CONFIG_FILE, ~/.aws/config, sections `[profile name]`); the profile's `credential_process`
// (JSON Version 1 on stdout, with a timeout); ECS/EKS container credentials
// (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI with
// AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]); EC2 instance metadata (IMDSv2, skipped when
// AWS_EC2_METADATA_DISABLED=true). The first complete key pair wins; a source that is configured
// but broken (a partial key pair, a failing process, an unreachable container endpoint) stops the
// chain with an error naming it. Credentials are cached until 5 minutes before they expire; one
// fetch serves every concurrent caller. Everything the chain reads (variables, files, metadata
// endpoints) comes from an Environment, so tests can point it at temporary files and local fake
// servers. Thread-safety: Environment and Credentials are values; the providers are safe to share
// between coroutines on any executor.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "idp/core/error.h"
#include "idp/core/secret.h"

namespace idp::aws {

struct Credentials {
  std::string access_key_id;
  Secret secret_access_key;
  std::optional<Secret> session_token;
  std::optional<std::chrono::system_clock::time_point> expiration;  // none: never expires
  std::string source;  // where they came from: "environment", "profile 'dev' in ~/.aws/credentials"
};

// std::getenv as a std::optional.
std::optional<std::string> process_getenv(const std::string& name);

// Where the chain looks. The defaults read the process environment and the real endpoints.
struct Environment {
  // Returns a variable's value, nullopt when unset. Default: the process environment.
  std::function<std::optional<std::string>(const std::string& name)> getenv = process_getenv;
  std::string container_endpoint = "http://169.254.170.2";  // base of the RELATIVE_URI
  std::string imds_endpoint = "http://169.254.169.254";  // AWS_EC2_METADATA_SERVICE_ENDPOINT wins
  std::chrono::milliseconds metadata_connect_timeout{1000};
  std::chrono::milliseconds metadata_timeout{3000};   // one container / IMDS request in total
  std::chrono::milliseconds process_timeout{30'000};  // credential_process

  // A set, non-empty variable.
  std::optional<std::string> get(const std::string& name) const;

  static Environment process();
  // Only these variables exist (tests).
  static Environment from_map(std::map<std::string, std::string> vars);
};

// AWS_PROFILE, else "default".
std::string profile_name(const Environment& env);
// AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE, else $HOME/.aws/credentials / config.
std::string credentials_file_path(const Environment& env);
std::string config_file_path(const Environment& env);

// AWS_REGION, then AWS_DEFAULT_REGION, then `region` of the profile in the config file. The error
// says what to set.
Result<std::string> resolve_region(const Environment& env);

// AWS_ENDPOINT_URL_<SERVICE ID> (the service id uppercased, spaces and dashes as '_', e.g.
// "Secrets Manager" -> AWS_ENDPOINT_URL_SECRETS_MANAGER), then AWS_ENDPOINT_URL, else
// https://<endpoint_prefix>.<region>.amazonaws.com (amazonaws.com.cn for cn- regions).
std::string resolve_endpoint(const Environment& env, std::string_view service_id,
                             std::string_view endpoint_prefix, std::string_view region);

// "2016-02-25T06:03:31Z", with optional fractional seconds and a "+hh:mm" offset.
std::optional<std::chrono::system_clock::time_point> parse_iso8601(std::string_view text);

class CredentialsProvider {
 public:
  virtual ~CredentialsProvider() = default;
  virtual boost::asio::awaitable<Result<Credentials>> get() = 0;
  // The service said the credentials expired or are unknown: forget any cached ones.
  virtual void invalidate() {}
};

// Always the same credentials (explicit keys, tests).
class StaticCredentialsProvider final : public CredentialsProvider {
 public:
  explicit StaticCredentialsProvider(Credentials credentials);
  boost::asio::awaitable<Result<Credentials>> get() override;

 private:
  Credentials credentials_;
};

class DefaultCredentialsChain final : public CredentialsProvider {
 public:
  // Credentials are refreshed this long before they expire.
  static constexpr std::chrono::minutes kRefreshMargin{5};

  explicit DefaultCredentialsChain(boost::asio::any_io_executor executor,
                                   Environment env = Environment::process());
  ~DefaultCredentialsChain() override;

  // kUnauthenticated "no AWS credentials: tried environment (...), profile 'default' in
  // ~/.aws/credentials (...), ..." when no source has any; another error when a configured
  // source failed.
  boost::asio::awaitable<Result<Credentials>> get() override;
  void invalidate() override;

  int fetches() const;  // how many times the chain ran (tests)

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace idp::aws
