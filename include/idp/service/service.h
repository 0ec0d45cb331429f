// idp::service::Service is `idp-agents serve`: one process that holds the agent registry, runs
// chat turns and background jobs through the agent loop, keeps everything in the store (SQLite
// by default), serves the HTTP API of docs/api.md and the static web UI, and sweeps expired data.
//
// Start-up: open the store (migrating it), mark turns that a crash left running as interrupted
// (and jobs as failed; with a store shared by replicas, a lease keeper does that instead for any
// replica that stopped, see docs/architecture.md "Replicas"), start the registry in the background
// (/readyz says when it has read the secret), then listen. Shutdown (stop(), or SIGINT/SIGTERM in
// run_until_signal()): new turns are refused, running turns end at once with error "interrupted"
// (stored) and their runners are cancelled, running jobs fail the same way, then the HTTP server
// closes its connections (SSE streams end after their last event) and the registry closes its MCP
// sessions.
//
// Thread-safety: start(), stop() and run_until_signal() belong to one controlling thread;
// port() may be called from any thread after start().
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "idp/agents/agent_runner.h"
#include "idp/agents/registry.h"
#include "idp/agents/secret_source.h"
#include "idp/core/cancel.h"
#include "idp/core/error.h"
#include "idp/http/client.h"
#include "idp/llm/model.h"

namespace idp::service {

// What answers a turn: AgentRunner::run_turn's signature.
using TurnFunction = std::function<boost::asio::awaitable<agents::TurnResult>(
    agents::TurnRequest, agents::EventSink, std::shared_ptr<CancelSignal>)>;
// Builds the turn function once the registry exists (production: an AgentRunner over it).
using TurnFactory = std::function<TurnFunction(std::shared_ptr<agents::AgentRegistry>)>;
// Opens the agents' secret on the service's executor (an AWS source does its I/O there).
using SecretFactory =
    std::function<Result<std::shared_ptr<agents::SecretSource>>(boost::asio::any_io_executor)>;

struct ServiceLimits {
  std::size_t max_message_chars = 100'000;   // one chat message or job query
  std::size_t max_body_bytes = 1024 * 1024;  // one JSON request body
  std::int64_t max_sessions_per_user = 200;
  std::int64_t max_active_jobs_per_user = 20;  // PENDING or PROCESSING
};

struct ServiceOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0: any free port (see port())
  std::string tls_cert_file;  // HTTPS when both are set
  std::string tls_key_file;
  std::string store_path;  // the SQLite file (when store_url is empty)
  // postgresql://... (or postgres://): a PostgreSQL store shared by several replicas.
  std::string store_url;
  // With a shared store: a replica's running turns and jobs are ended by another replica once it
  // has not renewed their lease for this long (it was killed or cut off).
  std::chrono::milliseconds lease{10'000};
  // The web users' Cognito pool and app client; the endpoint of a local identity provider
  // (empty: AWS). The same endpoint serves the secret's Cognito entries unless
  // registry.cognito_endpoint says otherwise.
  std::string user_pool_id;
  std::string user_client_id;
  std::string cognito_endpoint;
  agents::RegistryOptions registry;
  int retention_days = 30;
  std::chrono::milliseconds retention_sweep_interval{std::chrono::hours(1)};
  std::string ui_dir;    // the static UI; a missing folder is logged, the API still works
  llm::ModelInfo model;  // what /api/config tells the UI
  ServiceLimits limits;
  int http_threads = 2;
  int worker_threads = 2;  // registry, turns, jobs
  int job_concurrency = 4;
  std::chrono::milliseconds cancel_grace{10'000};  // a cancelled turn's runner must stop by then
  std::chrono::milliseconds job_poll_interval{2'000};
  http::ClientOptions http;  // JWKS and Cognito calls of the user sign-in
};

class Service {
 public:
  Service(ServiceOptions options, SecretFactory secret, TurnFactory turns);
  ~Service();  // stop()s
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Opens the store, recovers, starts the registry and the workers, and listens. Errors name
  // what failed ("cannot listen on 127.0.0.1:8080: Address already in use").
  Result<std::uint16_t> start();
  std::uint16_t port() const;
  // The graceful stop described above; idempotent.
  void stop();
  // Blocks until SIGINT or SIGTERM, then stop()s.
  void run_until_signal();

  // The registry (for tests and the demo), valid after start().
  std::shared_ptr<agents::AgentRegistry> registry() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace idp::service
