// `idp-agents secret check`, `idp-agents agents list` and `idp-agents doctor`: the seed's
// "check the secret", "Check Agent Registration" and Troubleshooting steps as commands (one file,
// a little past ~600 lines: the three share the secret loading and the entry printing).
//
//   secret check [SOURCE] [--json]      validate the secret; exit 1 when no entry is usable
//   agents list [--secret SOURCE]       discover every agent in parallel, show id, name, status,
//                                       tools and description; exit 1 when the secret is unreadable
//   agents watch [--secret SOURCE]      keep the registry running; print each agent when it changes
//   doctor [--secret SOURCE]            per entry: URL policy, DNS, TCP, TLS, sign-in, MCP connect
//                                       (server/discover or initialize), tools/list, each timed, with
//                                       the fix on failure;
//                                       exit 0 only when every entry is ready
//
// SOURCE: aws-secretsmanager://NAME[?region=R], file://PATH or env://VAR; default
// aws-secretsmanager://{AWS_STACK_NAME}/external-mcp-agents/credentials when AWS_STACK_NAME is set.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <set>
#include <string>

#include "aws_secret_source.h"
#include "cli.h"
#include "idp/agents/advice.h"
#include "idp/agents/entry_auth.h"
#include "idp/agents/registry.h"
#include "idp/agents/secret_schema.h"
#include "idp/agents/secret_source.h"
#include "idp/auth/cognito.h"
#include "idp/auth/mcp_oauth.h"
#include "idp/auth/oauth.h"
#include "idp/core/json_util.h"
#include "idp/http/url_policy.h"
#include "idp/mcp/client.h"

namespace bj = boost::json;
namespace net = boost::asio;
using net::awaitable;

namespace idp::cli {
namespace {

struct SecretArgs {
  std::string secret;
  bool json_output = false;
  std::string cognito_endpoint;
  double timeout_s = 30;
};

Result<std::shared_ptr<agents::SecretSource>> open_source(const std::string& option, net::any_io_executor ex) {
  return open_secret_source(option, ex);
}

std::string join(const std::vector<std::string>& items, std::string_view sep = ", ") {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

// Entry count of the secret when it is a JSON array (for "N entries, M usable").
std::size_t array_size(std::string_view text) {
  auto v = ::idp::json::parse(text);
  return v && v->is_array() ? v->get_array().size() : 0;
}

void print_findings(const std::vector<agents::Finding>& findings, std::ostream& out) {
  for (const auto& f : findings) {
    out << "  " << agents::to_string(f.severity) << ": " << f.message << "\n";
  }
}

// The findings of entry `index` (0-based), or of the whole secret with Finding::kWholeSecret.
void print_findings_of(const agents::ValidatedSecret& checked, int index, std::ostream& out) {
  for (const auto& f : checked.findings) {
    if (f.index == index) out << "  " << agents::to_string(f.severity) << ": " << f.message << "\n";
  }
}

// The valid entry at array position `index`, or nullptr when it was skipped.
const agents::AgentEntry* entry_at(const agents::ValidatedSecret& checked, std::size_t index) {
  for (const auto& e : checked.entries) {
    if (e.index == index) return &e;
  }
  return nullptr;
}

// Runs `body` with the source the options name; a source that cannot be built is exit 1.
int with_source(const SecretArgs& args,
                std::function<awaitable<int>(net::any_io_executor, std::shared_ptr<agents::SecretSource>)> body) {
  return run([&]() -> awaitable<int> {
    auto ex = co_await net::this_coro::executor;
    auto source = open_source(args.secret, ex);
    if (!source) {
      print_error(source.error());
      co_return kFailed;
    }
    co_return co_await body(ex, *source);
  });
}

// --- secret check -------------------------------------------------------------------------------

int cmd_secret_check(const SecretArgs& args) {
  return with_source(args, [&](net::any_io_executor, std::shared_ptr<agents::SecretSource> source) -> awaitable<int> {
    auto value = co_await source->read();
    if (!value) {
      print_error(value.error());
      co_return kFailed;
    }
    auto checked = agents::validate_secret(value->text);
    auto warnings = source->warnings();
    std::size_t total = array_size(value->text.reveal());
    if (args.json_output) {
      bj::array entries;
      for (const auto& e : checked.entries) {
        entries.push_back(bj::object{{"index", e.index},
                                     {"entry", e.index + 1},
                                     {"agent_id", e.id},
                                     {"agent_name", e.name},
                                     {"mcp_url", e.mcp_url},
                                     {"transport", agents::to_string(e.transport)},
                                     {"auth", agents::to_string(e.auth)},
                                     {"enabled", e.enabled}});
      }
      bj::array source_warnings;
      for (const auto& w : warnings) source_warnings.push_back(bj::string(w));
      bj::object out{{"source", source->describe()},
                     {"version", value->version},
                     {"entries_total", total},
                     {"usable", entries.size()},
                     {"entries", std::move(entries)},
                     {"findings", agents::findings_to_json(checked.findings)},
                     {"source_warnings", std::move(source_warnings)}};
      std::cout << bj::serialize(out) << "\n";
    } else {
      std::cout << source->describe() << ": " << total << (total == 1 ? " entry, " : " entries, ")
                << checked.entries.size() << " usable\n";
      for (const auto& w : warnings) std::cout << "  warning: " << w << "\n";
      // Entries in array order, each with its findings.
      for (std::size_t i = 0; i < total; ++i) {
        const agents::AgentEntry* entry = entry_at(checked, i);
        std::cout << "entry " << i + 1 << ": ";
        if (entry) {
          std::cout << "ok  " << entry->id << " (" << entry->name << ") " << entry->mcp_url << " ["
                    << agents::to_string(entry->transport) << ", " << agents::to_string(entry->auth)
                    << (entry->enabled ? "" : ", disabled") << "]\n";
        } else {
          std::cout << "skipped\n";
        }
        print_findings_of(checked, static_cast<int>(i), std::cout);
      }
      print_findings_of(checked, agents::Finding::kWholeSecret, std::cout);
    }
    co_return checked.entries.empty() ? kFailed : kOk;
  });
}

// --- agents list --------------------------------------------------------------------------------

agents::RegistryOptions registry_options(const SecretArgs& args) {
  agents::RegistryOptions o;
  o.cognito_endpoint = args.cognito_endpoint;
  o.default_timeout = std::chrono::milliseconds(static_cast<long>(args.timeout_s * 1000));
  o.listen = false;  // one-shot: no standalone streams
  return o;
}

std::string age(std::optional<std::chrono::system_clock::time_point> t) {
  if (!t) return "never";
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now() - *t);
  return std::to_string(ms.count()) + " ms ago";
}

int cmd_agents_list(const SecretArgs& args) {
  return with_source(args, [&](net::any_io_executor ex, std::shared_ptr<agents::SecretSource> source) -> awaitable<int> {
    agents::AgentRegistry registry(ex, source, registry_options(args));
    auto started = co_await registry.start();
    if (!started) {
      print_error(started.error());
      co_await registry.stop();
      co_return kFailed;
    }
    auto list = registry.list_available_agents();
    auto findings = registry.findings();
    if (args.json_output) {
      bj::object out{{"source", registry.source_description()},
                     {"version", registry.version()},
                     {"agents", agents::agents_to_json(list)},
                     {"findings", agents::findings_to_json(findings)}};
      std::cout << bj::serialize(out) << "\n";
    } else {
      std::size_t ready = 0;
      for (const auto& a : list) ready += a.status == agents::AgentStatus::kReady;
      std::cout << registry.source_description() << ": " << list.size() << " agents, " << ready << " ready\n";
      for (const auto& a : list) {
        std::cout << "\n" << a.agent_id << "  " << a.agent_name << "  [" << agents::to_string(a.status) << "]\n";
        std::cout << "  server: " << a.server << " (" << agents::to_string(a.transport) << ", "
                  << agents::to_string(a.auth) << "), checked " << age(a.last_checked) << "\n";
        if (!a.reason.empty()) std::cout << "  reason: " << a.reason << "\n";
        if (!a.tools.empty()) std::cout << "  tools: " << join(a.tools) << "\n";
        std::cout << "  description: " << a.agent_description << "\n";
      }
      if (!findings.empty()) {
        std::cout << "\nfindings:\n";
        print_findings(findings, std::cout);
      }
    }
    co_await registry.stop();
    co_return kOk;
  });
}

// --- agents watch -------------------------------------------------------------------------------

// What a change looks like to a person: status, reason, tools, name, description.
std::string signature(const agents::AgentInfo& a) {
  return std::string(agents::to_string(a.status)) + "|" + a.reason + "|" + join(a.tools) + "|" + a.agent_name +
         "|" + a.agent_description;
}

void print_agent_line(const agents::AgentInfo& a, bool json_output) {
  if (json_output) {
    bj::object line{{"event", "agent"}, {"agent", agents::to_json(a)}};
    std::cout << bj::serialize(line) << std::endl;
    return;
  }
  std::cout << a.agent_id << "  [" << agents::to_string(a.status) << "]";
  if (!a.tools.empty()) std::cout << "  tools: " << join(a.tools);
  if (!a.reason.empty()) std::cout << "  reason: " << a.reason;
  std::cout << std::endl;
}

int cmd_agents_watch(const SecretArgs& args, double refresh_s) {
  return with_source(args, [&](net::any_io_executor ex, std::shared_ptr<agents::SecretSource> source) -> awaitable<int> {
    auto opt = registry_options(args);
    opt.listen = true;  // hear tools/list_changed
    opt.refresh_interval = std::chrono::milliseconds(static_cast<long>(refresh_s * 1000));
    agents::AgentRegistry registry(ex, source, opt);
    auto started = co_await registry.start();
    if (!started) print_error(started.error());  // the refresh loop keeps trying
    net::signal_set signals(ex, SIGINT, SIGTERM);
    bool stopping = false;
    signals.async_wait([&](boost::system::error_code ec, int) {
      if (!ec) stopping = true;
    });
    std::map<std::string, std::string> shown;  // agent id -> signature last printed
    std::string shown_findings;
    net::steady_timer tick(ex);
    while (!stopping) {
      auto list = registry.list_available_agents();
      std::set<std::string> present;
      for (const auto& a : list) {
        present.insert(a.agent_id);
        auto sig = signature(a);
        if (shown[a.agent_id] != sig) {
          shown[a.agent_id] = sig;
          print_agent_line(a, args.json_output);
        }
      }
      for (auto it = shown.begin(); it != shown.end();) {
        if (present.contains(it->first)) {
          ++it;
          continue;
        }
        if (args.json_output) {
          bj::object line{{"event", "removed"}, {"agent_id", it->first}};
          std::cout << bj::serialize(line) << std::endl;
        } else {
          std::cout << it->first << "  [removed]" << std::endl;
        }
        it = shown.erase(it);
      }
      auto findings = registry.findings_json();
      std::string text = bj::serialize(findings);
      if (text != shown_findings) {
        shown_findings = text;
        if (args.json_output) {
          bj::object line{{"event", "findings"}, {"findings", findings}};
          std::cout << bj::serialize(line) << std::endl;
        } else {
          print_findings(registry.findings(), std::cout);
          std::cout.flush();
        }
      }
      tick.expires_after(std::chrono::milliseconds(200));
      co_await tick.async_wait(net::as_tuple(net::use_awaitable));
    }
    co_await registry.stop();
    co_return kOk;
  });
}

// --- doctor -------------------------------------------------------------------------------------

struct Step {
  std::string name;
  bool ok = false;
  std::chrono::microseconds took{0};
  std::string detail;
  std::string fix;
};

class Stopwatch {
 public:
  std::chrono::microseconds lap() {
    auto now = std::chrono::steady_clock::now();
    auto d = std::chrono::duration_cast<std::chrono::microseconds>(now - start_);
    start_ = now;
    return d;
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

using agents::advice::kCognito;
using agents::advice::kInitialize;
using agents::advice::kNetwork;
using agents::advice::kTls;
using agents::advice::kTools;

// DNS, TCP and (for https) TLS to the entry's server, each as a step.
awaitable<bool> probe_network(const agents::AgentEntry& e, std::vector<Step>& steps,
                              std::chrono::milliseconds timeout) {
  auto ex = co_await net::this_coro::executor;
  auto url = http::check_url(e.mcp_url, "mcp_url", http::UrlRules{.allow_link_local = e.allow_link_local});
  if (!url) {
    steps.push_back({"url", false, {}, url.error().message(), "fix mcp_url in the secret"});
    co_return false;
  }
  const bool tls = url->scheme == "https";
  std::string host = url->host;
  if (host.starts_with('[') && host.ends_with(']')) host = host.substr(1, host.size() - 2);
  std::string port = std::to_string(url->port);
  steps.push_back({"url", true, {}, std::string(tls ? "https" : "http on loopback") + ", host " + host + ", port " + port, ""});

  Stopwatch sw;
  net::ip::tcp::resolver resolver(ex);
  net::steady_timer deadline(ex);
  bool timed_out = false;
  deadline.expires_after(timeout);
  deadline.async_wait([&](boost::system::error_code ec) {
    if (!ec) {
      timed_out = true;
      resolver.cancel();
    }
  });
  auto [rec, results] = co_await resolver.async_resolve(host, port, net::as_tuple(net::use_awaitable));
  deadline.cancel();
  if (rec) {
    steps.push_back({"dns", false, sw.lap(), timed_out ? "timed out" : rec.message(),
                     "Check the host name in mcp_url; it must resolve from here"});
    co_return false;
  }
  std::string addresses;
  for (const auto& r : results) {
    if (!addresses.empty()) addresses += ", ";
    addresses += r.endpoint().address().to_string();
    auto why = http::link_local_reason(r.endpoint().address().to_string());
    if (why && !e.allow_link_local) {
      steps.push_back({"dns", false, sw.lap(), host + " resolves to " + *why + " (refused)",
                       "Point mcp_url at the server's real address, or set \"allow_link_local\": "
                       "true in the entry if the server really is there"});
      co_return false;
    }
  }
  steps.push_back({"dns", true, sw.lap(), addresses, ""});

  net::ip::tcp::socket socket(ex);
  timed_out = false;
  deadline.expires_after(timeout);
  deadline.async_wait([&](boost::system::error_code ec) {
    if (!ec) {
      timed_out = true;
      boost::system::error_code ignored;
      socket.close(ignored);
    }
  });
  auto [cec, ep] = co_await net::async_connect(socket, results, net::as_tuple(net::use_awaitable));
  deadline.cancel();
  if (cec) {
    steps.push_back({"tcp", false, sw.lap(), timed_out ? "timed out" : cec.message(), kNetwork});
    co_return false;
  }
  steps.push_back({"tcp", true, sw.lap(), "connected to " + ep.address().to_string() + ":" + std::to_string(ep.port()), ""});
  if (!tls) co_return true;

  net::ssl::context ctx(net::ssl::context::tls_client);
  boost::system::error_code ec;
  if (!e.ca_file.empty()) {
    ctx.load_verify_file(e.ca_file, ec);
  } else {
    ctx.set_default_verify_paths(ec);
  }
  if (ec) {
    steps.push_back({"tls", false, sw.lap(), "CA store: " + ec.message(), kTls});
    co_return false;
  }
  ctx.set_verify_mode(net::ssl::verify_peer);
  net::ssl::stream<net::ip::tcp::socket&> stream(socket, ctx);
  SSL_set_tlsext_host_name(stream.native_handle(), host.c_str());
  stream.set_verify_callback(net::ssl::host_name_verification(host));
  timed_out = false;
  deadline.expires_after(timeout);
  deadline.async_wait([&](boost::system::error_code wec) {
    if (!wec) {
      timed_out = true;
      boost::system::error_code ignored;
      socket.close(ignored);
    }
  });
  auto [hec] = co_await stream.async_handshake(net::ssl::stream_base::client, net::as_tuple(net::use_awaitable));
  deadline.cancel();
  if (hec) {
    std::string why = timed_out ? "timed out" : hec.message();
    long verify = SSL_get_verify_result(stream.native_handle());
    if (verify != X509_V_OK) why += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
    steps.push_back({"tls", false, sw.lap(), why, kTls});
    co_return false;
  }
  steps.push_back({"tls", true, sw.lap(), std::string(SSL_get_version(stream.native_handle())) + ", certificate valid for " + host, ""});
  co_return true;
}

awaitable<std::vector<Step>> diagnose(const agents::AgentEntry& e, const SecretArgs& args) {
  auto ex = co_await net::this_coro::executor;
  std::vector<Step> steps;
  auto timeout = std::chrono::milliseconds(static_cast<long>((e.timeout_seconds ? *e.timeout_seconds : args.timeout_s) * 1000));
  if (!co_await probe_network(e, steps, timeout)) co_return steps;

  Stopwatch sw;
  http::ClientOptions base;
  base.connect_timeout = timeout;
  const http::ClientOptions http = agents::entry_http_options(e, base);
  std::shared_ptr<mcp::TokenProvider> provider;
  // oauth2: the server's challenge starts the sign-in, so its step comes after connect.
  std::shared_ptr<auth::McpOAuthProvider> oauth2;
  switch (e.auth) {
    case agents::AuthType::kCognito: {
      auth::CognitoConfig cfg{.user_pool_id = e.cognito->user_pool_id,
                              .client_id = e.cognito->client_id,
                              .client_secret = e.cognito->client_secret,
                              .username = e.cognito->username,
                              .password = e.cognito->password,
                              .endpoint = args.cognito_endpoint};
      auth::CognitoClient client(ex, http);
      auto t = co_await client.sign_in(cfg);
      if (!t) {
        steps.push_back({"sign-in", false, sw.lap(), t.error().message(), kCognito});
        co_return steps;
      }
      auto left = std::chrono::duration_cast<std::chrono::seconds>(t->expires - std::chrono::system_clock::now());
      steps.push_back({"sign-in", true, sw.lap(),
                       "Cognito USER_PASSWORD_AUTH as " + e.cognito->username + ", token valid " +
                           std::to_string(left.count()) + " s", ""});
      provider = std::make_shared<mcp::StaticTokenProvider>(t->access_token);
      break;
    }
    case agents::AuthType::kOAuth2:
      oauth2 = std::dynamic_pointer_cast<auth::McpOAuthProvider>(
          agents::make_token_provider(e, ex, base, args.cognito_endpoint));
      provider = oauth2;
      break;
    case agents::AuthType::kOAuth2ClientCredentials: {
      auth::ClientCredentialsConfig cfg{.token_url = e.oauth->token_url, .client_id = e.oauth->client_id,
                                        .client_secret = e.oauth->client_secret, .scope = e.oauth->scope};
      auto p = std::make_shared<auth::ClientCredentialsTokenProvider>(ex, std::move(cfg), http);
      auto t = co_await p->token(false);
      if (!t) {
        steps.push_back({"sign-in", false, sw.lap(), t.error().message(),
                         "Check auth.token_url, auth.client_id and auth.client_secret in the entry"});
        co_return steps;
      }
      steps.push_back({"sign-in", true, sw.lap(), "OAuth 2.0 client credentials at " + e.oauth->token_url, ""});
      provider = p;
      break;
    }
    case agents::AuthType::kBearer:
      steps.push_back({"sign-in", true, sw.lap(), "static bearer token from the secret", ""});
      provider = std::make_shared<mcp::StaticTokenProvider>(*e.bearer_token);
      break;
    case agents::AuthType::kNone:
      steps.push_back({"sign-in", true, sw.lap(), "none (loopback server without auth)", ""});
      break;
  }

  mcp::ClientOptions mo;
  mo.token_provider = provider;
  mo.listen = false;
  mo.timeout = timeout;
  mo.http = http;
  if (e.transport == agents::Transport::kSse) mo.transport = mcp::ClientOptions::Transport::kLegacySse;
  for (const auto& [name, value] : e.headers) mo.headers.add(name, value.reveal());
  mcp::Client client(ex, e.mcp_url, mo);
  auto connected = co_await client.connect();
  if (oauth2) {
    auto got = oauth2->info();
    if (got.access_token.empty() && !connected) {
      steps.push_back({"sign-in", false, sw.lap(), connected.error().message(),
                       "Check auth.client_id and auth.client_secret (or auth.private_key) in the "
                       "entry, and that the authorization server allows this client the "
                       "client_credentials grant and its scopes"});
      co_return steps;
    }
    std::string detail = "OAuth 2.0 client credentials (MCP authorization)";
    if (!got.access_token.empty()) {
      detail += " as client " + got.client_id + " at " +
                (got.authorization_server.empty() ? e.oauth2->token_endpoint : got.authorization_server) +
                (got.scope.empty() ? "" : ", scopes: " + got.scope);
    } else {
      detail += ": the server asked for no token";
    }
    steps.push_back({"sign-in", true, sw.lap(), detail, ""});
  }
  if (!connected) {
    steps.push_back({"connect", false, sw.lap(), connected.error().message(), kInitialize});
    co_return steps;
  }
  const bool modern = client.era() == mcp::ProtocolEra::kModern;
  steps.push_back({"connect", true, sw.lap(),
                   client.server_info().name + " " + client.server_info().version + ", MCP " + client.protocol_version() +
                       (modern ? " (server/discover, stateless)" : " (initialize, session)"), ""});
  auto tools = co_await client.list_tools();
  if (!tools) {
    steps.push_back({"tools/list", false, sw.lap(), tools.error().message(), kTools});
  } else {
    std::vector<std::string> kept;
    for (const auto& t : *tools) {
      if (agents::tool_allowed(e, t.name)) kept.push_back(e.tool_prefix + t.name);
    }
    bool ok = !kept.empty();
    std::string detail = std::to_string(tools->size()) + " tools, " + std::to_string(kept.size()) + " after allow/deny";
    if (!kept.empty()) detail += ": " + join(kept);
    steps.push_back({"tools/list", ok, sw.lap(), detail, ok ? "" : kTools});
  }
  co_await client.close();
  co_return steps;
}

int cmd_doctor(const SecretArgs& args) {
  return run([&]() -> awaitable<int> {
    auto ex = co_await net::this_coro::executor;
    auto source = open_source(args.secret, ex);
    if (!source) {
      print_error(source.error());
      std::cerr << "  fix: pass --secret file://PATH (or env://VAR, aws-secretsmanager://NAME), or set "
                   "AWS_STACK_NAME to read {stack}/external-mcp-agents/credentials\n";
      co_return kFailed;
    }
    Stopwatch sw;
    auto value = co_await (*source)->read();
    if (!value) {
      std::cout << "secret  FAIL  " << (*source)->describe() << ": " << value.error().message() << "\n";
      std::cout << "  fix: verify the secret exists at {StackName}/external-mcp-agents/credentials (see the "
                   "stack outputs for the exact name) and that these credentials may read it\n";
      co_return kFailed;
    }
    auto checked = agents::validate_secret(value->text);
    std::size_t total = array_size(value->text.reveal());
    std::cout << "secret  ok  " << (*source)->describe() << " (" << sw.lap().count() / 1000.0 << " ms): " << total
              << " entries, " << checked.entries.size() << " usable\n";
    for (const auto& w : (*source)->warnings()) std::cout << "  warning: " << w << "\n";
    bool all_ready = checked.entries.size() == total && total > 0;
    for (const auto& f : checked.findings) {
      if (f.index == agents::Finding::kWholeSecret && f.severity == agents::Severity::kError) {
        std::cout << "  error: " << f.message
                  << "\n  fix: the secret must be a valid JSON array of server objects (not a single object)\n";
      }
    }
    for (std::size_t i = 0; i < total; ++i) {
      const agents::AgentEntry* entry = entry_at(checked, i);
      std::cout << "\nentry " << i + 1;
      if (!entry) {
        std::cout << ": skipped\n";
        print_findings_of(checked, static_cast<int>(i), std::cout);
        std::cout << "  fix: correct the fields named above in the secret\n";
        continue;
      }
      std::cout << ": " << entry->id << " (" << entry->name << ") " << entry->mcp_url << "\n";
      if (!entry->enabled) {
        std::cout << "  disabled (\"enabled\": false): not checked\n";
        continue;
      }
      auto steps = co_await diagnose(*entry, args);
      bool ok = !steps.empty() && steps.back().ok && steps.back().name == "tools/list";
      for (const auto& s : steps) {
        char line[64];
        std::snprintf(line, sizeof line, "  %-11s %-4s %7.1f ms  ", s.name.c_str(), s.ok ? "ok" : "FAIL",
                      static_cast<double>(s.took.count()) / 1000.0);
        std::cout << line << s.detail << "\n";
        if (!s.ok && !s.fix.empty()) std::cout << "              fix: " << s.fix << "\n";
      }
      std::cout << "  => " << (ok ? "ready" : "not ready") << "\n";
      all_ready = all_ready && ok;
    }
    co_return all_ready ? kOk : kFailed;
  });
}

void add_secret_options(CLI::App* sub, SecretArgs& a, bool positional) {
  if (positional) {
    sub->add_option("source", a.secret,
                    "aws-secretsmanager://NAME[?region=R], file://PATH or env://VAR (default: "
                    "aws-secretsmanager://$AWS_STACK_NAME/external-mcp-agents/credentials)");
  } else {
    sub->add_option("--secret", a.secret,
                    "aws-secretsmanager://NAME[?region=R], file://PATH or env://VAR (default: "
                    "aws-secretsmanager://$AWS_STACK_NAME/external-mcp-agents/credentials)");
  }
  sub->add_flag("--json", a.json_output, "machine-readable output");
}

void add_discovery_options(CLI::App* sub, SecretArgs& a) {
  sub->add_option("--cognito-endpoint", a.cognito_endpoint,
                  "Cognito endpoint for every entry (default: AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER, else the pool's region)");
  sub->add_option("--timeout", a.timeout_s, "seconds per server when the entry sets no timeout_seconds")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
}

}  // namespace

void register_agents_commands(CLI::App& app, Commands& out) {
  auto check_args = std::make_shared<SecretArgs>();
  auto* secret = app.add_subcommand("secret", "the External MCP Agents secret");
  secret->require_subcommand(1);
  auto* check = secret->add_subcommand("check", "validate the secret and show each entry's findings (exit 1 when no entry is usable)");
  add_secret_options(check, *check_args, /*positional=*/true);
  out.push_back({check, [check_args] { return cmd_secret_check(*check_args); }});

  auto list_args = std::make_shared<SecretArgs>();
  auto* agents_cmd = app.add_subcommand("agents", "the agents the secret defines");
  agents_cmd->require_subcommand(1);
  auto* list = agents_cmd->add_subcommand(
      "list", "discover every agent (in parallel) and show id, name, status, tools and description");
  add_secret_options(list, *list_args, /*positional=*/false);
  add_discovery_options(list, *list_args);
  out.push_back({list, [list_args] { return cmd_agents_list(*list_args); }});

  auto watch_args = std::make_shared<SecretArgs>();
  auto refresh_s = std::make_shared<double>(30);
  auto* watch = agents_cmd->add_subcommand(
      "watch", "keep the registry running and print each agent again whenever it changes (status, tools); Ctrl-C stops");
  add_secret_options(watch, *watch_args, /*positional=*/false);
  add_discovery_options(watch, *watch_args);
  watch->add_option("--refresh-seconds", *refresh_s, "how often the secret's version is checked")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  out.push_back({watch, [watch_args, refresh_s] { return cmd_agents_watch(*watch_args, *refresh_s); }});

  auto doctor_args = std::make_shared<SecretArgs>();
  auto* doctor = app.add_subcommand(
      "doctor", "check every entry step by step (URL, DNS, TCP, TLS, sign-in, initialize, tools/list) with fixes; exit 0 only when all are ready");
  doctor->add_option("--secret", doctor_args->secret,
                     "aws-secretsmanager://NAME[?region=R], file://PATH or env://VAR (default: "
                     "aws-secretsmanager://$AWS_STACK_NAME/external-mcp-agents/credentials)");
  add_discovery_options(doctor, *doctor_args);
  out.push_back({doctor, [doctor_args] { return cmd_doctor(*doctor_args); }});
}

}  // namespace idp::cli
