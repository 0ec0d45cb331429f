// The retention sweep: every `interval` (and once at start) it deletes the sessions and jobs
// whose last update is older than `days` days (docs/api.md: --retention-days, default 30).
// Sessions with a running turn and jobs that have not finished are never swept.
// Thread-safety: start() and stop() from any thread; the sweep runs on the given executor.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <memory>

#include "store.h"

namespace idp::service {

class RetentionSweeper {
 public:
  RetentionSweeper(boost::asio::any_io_executor executor, std::shared_ptr<Store> store, int days,
                   std::chrono::milliseconds interval);
  ~RetentionSweeper();
  void start();
  void stop();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace idp::service
