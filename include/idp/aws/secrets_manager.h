// A Secrets Manager client for what idp-agents needs: GetSecretValue (the External MCP Agents
// secret, a JSON array held as SecretString) and DescribeSecret (a cheap check of the AWSCURRENT
// version id, to re-read only after a change). Region, endpoint and credentials resolve like the
// AWS SDKs (see credentials.h); every documented error becomes an idp::Error that says what to do
// ("no secret named X in region R; check the stack name (AWS_STACK_NAME) or the --secret option"),
// with "<AwsType>: <AWS message>" kept in details(). Secret values are held as idp::Secret.
// Thread-safety: one client may be shared by coroutines on any executor; it must outlive its calls.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "idp/aws/credentials.h"
#include "idp/aws/json_client.h"
#include "idp/core/error.h"
#include "idp/core/secret.h"
#include "idp/http/client.h"

namespace idp::aws {

struct SecretsManagerOptions {
  std::string region;    // empty: AWS_REGION, AWS_DEFAULT_REGION, the profile's region
  std::string endpoint;  // empty: AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL, the AWS one
  std::shared_ptr<CredentialsProvider> credentials;  // empty: DefaultCredentialsChain(environment)
  Environment environment = Environment::process();
  http::ClientOptions http;
  RetryOptions retry;
  std::chrono::milliseconds timeout{30'000};                     // per attempt
  std::function<std::chrono::system_clock::time_point()> clock;  // signing time (tests)
};

struct SecretValue {
  std::string name;
  std::string arn;
  std::string version_id;
  Secret value;  // SecretString
  std::vector<std::string> version_stages;
  std::optional<std::chrono::system_clock::time_point> created_date;
};

struct SecretDescription {
  std::string name;
  std::string arn;
  std::string current_version_id;  // the version labelled AWSCURRENT; empty when none
  std::optional<std::chrono::system_clock::time_point> last_changed_date;
  std::optional<std::chrono::system_clock::time_point> deleted_date;  // scheduled for deletion
};

class SecretsManagerClient {
 public:
  explicit SecretsManagerClient(boost::asio::any_io_executor executor,
                                SecretsManagerOptions options = {});
  ~SecretsManagerClient();
  SecretsManagerClient(const SecretsManagerClient&) = delete;
  SecretsManagerClient& operator=(const SecretsManagerClient&) = delete;

  // The current (AWSCURRENT) SecretString of `secret_id` (a name or an ARN). A secret that holds
  // only SecretBinary is an error (kInvalidArgument).
  boost::asio::awaitable<Result<SecretValue>> get_secret_value(std::string secret_id);
  boost::asio::awaitable<Result<SecretDescription>> describe_secret(std::string secret_id);

  // The resolved region and endpoint (empty when they could not be resolved; calls then fail
  // with the reason).
  const std::string& region() const;
  const std::string& endpoint() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace idp::aws
