// JobWorker runs the service's jobs (the reference's "Agent Analysis": a question answered in
// the background, polled by the user) inside the process: it claims PENDING jobs from the store
// (PENDING -> PROCESSING), runs each through the turn function with up to `concurrency` at once,
// and stores the outcome (COMPLETED with the answer and its structured data, or FAILED with the
// reason) together with the run's events as the job's steps. It looks for work when wake()d
// (a job was created here) and every poll interval (jobs created by another replica).
//
// stop() cancels the running jobs; they are stored FAILED ("interrupted") when they end in time,
// and a restart fails whatever a crash left PROCESSING.
//
// Thread-safety: every member may be called from any thread.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <boost/json/object.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "idp/service/service.h"
#include "store.h"

namespace idp::service {

class JobWorker {
 public:
  // `on_event` (optional) sees every event of every job (metrics).
  JobWorker(boost::asio::any_io_executor executor, std::shared_ptr<Store> store, TurnFunction turn,
            int concurrency, std::chrono::milliseconds poll_interval,
            std::function<void(const boost::json::object&)> on_event = {});
  ~JobWorker();

  void start();
  // Looks for PENDING jobs now.
  void wake();
  // Cancels a running job (deleted by its owner); false when it does not run here.
  bool cancel(const std::string& job_id);
  // Stops claiming, cancels the running jobs and waits up to `deadline` for them to be stored.
  boost::asio::awaitable<void> stop(std::chrono::milliseconds deadline);
  std::size_t running() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace idp::service
