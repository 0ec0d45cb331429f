#include "aws_secret_source.h"

#include <cstdlib>

namespace idp::cli {

AwsSecretSource::AwsSecretSource(boost::asio::any_io_executor executor, std::string name, std::string region)
    : name_(std::move(name)) {
  aws::SecretsManagerOptions o;
  o.region = std::move(region);
  client_ = std::make_shared<aws::SecretsManagerClient>(executor, std::move(o));
}

boost::asio::awaitable<Result<agents::SecretValue>> AwsSecretSource::read() {
  auto client = client_;
  std::string id = name_;
  auto v = co_await client->get_secret_value(id);
  if (!v) co_return std::unexpected(v.error());
  co_return agents::SecretValue{std::move(v->value), v->version_id};
}

boost::asio::awaitable<Result<std::string>> AwsSecretSource::version() {
  auto client = client_;
  std::string id = name_;
  auto d = co_await client->describe_secret(id);
  if (!d) co_return std::unexpected(d.error());
  co_return d->current_version_id;
}

std::string AwsSecretSource::describe() const {
  std::string region = client_->region().empty() ? "(no region)" : client_->region();
  return "Secrets Manager secret " + name_ + " in " + region;
}

agents::AwsSecretSourceFactory aws_secret_source_factory() {
  return [](const agents::SecretUri& uri, boost::asio::any_io_executor ex)
             -> Result<std::shared_ptr<agents::SecretSource>> {
    return std::make_shared<AwsSecretSource>(ex, uri.name, uri.region);
  };
}

Result<std::shared_ptr<agents::SecretSource>> open_secret_source(std::string_view option,
                                                                 boost::asio::any_io_executor ex) {
  auto uri = agents::resolve_secret_uri(option, [](const char* name) { return std::getenv(name); });
  if (!uri) return std::unexpected(uri.error());
  return agents::make_secret_source(*uri, ex, aws_secret_source_factory());
}

}  // namespace idp::cli
