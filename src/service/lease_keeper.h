// LeaseKeeper runs on every replica of a shared store (PostgreSQL): every third of the lease it
// renews the leases of this replica's running turns and jobs, hands the cancel requests that
// other replicas left for its turns to the turn manager (in case their notification was
// missed), and ends the turns and jobs of replicas whose lease ran out (killed, frozen, cut
// off): a turn gets an `error` event "interrupted" and the status interrupted, a job FAILED.
// Whichever replica gets there first does it; the others skip those rows (SKIP LOCKED).
//
// Thread-safety: start() and stop() from any thread; the rounds run on the given executor.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "store.h"

namespace idp::service {

class LeaseKeeper {
 public:
  // `cancel(session_id)`: cancels the session's turn if it runs here.
  LeaseKeeper(boost::asio::any_io_executor executor, std::shared_ptr<Store> store,
              std::chrono::milliseconds lease, std::function<void(const std::string&)> cancel);
  ~LeaseKeeper();
  void start();
  void stop();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace idp::service
