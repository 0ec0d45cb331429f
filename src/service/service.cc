// Service: the wiring of `idp-agents serve` (include/idp/service/service.h). Two thread pools:
// the HTTP server's (connections and API handlers) and the service's own io_context (the agent
// registry, turns, jobs, retention); the store has its database thread.
#include "idp/service/service.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>

#include <future>
#include <optional>
#include <thread>

#include "api.h"
#include "idp/core/log.h"
#include "idp/http/server.h"
#include "job_worker.h"
#include "lease_keeper.h"
#include "pg_conn.h"
#include "pg_store.h"
#include "retention.h"
#include "service_metrics.h"
#include "sqlite_store.h"
#include "static_files.h"
#include "turn_manager.h"
#include "user_auth.h"

#ifndef IDP_VERSION
#define IDP_VERSION "0.0.0"
#endif

namespace idp::service {

namespace net = boost::asio;
namespace bj = boost::json;
using net::awaitable;

namespace {

constexpr std::chrono::milliseconds kShutdownDeadline{5'000};

// Without an agent loop every turn fails, saying so (tests give the Service their own).
TurnFunction no_agent_loop() {
  return [](agents::TurnRequest, agents::EventSink,
            std::shared_ptr<CancelSignal>) -> awaitable<agents::TurnResult> {
    agents::TurnResult r;
    r.error = Error(ErrorCode::kUnavailable, "this service was started without an agent loop");
    co_return r;
  };
}

}  // namespace

struct Service::Impl {
  Impl(ServiceOptions o, SecretFactory s, TurnFactory f)
      : opt(std::move(o)), secret_factory(std::move(s)), factory(std::move(f)) {}

  ServiceOptions opt;
  SecretFactory secret_factory;
  TurnFactory factory;

  net::io_context ioc;  // first: destroyed last
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::vector<std::thread> threads;
  std::shared_ptr<Store> store;
  std::shared_ptr<SqliteStore> sqlite;  // the same store when it is SQLite (its counters)
  std::shared_ptr<agents::AgentRegistry> registry;
  std::shared_ptr<TurnManager> turns;
  std::shared_ptr<JobWorker> jobs;
  std::unique_ptr<RetentionSweeper> retention;
  std::unique_ptr<LeaseKeeper> leases;  // shared stores only
  std::shared_ptr<ServiceMetrics> metrics;
  std::shared_ptr<ApiContext> ctx;
  std::unique_ptr<http::Server> http;
  bool started = false;
  bool stopped = false;

  // Runs `op` on the service's threads and waits for it (start-up and shutdown only).
  template <class T>
  T block_on(awaitable<T> op) {
    std::promise<T> done;
    auto future = done.get_future();
    net::co_spawn(ioc, std::move(op), [&done](std::exception_ptr e, T v) {
      if (e) {
        done.set_exception(e);
      } else {
        done.set_value(std::move(v));
      }
    });
    return future.get();
  }
  void block_on(awaitable<void> op) {
    std::promise<void> done;
    auto future = done.get_future();
    net::co_spawn(ioc, std::move(op), [&done](std::exception_ptr e) {
      if (e) {
        done.set_exception(e);
      } else {
        done.set_value();
      }
    });
    future.get();
  }

  Result<void> open_store() {
    if (!opt.store_url.empty()) {
      auto pg = PgStore::open(PgStoreOptions{.url = opt.store_url, .lease = opt.lease});
      if (!pg) return std::unexpected(pg.error());
      log::info("store {} (schema version {}, this replica {})", redact_conninfo(opt.store_url),
                (*pg)->schema_version(), (*pg)->replica_id());
      store = *pg;
      return {};
    }
    auto opened = SqliteStore::open(opt.store_path);
    if (!opened) return std::unexpected(opened.error());
    sqlite = *opened;
    store = sqlite;
    log::info("store {} (schema version {})", sqlite->path(), sqlite->schema_version());
    return {};
  }

  // With one process, what a crash left running is over. With replicas, a lease keeper ends
  // only what a stopped replica left (its lease ran out), never another replica's live work.
  Result<void> recover() {
    if (store->shared()) return {};
    bj::object interrupted{
        {"type", "error"},
        {"code", "interrupted"},
        {"message", "the service stopped while this answer was being written; ask again"}};
    auto turns_hit = block_on(store->interrupt_running_turns(std::move(interrupted)));
    if (!turns_hit) return std::unexpected(turns_hit.error());
    if (*turns_hit > 0)
      log::warn("{} turns were running when the service last stopped; marked interrupted",
                *turns_hit);
    auto jobs_hit = block_on(
        store->fail_processing_jobs("interrupted: the service stopped while this job ran"));
    if (!jobs_hit) return std::unexpected(jobs_hit.error());
    if (*jobs_hit > 0)
      log::warn("{} jobs were running when the service last stopped; marked failed", *jobs_hit);
    return {};
  }
};

Service::Service(ServiceOptions options, SecretFactory secret, TurnFactory turns)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(secret), std::move(turns))) {}

Service::~Service() { stop(); }

Result<std::uint16_t> Service::start() {
  Impl& s = *impl_;
  if (s.started) return make_error(ErrorCode::kInvalidArgument, "the service is started already");
  if (s.opt.retention_days < 1) {
    return make_error(ErrorCode::kInvalidArgument, "--retention-days must be at least 1");
  }
  auto auth = UserAuth::create(UserAuthOptions{.user_pool_id = s.opt.user_pool_id,
                                               .client_id = s.opt.user_client_id,
                                               .cognito_endpoint = s.opt.cognito_endpoint,
                                               .http = s.opt.http});
  if (!auth) return std::unexpected(auth.error());
  if (auto opened = s.open_store(); !opened) return std::unexpected(opened.error());

  s.work.emplace(s.ioc.get_executor());
  int n = std::max(1, s.opt.worker_threads);
  for (int i = 0; i < n; ++i) s.threads.emplace_back([&s] { s.ioc.run(); });
  s.started = true;  // from here on, stop() undoes what start() did
  if (auto r = s.recover(); !r) {
    stop();
    return std::unexpected(r.error());
  }

  auto secret = s.secret_factory(s.ioc.get_executor());
  if (!secret) {
    stop();
    return std::unexpected(secret.error());
  }
  agents::RegistryOptions ro = s.opt.registry;
  if (ro.cognito_endpoint.empty()) ro.cognito_endpoint = s.opt.cognito_endpoint;
  s.registry = std::make_shared<agents::AgentRegistry>(s.ioc.get_executor(), *secret, ro);
  auto registry = s.registry;
  auto registry_started = std::make_shared<std::atomic<bool>>(false);
  net::co_spawn(s.ioc, registry->start(),
                [registry, registry_started](std::exception_ptr e, Result<void> r) {
                  *registry_started = true;
                  if (e) {
                    log::error("the agent registry failed to start");
                  } else if (!r) {
                    log::warn("agents: {} (retrying in the background)", r.error().message());
                  }
                });

  TurnFunction fn = s.factory ? s.factory(s.registry) : no_agent_loop();
  // The turn manager is created below; the metrics read its count through this holder.
  auto turns_holder = std::make_shared<std::weak_ptr<TurnManager>>();
  s.metrics =
      std::make_shared<ServiceMetrics>([registry] { return registry->list_available_agents(); },
                                       [turns_holder] {
                                         auto t = turns_holder->lock();
                                         return t ? static_cast<double>(t->running()) : 0.0;
                                       });
  if (s.sqlite) {
    std::weak_ptr<SqliteStore> weak_store = s.sqlite;
    s.metrics->store_counters(
        [weak_store] {
          auto st = weak_store.lock();
          return st ? static_cast<double>(st->operations()) : 0.0;
        },
        [weak_store] {
          auto st = weak_store.lock();
          return st ? static_cast<double>(st->batches()) : 0.0;
        });
  } else if (auto pg = std::dynamic_pointer_cast<PgStore>(s.store)) {
    // One transaction per operation.
    std::weak_ptr<PgStore> weak_store = pg;
    auto operations = [weak_store] {
      auto st = weak_store.lock();
      return st ? static_cast<double>(st->operations()) : 0.0;
    };
    s.metrics->store_counters(operations, operations);
  }
  auto metrics = s.metrics;
  auto on_event = [metrics](const bj::object& e) { metrics->event(e); };
  TurnManagerOptions to;
  to.cancel_grace = s.opt.cancel_grace;
  to.on_event = on_event;
  to.on_turn = [metrics](std::chrono::steady_clock::duration took, const std::string& status) {
    metrics->turn(took, status);
  };
  s.turns = std::make_shared<TurnManager>(s.ioc.get_executor(), s.store, fn, std::move(to));
  *turns_holder = s.turns;
  s.jobs = std::make_shared<JobWorker>(s.ioc.get_executor(), s.store, fn, s.opt.job_concurrency,
                                       s.opt.job_poll_interval, on_event);
  s.jobs->start();
  s.retention = std::make_unique<RetentionSweeper>(
      s.ioc.get_executor(), s.store, s.opt.retention_days, s.opt.retention_sweep_interval);
  s.retention->start();
  if (s.store->shared()) {
    // Cancel requests of other replicas, by notification and, as a fallback, by lease round.
    std::weak_ptr<TurnManager> weak_turns = s.turns;
    auto cancel = [weak_turns](const std::string& session_id) {
      if (auto t = weak_turns.lock()) t->cancel(session_id);
    };
    s.store->on_cancel_requested(cancel);
    s.leases = std::make_unique<LeaseKeeper>(s.ioc.get_executor(), s.store, s.opt.lease, cancel);
    s.leases->start();
  }

  s.ctx = std::make_shared<ApiContext>();
  s.ctx->limits = s.opt.limits;
  s.ctx->version = IDP_VERSION;
  s.ctx->model = s.opt.model;
  s.ctx->auth = *auth;
  s.ctx->store = s.store;
  s.ctx->registry = s.registry;
  s.ctx->registry_started = registry_started;
  s.ctx->turns = s.turns;
  s.ctx->jobs = s.jobs;
  s.ctx->record = [metrics](std::string_view route, int status) {
    metrics->request(route, status);
  };
  s.ctx->metrics_text = [metrics] { return metrics->render(); };

  http::ServerOptions ho;
  ho.host = s.opt.host;
  ho.port = s.opt.port;
  ho.threads = std::max(1, s.opt.http_threads);
  ho.max_body_bytes = s.opt.limits.max_body_bytes;
  ho.tls_cert_file = s.opt.tls_cert_file;
  ho.tls_key_file = s.opt.tls_key_file;
  s.http = std::make_unique<http::Server>(ho);
  register_auth_routes(*s.http, s.ctx);
  register_agent_routes(*s.http, s.ctx);
  register_chat_routes(*s.http, s.ctx);
  register_job_routes(*s.http, s.ctx);
  register_ops_routes(*s.http, s.ctx);
  register_api_fallback(*s.http, s.ctx);
  serve_static_files(*s.http, s.opt.ui_dir);
  auto port = s.http->start();
  if (!port) {
    stop();
    return std::unexpected(port.error());
  }
  return *port;
}

std::uint16_t Service::port() const { return impl_->http ? impl_->http->port() : 0; }

std::shared_ptr<agents::AgentRegistry> Service::registry() const { return impl_->registry; }

void Service::stop() {
  Impl& s = *impl_;
  if (!s.started || s.stopped) return;
  s.stopped = true;
  if (s.ctx) s.ctx->stopping = true;
  if (s.turns) {
    auto turns = s.turns;
    s.block_on(turns->interrupt_all(
        "the service stopped while this answer was being written; ask again", kShutdownDeadline));
  }
  if (s.jobs) {
    auto jobs = s.jobs;
    s.block_on(jobs->stop(kShutdownDeadline));
  }
  if (s.retention) s.retention->stop();
  if (s.leases) s.leases->stop();
  if (s.http) {
    s.http->stop();
    s.http->wait();
  }
  if (s.registry) {
    auto registry = s.registry;
    s.block_on(registry->stop());
  }
  s.work.reset();
  s.ioc.stop();
  for (auto& t : s.threads) t.join();
  s.threads.clear();
  // Release everything (the store's file last) so that a new Service may open it. The API
  // context first: its user verifier holds an HTTP client on the server's io_context, so the
  // server's routes must drop the last reference while that io_context exists.
  s.ctx.reset();
  s.http.reset();
  s.retention.reset();
  s.leases.reset();
  s.jobs.reset();
  s.turns.reset();
  s.registry.reset();
  if (s.store) s.store->on_cancel_requested(nullptr);
  s.sqlite.reset();
  s.store.reset();
}

void Service::run_until_signal() {
  net::io_context waiter;
  net::signal_set signals(waiter, SIGINT, SIGTERM);
  signals.async_wait([](const boost::system::error_code& ec, int signo) {
    if (!ec) log::info("signal {} received; stopping", signo);
  });
  waiter.run();
  stop();
}

}  // namespace idp::service
