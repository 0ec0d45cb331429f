// `idp-agents serve`: the service (idp::service::Service) — agent registry, agent loop, HTTP API
// of docs/api.md and the web UI — in one process on one address, until SIGINT/SIGTERM.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "aws_secret_source.h"
#include "cli.h"
#include "idp/agents/secret_source.h"
#include "idp/core/log.h"
#include "idp/http/url_policy.h"
#include "idp/service/service.h"
#include "serve_common.h"

namespace idp::cli {
namespace {

struct ServeArgs {
  std::string secret;
  std::string listen = "127.0.0.1:8080";
  std::string store;
  std::string user_pool_id;
  std::string user_client_id;
  std::string cognito_endpoint;
  int refresh_seconds = 30;
  std::string data = ".idp-agents";
  int retention_days = 30;
  std::string ui_dir;
  std::string tls_cert;
  std::string tls_key;
  std::string model;
  std::string region;
  int lease_seconds = 10;
};

const char* process_getenv(const char* name) { return std::getenv(name); }

int cmd_serve(const ServeArgs& args) {
  auto listen = parse_listen(args.listen);
  if (!listen) {
    print_error(listen.error());
    return kUsage;
  }
  const bool tls = !args.tls_cert.empty() || !args.tls_key.empty();
  if (!http::is_loopback_host(listen->first) && !tls) {
    print_error("--listen " + args.listen +
                ": plain http is served on loopback only (sign-ins and tokens cross it); pass "
                "--tls-cert and --tls-key, or listen on 127.0.0.1 behind a TLS proxy");
    return kUsage;
  }
  std::string store_path = args.store.empty() ? "" : args.store;
  std::string store_url;
  if (store_path.empty()) {
    store_path = (std::filesystem::path(args.data) / "idp-agents.db").string();
  } else if (store_path.starts_with("sqlite:")) {
    store_path = store_path.substr(7);
  } else if (store_path.starts_with("postgresql://") || store_path.starts_with("postgres://")) {
    store_url = store_path;
    store_path.clear();
  } else {
    // Only the scheme is echoed: the rest may hold a password.
    print_error("--store " + args.store.substr(0, args.store.find(':')) +
                ":...: unsupported; use sqlite:PATH or postgresql://[USER@]HOST[:PORT]/DB");
    return kUsage;
  }
  auto uri = agents::resolve_secret_uri(args.secret, process_getenv);
  if (!uri) {
    print_error(uri.error());
    return kUsage;
  }

  llm::ModelOptions model_options;
  model_options.region = args.region;
  auto model = serve_model(args.model, model_options);
  if (!model) {
    print_error(model.error());
    return kUsage;
  }

  service::ServiceOptions o;
  o.model = model->info;
  o.host = listen->first;
  o.port = listen->second;
  o.tls_cert_file = args.tls_cert;
  o.tls_key_file = args.tls_key;
  o.store_path = store_path;
  o.store_url = store_url;
  o.lease = std::chrono::seconds(args.lease_seconds);
  o.user_pool_id = args.user_pool_id;
  o.user_client_id = args.user_client_id;
  o.cognito_endpoint = args.cognito_endpoint;
  o.registry.refresh_interval = std::chrono::seconds(args.refresh_seconds);
  o.retention_days = args.retention_days;
  o.ui_dir = args.ui_dir.empty() ? default_ui_dir() : args.ui_dir;

  auto secret = [uri = *uri](boost::asio::any_io_executor ex) {
    return agents::make_secret_source(uri, ex, aws_secret_source_factory());
  };
  service::Service svc(o, secret, model->turns);
  auto port = svc.start();
  if (!port) {
    print_error(port.error());
    return kFailed;
  }
  if (!std::filesystem::is_directory(o.ui_dir)) {
    log::warn(
        "the web UI is not installed in {} (build the target idp_ui or pass --ui-dir); the API "
        "works",
        o.ui_dir);
  }
  std::string host = o.host.find(':') != std::string::npos ? "[" + o.host + "]" : o.host;
  std::printf("listening on %s://%s:%u\n", tls ? "https" : "http", host.c_str(),
              static_cast<unsigned>(*port));
  std::fflush(stdout);
  svc.run_until_signal();
  return kOk;
}

}  // namespace

void register_serve_command(CLI::App& app, Commands& out) {
  auto args = std::make_shared<ServeArgs>();
  auto* serve = app.add_subcommand(
      "serve",
      "run the service: agent registry, agent loop, the HTTP API and the web UI, until Ctrl-C");
  serve->add_option(
      "--secret", args->secret,
      "the agents' secret: aws-secretsmanager://NAME[?region=R], file://PATH or env://VAR "
      "(default: aws-secretsmanager://{AWS_STACK_NAME}/external-mcp-agents/credentials)");
  serve->add_option("--listen", args->listen, "HOST:PORT to serve on (port 0: any free port)")
      ->capture_default_str();
  serve->add_option("--store", args->store,
                    "where sessions and jobs live: sqlite:PATH (default: DATA/idp-agents.db), or "
                    "postgresql://USER@HOST:PORT/DB shared by several replicas (the password from "
                    "PGPASSWORD or ~/.pgpass, or in the URL)");
  serve
      ->add_option("--lease-seconds", args->lease_seconds,
                   "with a PostgreSQL store: the turns and jobs of a replica silent this long "
                   "are ended by another (interrupted, failed)")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  serve
      ->add_option("--user-pool-id", args->user_pool_id,
                   "the web users' Cognito user pool id, e.g. us-east-1_AbC123")
      ->required();
  serve
      ->add_option("--user-client-id", args->user_client_id,
                   "the web UI's app client of that pool (USER_PASSWORD_AUTH and "
                   "REFRESH_TOKEN_AUTH allowed)")
      ->required();
  serve->add_option(
      "--cognito-endpoint", args->cognito_endpoint,
      "a local Cognito-compatible identity provider (http://127.0.0.1:PORT) for the users' pool "
      "and the secret's Cognito entries (default: AWS)");
  serve
      ->add_option("--refresh-seconds", args->refresh_seconds,
                   "how often the secret is checked for changes")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  serve->add_option("--data", args->data, "folder for the store (mode 0700)")
      ->capture_default_str();
  serve
      ->add_option("--retention-days", args->retention_days,
                   "sessions and jobs not updated for this many days are deleted")
      ->check(CLI::Range(1, 36500))
      ->capture_default_str();
  serve->add_option("--ui-dir", args->ui_dir,
                    "the web UI's files (default: <bindir>/../share/idp-agents/ui)");
  serve->add_option("--tls-cert", args->tls_cert,
                    "PEM certificate chain: serve HTTPS (needed off loopback)");
  serve->add_option("--tls-key", args->tls_key, "PEM private key of --tls-cert");
  add_model_options(serve, args->model, &args->region);
  out.push_back({serve, [args] { return cmd_serve(*args); }});
}

}  // namespace idp::cli
