// The aws-secretsmanager:// secret source: reads the External MCP Agents secret with
// idp::aws::SecretsManagerClient (GetSecretValue), and answers version() with DescribeSecret's
// AWSCURRENT version id, so a registry re-reads the value only after a change.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <memory>
#include <string>

#include "idp/agents/secret_source.h"
#include "idp/aws/secrets_manager.h"

namespace idp::cli {

class AwsSecretSource final : public agents::SecretSource {
 public:
  AwsSecretSource(boost::asio::any_io_executor executor, std::string name, std::string region);
  boost::asio::awaitable<Result<agents::SecretValue>> read() override;
  boost::asio::awaitable<Result<std::string>> version() override;
  std::string describe() const override;

 private:
  std::string name_;
  std::shared_ptr<aws::SecretsManagerClient> client_;
};

// The factory make_secret_source() takes for aws-secretsmanager:// URIs.
agents::AwsSecretSourceFactory aws_secret_source_factory();

// The source a command's --secret option names (empty: the default from AWS_STACK_NAME).
Result<std::shared_ptr<agents::SecretSource>> open_secret_source(std::string_view option,
                                                                 boost::asio::any_io_executor ex);

}  // namespace idp::cli
