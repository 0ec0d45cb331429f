// service-test-server: the Service of `idp-agents serve` answering turns with ScriptedTurns, as
// a process of its own, so that tests can kill it (-9, SIGTERM) in the middle of a turn. It
// prints `listening on http://127.0.0.1:PORT` and serves until SIGINT/SIGTERM. The secret is an
// empty array (no agents): the scripted turns need none.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "idp/agents/secret_source.h"
#include "idp/core/log.h"
#include "scripted_turns.h"

int main(int argc, char** argv) {
  using namespace idp;
  CLI::App app{"service-test-server: the service with scripted turns, for the service's tests"};
  service::ServiceOptions o;
  o.port = 0;
  app.add_option("--store", o.store_path)->required();
  app.add_option("--user-pool-id", o.user_pool_id)->required();
  app.add_option("--user-client-id", o.user_client_id)->required();
  app.add_option("--cognito-endpoint", o.cognito_endpoint)->required();
  CLI11_PARSE(app, argc, argv);
  log::init(log::Level::kWarn);
  o.model = llm::ModelInfo{.spec = "scripted", .provider = "test", .offline = true};
  service::test::ScriptedTurns turns;
  auto fn = turns.function();
  service::Service svc(
      o,
      [](boost::asio::any_io_executor) -> Result<std::shared_ptr<agents::SecretSource>> {
        return std::make_shared<agents::MemorySecretSource>("[]", "no agents");
      },
      [fn](std::shared_ptr<agents::AgentRegistry>) { return fn; });
  auto port = svc.start();
  if (!port) {
    std::fprintf(stderr, "error: %s\n", port.error().message().c_str());
    return 1;
  }
  std::printf("listening on http://127.0.0.1:%u\n", static_cast<unsigned>(*port));
  std::fflush(stdout);
  svc.run_until_signal();
  return 0;
}
