// The defaults of Store's replica members (store.h): those of a store used by one process.
#include "store.h"

namespace idp::service {

std::shared_ptr<Wakeup> Store::watch_events(const std::string&) {
  return std::make_shared<Wakeup>();
}

boost::asio::awaitable<Result<bool>> Store::request_cancel(std::string, std::string) {
  co_return false;
}

void Store::on_cancel_requested(std::function<void(const std::string&)>) {}

boost::asio::awaitable<Result<LeaseSweep>> Store::keep_leases(boost::json::object, std::string) {
  co_return LeaseSweep{};
}

}  // namespace idp::service
