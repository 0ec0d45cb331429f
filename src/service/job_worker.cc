#include "job_worker.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <mutex>
#include <unordered_map>

#include "idp/core/clock.h"
#include "idp/core/log.h"
#include "poll_wait.h"

namespace idp::service {

namespace net = boost::asio;
namespace bj = boost::json;
using net::awaitable;

struct JobWorker::State : std::enable_shared_from_this<JobWorker::State> {
  State(net::any_io_executor ex) : executor(ex), strand(net::make_strand(ex)), timer(strand) {}

  net::any_io_executor executor;
  net::strand<net::any_io_executor> strand;
  net::steady_timer timer;  // the loop's wait; cancelled by wake()
  std::shared_ptr<Store> store;
  TurnFunction fn;
  std::function<void(const bj::object&)> on_event;
  int concurrency = 4;
  std::chrono::milliseconds poll{2'000};

  mutable std::mutex mu;
  bool stopping = false;
  std::unordered_map<std::string, std::shared_ptr<CancelSignal>> running;  // by job id

  bool is_stopping() const {
    std::lock_guard lock(mu);
    return stopping;
  }

  awaitable<void> loop() {
    auto self = shared_from_this();
    while (!is_stopping()) {
      while (!is_stopping() && static_cast<int>(count()) < concurrency) {
        auto job = co_await store->claim_job();
        if (!job) {
          log::warn("jobs: cannot claim work from the store: {}", job.error().message());
          break;
        }
        if (!*job) break;
        auto cancel = std::make_shared<CancelSignal>();
        {
          std::lock_guard lock(mu);
          running.emplace((*job)->id, cancel);
        }
        net::co_spawn(executor, run(std::move(**job), cancel), net::detached);
      }
      timer.expires_after(poll);
      co_await timer.async_wait(net::as_tuple(net::use_awaitable));
    }
  }

  awaitable<void> run(JobRecord job, std::shared_ptr<CancelSignal> cancel) {
    auto self = shared_from_this();
    auto steps = std::make_shared<std::vector<bj::object>>();
    auto steps_mu = std::make_shared<std::mutex>();
    agents::EventSink sink = [steps, steps_mu, self](agents::Event e) {
      std::lock_guard lock(*steps_mu);
      e["seq"] = static_cast<std::int64_t>(steps->size() + 1);
      e["ts"] = format_utc(std::chrono::system_clock::now());
      if (self->on_event) self->on_event(e);
      steps->push_back(std::move(e));
    };
    agents::TurnRequest req;
    req.question = job.query;
    req.agent_ids = job.agent_ids;
    agents::TurnResult result;
    try {
      result = co_await fn(std::move(req), std::move(sink), cancel);
    } catch (const std::exception& e) {
      result = agents::TurnResult{};
      result.error = Error(ErrorCode::kInternal, std::string("the job failed: ") + e.what());
    }
    JobEnd end;
    end.job_id = job.id;
    if (result.ok) {
      end.status = "COMPLETED";
      end.result_text = result.final_text;
      end.structured = result.structured;
    } else {
      end.status = "FAILED";
      end.error = is_stopping()  ? "interrupted: the service stopped while this job ran"
                  : result.error ? result.error->message()
                                 : "the job ended without an answer";
    }
    {
      std::lock_guard lock(*steps_mu);
      end.steps = std::move(*steps);
    }
    auto stored = co_await store->finish_job(std::move(end));
    if (!stored)
      log::error("job {}: storing its outcome failed: {}", job.id, stored.error().message());
    {
      std::lock_guard lock(mu);
      running.erase(job.id);
    }
    net::post(strand, [self] { self->timer.cancel(); });  // room for the next job
  }

  std::size_t count() const {
    std::lock_guard lock(mu);
    return running.size();
  }
};

JobWorker::JobWorker(net::any_io_executor executor, std::shared_ptr<Store> store, TurnFunction turn,
                     int concurrency, std::chrono::milliseconds poll_interval,
                     std::function<void(const bj::object&)> on_event)
    : state_(std::make_shared<State>(executor)) {
  state_->on_event = std::move(on_event);
  state_->store = std::move(store);
  state_->fn = std::move(turn);
  state_->concurrency = concurrency > 0 ? concurrency : 1;
  state_->poll = poll_interval;
}

JobWorker::~JobWorker() = default;

void JobWorker::start() {
  auto s = state_;
  net::co_spawn(s->strand, s->loop(), [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      log::error("jobs: the worker stopped: {}", ex.what());
    }
  });
}

void JobWorker::wake() {
  auto s = state_;
  net::post(s->strand, [s] { s->timer.cancel(); });
}

bool JobWorker::cancel(const std::string& job_id) {
  std::shared_ptr<CancelSignal> signal;
  {
    std::lock_guard lock(state_->mu);
    auto it = state_->running.find(job_id);
    if (it == state_->running.end()) return false;
    signal = it->second;
  }
  signal->cancel();
  return true;
}

awaitable<void> JobWorker::stop(std::chrono::milliseconds deadline) {
  auto s = state_;
  std::vector<std::shared_ptr<CancelSignal>> signals;
  {
    std::lock_guard lock(s->mu);
    s->stopping = true;
    for (auto& [id, c] : s->running) signals.push_back(c);
  }
  wake();
  for (auto& c : signals) c->cancel();
  // A named local: GCC 12 destroys a temporary argument of a coroutine twice.
  std::function<bool()> idle = [s] { return s->count() == 0; };
  co_await poll_until(std::move(idle), deadline);
}

std::size_t JobWorker::running() const { return state_->count(); }

}  // namespace idp::service
