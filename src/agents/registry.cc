// The agent registry in one file, past the usual ~600 lines: its State lives on one strand and
// every step (discovery, retries, list_changed, reload of the secret, stop) reads and writes the
// same agents map and snapshot (tool calls do not: they read the published snapshot and run on
// the caller's executor); splitting the steps across files would expose that state in a
// header. The JSON view of AgentInfo and the small async helpers at the top are the first to move
// out when it grows.
#include "idp/agents/registry.h"
#include "idp/core/clock.h"

#include <fmt/format.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <deque>
#include <map>
#include <mutex>
#include <set>

#include "idp/agents/entry_auth.h"
#include "idp/core/log.h"

namespace idp::agents {

namespace net = boost::asio;
namespace bj = boost::json;
using net::awaitable;
using namespace net::experimental::awaitable_operators;
using Strand = net::strand<net::any_io_executor>;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::string_view kDefaultDescription =
    "Agent which connects to external MCP servers to provide additional tools and capabilities.";
constexpr auto kCloseBound = std::chrono::seconds(2);

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& i : items) {
    if (!out.empty()) out += sep;
    out += i;
  }
  return out;
}

// mcp_url without user info and query: safe to show.
std::string display_url(std::string_view url) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) return "(invalid URL)";
  std::string out = std::string(parsed->scheme()) + "://" + std::string(parsed->encoded_host());
  if (parsed->has_port()) out += ":" + std::string(parsed->port());
  out += std::string(parsed->encoded_path());
  return out;
}

std::string rfc3339(std::chrono::system_clock::time_point t) { return format_utc(t); }

std::string seconds_text(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return fmt::format("{} s", d.count() / 1000);
  return fmt::format("{:.1f} s", static_cast<double>(d.count()) / 1000.0);
}

// Counts finished coroutines; wait() returns once all have finished. Strand-only.
class Latch {
 public:
  Latch(Strand strand, std::size_t count)
      : remaining_(count), timer_(strand, Clock::time_point::max()) {}
  void count_down() {
    if (remaining_ > 0 && --remaining_ == 0) timer_.cancel();
  }
  awaitable<void> wait() {
    if (remaining_ == 0) co_return;
    co_await timer_.async_wait(net::as_tuple(net::use_awaitable));
  }

 private:
  std::size_t remaining_;
  net::steady_timer timer_;
};

// Serializes reloads (the periodic one and refresh()). Strand-only.
class AsyncMutex {
 public:
  awaitable<void> lock(Strand strand) {
    while (locked_) {
      auto t = std::make_shared<net::steady_timer>(strand, Clock::time_point::max());
      waiters_.push_back(t);
      co_await t->async_wait(net::as_tuple(net::use_awaitable));
    }
    locked_ = true;
  }
  void unlock() {
    locked_ = false;
    if (!waiters_.empty()) {
      waiters_.front()->cancel();
      waiters_.pop_front();
    }
  }

 private:
  bool locked_ = false;
  std::deque<std::shared_ptr<net::steady_timer>> waiters_;
};

}  // namespace

const char* to_string(AgentStatus status) {
  switch (status) {
    case AgentStatus::kReady:
      return "ready";
    case AgentStatus::kUnavailable:
      return "unavailable";
    case AgentStatus::kDisabled:
      return "disabled";
  }
  return "unknown";
}

bj::object to_json(const AgentInfo& info) {
  bj::object o;
  o["agent_id"] = info.agent_id;
  o["agent_name"] = info.agent_name;
  o["agent_description"] = info.agent_description;
  bj::array queries;
  for (const auto& q : info.sample_queries) queries.emplace_back(q);
  o["sample_queries"] = std::move(queries);
  o["status"] = to_string(info.status);
  o["reason"] = info.reason;
  bj::array tools;
  for (const auto& t : info.tools) tools.emplace_back(t);
  o["tools"] = std::move(tools);
  if (info.last_checked) {
    o["last_checked"] = rfc3339(*info.last_checked);
  } else {
    o["last_checked"] = nullptr;
  }
  o["entry"] = static_cast<std::int64_t>(info.entry_index) + 1;
  o["server"] = info.server;
  o["transport"] = to_string(info.transport);
  o["auth"] = to_string(info.auth);
  return o;
}

bj::array agents_to_json(const std::vector<AgentInfo>& agents) {
  bj::array out;
  for (const auto& a : agents) out.push_back(to_json(a));
  return out;
}

// ---- state ------------------------------------------------------------------------------------

namespace {

struct Agent {
  AgentEntry entry;
  AgentStatus status = AgentStatus::kUnavailable;
  std::string reason = "not checked yet";
  std::vector<mcp::Tool> tools;                    // as exposed (prefixed)
  std::map<std::string, std::string> server_name;  // exposed name -> the server's name
  std::optional<std::chrono::system_clock::time_point> last_checked;
  Clock::time_point last_attempt{};
  std::shared_ptr<mcp::TokenProvider> provider;
  std::shared_ptr<mcp::Client> client;             // while ready
  std::shared_ptr<net::steady_timer> retry_timer;  // while a retry loop waits
  int failures = 0;                                // consecutive failed attempts
  bool rejected_credentials = false;               // the last failure was a refused sign-in
  bool retrying = false;
  bool discovering = false;
  bool relisting = false;
  bool relist_again = false;
  bool removed = false;

  std::chrono::milliseconds discovery_timeout(const RegistryOptions& opt) const {
    if (entry.timeout_seconds) {
      return std::chrono::milliseconds(
          static_cast<long long>(std::llround(*entry.timeout_seconds * 1000)));
    }
    return opt.default_timeout;
  }
};

struct Snapshot {
  std::vector<AgentInfo> agents;
  std::map<std::string, std::vector<mcp::Tool>, std::less<>> tools;
  std::map<std::string, std::shared_ptr<mcp::Client>, std::less<>> clients;
  // Ready agents: exposed tool name -> the server's name (what call_tool needs).
  std::map<std::string, std::map<std::string, std::string, std::less<>>, std::less<>> server_names;
  // Ready agents whose entry sets timeout_seconds: the bound on every request to that server.
  std::map<std::string, std::chrono::milliseconds, std::less<>> call_bounds;
  std::vector<Finding> findings;
  std::string version;
};

}  // namespace

struct AgentRegistry::State : std::enable_shared_from_this<AgentRegistry::State> {
  State(net::any_io_executor ex, std::shared_ptr<SecretSource> src, RegistryOptions o)
      : executor(ex),
        strand(net::make_strand(ex)),
        source(std::move(src)),
        opt(std::move(o)),
        refresh_timer(strand) {
    if (opt.retry_max.count() <= 0) opt.retry_max = opt.refresh_interval;
  }

  net::any_io_executor executor;
  Strand strand;
  std::shared_ptr<SecretSource> source;
  RegistryOptions opt;

  // Strand-only state.
  std::vector<std::shared_ptr<Agent>> agents;  // in secret order
  std::vector<Finding> validation;
  std::vector<std::string> source_warnings;
  std::optional<Error> read_error;
  std::string version;
  bool have_version = false;
  bool started = false;
  bool stopped = false;
  net::steady_timer refresh_timer;
  AsyncMutex reload_mutex;

  // Published for readers on any thread.
  mutable std::mutex mu;
  Snapshot snap;
  RegistryStats counters;

  void bump(std::size_t RegistryStats::*field) {
    std::lock_guard lock(mu);
    ++(counters.*field);
  }

  std::shared_ptr<Agent> find(std::string_view id) const {
    for (const auto& a : agents) {
      if (a->entry.id == id) return a;
    }
    return nullptr;
  }

  AgentInfo info_of(const Agent& a) const {
    AgentInfo i;
    i.agent_id = a.entry.id;
    i.agent_name = a.entry.name;
    i.agent_description = a.entry.description.value_or(std::string(kDefaultDescription));
    std::vector<std::string> names;
    for (const auto& t : a.tools) names.push_back(t.name);
    if (a.status == AgentStatus::kReady && !names.empty()) {
      i.agent_description += " The tools available are: " + join(names, ", ") + ".";
    }
    i.sample_queries = a.entry.sample_queries;
    i.status = a.status;
    i.reason = a.status == AgentStatus::kReady ? std::string() : a.reason;
    i.tools = a.status == AgentStatus::kReady ? names : std::vector<std::string>{};
    i.last_checked = a.last_checked;
    i.entry_index = a.entry.index;
    i.server = display_url(a.entry.mcp_url);
    i.transport = a.entry.transport;
    i.auth = a.entry.auth;
    return i;
  }

  void publish() {
    Snapshot s;
    for (const auto& a : agents) {
      s.agents.push_back(info_of(*a));
      if (a->status == AgentStatus::kReady) {
        s.tools.emplace(a->entry.id, a->tools);
        if (a->client) s.clients.emplace(a->entry.id, a->client);
        s.server_names.emplace(a->entry.id, std::map<std::string, std::string, std::less<>>(
                                                 a->server_name.begin(), a->server_name.end()));
        if (a->entry.timeout_seconds) s.call_bounds.emplace(a->entry.id, a->discovery_timeout(opt));
      }
    }
    s.findings = validation;
    if (read_error) {
      s.findings.insert(s.findings.begin(),
                        Finding{Finding::kWholeSecret, "", Severity::kError,
                                fmt::format("cannot read the secret from {}: {}",
                                            source->describe(), read_error->message())});
    }
    for (const auto& w : source_warnings) {
      s.findings.insert(s.findings.begin(),
                        Finding{Finding::kWholeSecret, "", Severity::kWarning, w});
    }
    s.version = version;
    std::lock_guard lock(mu);
    std::swap(snap, s);
    // `s` (the old snapshot, with its client references) dies here, on the strand.
  }

  std::shared_ptr<mcp::TokenProvider> make_provider(const AgentEntry& e) {
    net::any_io_executor ex = strand;
    if (opt.token_provider_factory) return opt.token_provider_factory(e, ex);
    return make_token_provider(e, ex, opt.http, opt.cognito_endpoint);
  }

  std::shared_ptr<Agent> make_agent(const AgentEntry& e) {
    auto a = std::make_shared<Agent>();
    a->entry = e;
    if (!e.enabled) {
      a->status = AgentStatus::kDisabled;
      a->reason = "disabled in the secret (enabled: false)";
    } else {
      a->provider = make_provider(e);
    }
    return a;
  }

  mcp::ClientOptions client_options(const std::shared_ptr<Agent>& a) {
    const AgentEntry& e = a->entry;
    mcp::ClientOptions co;
    for (const auto& [name, value] : e.headers) co.headers.add(name, value.reveal());
    co.token_provider = a->provider;
    auto bound = a->discovery_timeout(opt);
    // timeout_seconds bounds every request to this server; without it tool calls keep the
    // client's default (progress resets it).
    if (e.timeout_seconds) co.timeout = bound;
    co.http = entry_http_options(e, opt.http);
    co.http.connect_timeout = std::min(co.http.connect_timeout, bound);
    co.listen = opt.listen;
    co.transport = e.transport == Transport::kSse ? mcp::ClientOptions::Transport::kLegacySse
                                                  : mcp::ClientOptions::Transport::kStreamableHttp;
    std::weak_ptr<State> ws = weak_from_this();
    std::weak_ptr<Agent> wa = a;
    // A hook may run on the executor of the call whose stream brought the notification (calls
    // do not run on the strand): the agent's state is reached on the strand only.
    co.hooks.tools_changed = [ws, wa] {
      auto s = ws.lock();
      auto ag = wa.lock();
      if (s && ag) net::dispatch(s->strand, [s, ag] { s->on_tools_changed(ag); });
    };
    return co;
  }

  void apply_tools(Agent& a, const std::vector<mcp::Tool>& listed) {
    a.tools.clear();
    a.server_name.clear();
    for (const auto& t : listed) {
      if (!tool_allowed(a.entry, t.name)) continue;
      mcp::Tool exposed = t;
      exposed.name = a.entry.tool_prefix + t.name;
      a.server_name.emplace(exposed.name, t.name);
      a.tools.push_back(std::move(exposed));
    }
  }

  // ---- discovery ----

  static awaitable<Result<std::vector<mcp::Tool>>> connect_and_list(
      std::shared_ptr<Agent> a, std::shared_ptr<mcp::Client> client) {
    if (a->provider) {
      bool refresh = false;
      auto token = co_await a->provider->token(refresh);
      if (!token) {
        co_return std::unexpected(
            token.error().with_context("cannot get a token for " + a->entry.name));
      }
    }
    auto connected = co_await client->connect();
    if (!connected) co_return std::unexpected(connected.error());
    auto listed = co_await client->list_tools();
    co_return listed;
  }

  static awaitable<void> wait_timer(std::shared_ptr<net::steady_timer> timer) {
    co_await timer->async_wait(net::as_tuple(net::use_awaitable));
  }

  static awaitable<void> close_client(std::shared_ptr<mcp::Client> client, Strand strand) {
    auto timer = std::make_shared<net::steady_timer>(strand, kCloseBound);
    auto closing = client->close();
    auto bound = wait_timer(timer);
    auto first = std::move(closing) || std::move(bound);
    (void)co_await std::move(first);
  }

  void close_later(std::shared_ptr<mcp::Client> client) {
    if (!client) return;
    net::co_spawn(strand, close_client(std::move(client), strand), net::detached);
  }

  // One attempt: token, connect, tools/list, bounded by the entry's timeout. True when ready.
  static awaitable<bool> discover_once(std::shared_ptr<State> self, std::shared_ptr<Agent> a) {
    if (a->removed || self->stopped || a->status == AgentStatus::kDisabled) co_return false;
    a->discovering = true;
    a->last_attempt = Clock::now();
    self->bump(&RegistryStats::discovery_attempts);
    auto bound = a->discovery_timeout(self->opt);
    auto client =
        std::make_shared<mcp::Client>(self->strand, a->entry.mcp_url, self->client_options(a));
    auto timer = std::make_shared<net::steady_timer>(self->strand, bound);
    auto work = connect_and_list(a, client);
    auto deadline = wait_timer(timer);
    auto first = std::move(work) || std::move(deadline);
    auto raced = co_await std::move(first);
    a->discovering = false;
    a->last_checked = std::chrono::system_clock::now();
    Result<std::vector<mcp::Tool>> listed =
        raced.index() == 0 ? std::move(std::get<0>(raced))
                           : Result<std::vector<mcp::Tool>>(std::unexpected(Error(
                                 ErrorCode::kTimeout,
                                 fmt::format("no answer from {} within {} (timeout_seconds)",
                                             display_url(a->entry.mcp_url), seconds_text(bound)))));
    if (a->removed || self->stopped) {
      self->close_later(client);
      co_return false;
    }
    if (!listed) {
      a->status = AgentStatus::kUnavailable;
      // The same failure again is a debug line: a dead server must not flood the log.
      bool same = a->failures > 0 && a->reason == listed.error().message();
      a->reason = listed.error().message();
      a->rejected_credentials = listed.error().code() == ErrorCode::kUnauthenticated;
      ++a->failures;
      if (same) {
        log::debug("agent {}: still unavailable (attempt {}): {}", a->entry.id, a->failures, a->reason);
      } else {
        log::warn("agent {}: unavailable: {}", a->entry.id, a->reason);
      }
      self->close_later(client);
      self->publish();
      co_return false;
    }
    self->apply_tools(*a, *listed);
    a->client = client;
    a->status = AgentStatus::kReady;
    a->reason.clear();
    a->failures = 0;
    a->rejected_credentials = false;
    log::info("agent {}: ready with {} tools from {}", a->entry.id, a->tools.size(),
              display_url(a->entry.mcp_url));
    self->publish();
    co_return true;
  }

  static awaitable<void> discover(std::shared_ptr<State> self, std::shared_ptr<Agent> a) {
    bool ok = co_await discover_once(self, a);
    if (!ok) self->schedule_retry(a);
  }

  // 1 s, 2 s, 4 s, ... up to retry_max. Refused credentials back off to at least 5 minutes:
  // retrying a wrong password every interval could lock the account (Cognito's lockout
  // policies); refresh() and a new version of the entry still retry at once.
  std::chrono::milliseconds backoff(int failures, bool rejected_credentials) const {
    auto cap = opt.retry_max;
    if (rejected_credentials) cap = std::max<std::chrono::milliseconds>(cap, std::chrono::minutes(5));
    auto delay = opt.retry_initial;
    for (int i = 1; i < failures && delay < cap; ++i) delay *= 2;
    return std::min(delay, cap);
  }

  void schedule_retry(const std::shared_ptr<Agent>& a) {
    if (a->retrying || a->removed || stopped || a->status != AgentStatus::kUnavailable) return;
    a->retrying = true;
    net::co_spawn(strand, retry_loop(shared_from_this(), a), net::detached);
  }

  static awaitable<void> retry_loop(std::shared_ptr<State> self, std::shared_ptr<Agent> a) {
    while (!a->removed && !self->stopped && a->status == AgentStatus::kUnavailable) {
      auto delay = self->backoff(std::max(a->failures, 1), a->rejected_credentials);
      a->retry_timer = std::make_shared<net::steady_timer>(self->strand, delay);
      auto timer = a->retry_timer;
      co_await timer->async_wait(net::as_tuple(net::use_awaitable));
      if (a->removed || self->stopped || a->status != AgentStatus::kUnavailable) break;
      if (a->discovering) continue;  // refresh() is trying it right now
      (void)co_await discover_once(self, a);
    }
    a->retry_timer.reset();
    a->retrying = false;
  }

  // Runs discover() for every agent at once and waits for all of them.
  static awaitable<void> run_discovery(std::shared_ptr<State> self,
                                       std::vector<std::shared_ptr<Agent>> list,
                                       bool retry_on_failure) {
    if (list.empty()) co_return;
    auto latch = std::make_shared<Latch>(self->strand, list.size());
    for (auto& a : list) {
      net::co_spawn(self->strand, discover_counted(self, a, latch, retry_on_failure),
                    net::detached);
    }
    co_await latch->wait();
  }

  static awaitable<void> discover_counted(std::shared_ptr<State> self, std::shared_ptr<Agent> a,
                                          std::shared_ptr<Latch> latch, bool retry_on_failure) {
    struct CountDown {
      Latch& l;
      ~CountDown() { l.count_down(); }
    } guard{*latch};
    if (retry_on_failure) {
      co_await discover(self, a);
    } else {
      bool ok = co_await discover_once(self, a);
      if (!ok) self->schedule_retry(a);
    }
  }

  // ---- tools/list_changed ----

  void on_tools_changed(const std::shared_ptr<Agent>& a) {
    if (a->removed || stopped) return;
    if (a->relisting) {
      a->relist_again = true;
      return;
    }
    a->relisting = true;
    net::co_spawn(strand, relist(shared_from_this(), a), net::detached);
  }

  static awaitable<void> relist(std::shared_ptr<State> self, std::shared_ptr<Agent> a) {
    do {
      a->relist_again = false;
      auto client = a->client;
      if (!client || a->removed || self->stopped) break;
      self->bump(&RegistryStats::relists);
      auto listed = co_await client->list_tools();
      if (a->removed || self->stopped) break;
      if (a->client != client) continue;  // replaced meanwhile
      a->last_checked = std::chrono::system_clock::now();
      if (listed) {
        self->apply_tools(*a, *listed);
        log::info("agent {}: tools changed, now {}", a->entry.id, a->tools.size());
      } else {
        self->mark_unavailable(a, listed.error().message());
      }
      self->publish();
    } while (a->relist_again);
    a->relisting = false;
  }

  void mark_unavailable(const std::shared_ptr<Agent>& a, std::string reason) {
    log::warn("agent {}: unavailable: {}", a->entry.id, reason);
    a->status = AgentStatus::kUnavailable;
    a->reason = std::move(reason);
    a->tools.clear();
    a->server_name.clear();
    close_later(std::move(a->client));
    a->client.reset();
    a->failures = 1;
    schedule_retry(a);
  }

  void retire(const std::shared_ptr<Agent>& a) {
    a->removed = true;
    if (a->retry_timer) a->retry_timer->cancel();
    close_later(std::move(a->client));
    a->client.reset();
  }

  // ---- versions of the secret ----

  static awaitable<Result<void>> reload(std::shared_ptr<State> self, bool force_read) {
    co_await self->reload_mutex.lock(self->strand);
    struct Unlock {
      AsyncMutex& m;
      ~Unlock() { m.unlock(); }
    } unlock{self->reload_mutex};
    if (self->stopped) co_return Result<void>{};

    if (!force_read && self->have_version) {
      auto current = co_await self->source->version();
      if (!current) {
        self->read_error = current.error();
        self->publish();
        co_return std::unexpected(current.error());
      }
      if (*current == self->version) {
        if (self->read_error) {
          self->read_error.reset();
          self->publish();
        }
        co_return Result<void>{};
      }
    }
    self->bump(&RegistryStats::source_reads);
    auto value = co_await self->source->read();
    if (self->stopped) co_return Result<void>{};
    if (!value) {
      log::warn("cannot read the secret from {}: {}", self->source->describe(),
                value.error().message());
      self->read_error = value.error();
      self->publish();
      co_return std::unexpected(value.error());
    }
    self->read_error.reset();
    self->source_warnings = self->source->warnings();
    for (const auto& w : self->source_warnings) log::warn("{}", w);
    if (self->have_version && value->version == self->version) {
      self->publish();
      co_return Result<void>{};
    }
    ValidatedSecret validated = validate_secret(value->text, self->opt.limits);
    for (const auto& f : validated.findings) {
      if (f.severity == Severity::kError) {
        log::warn("{}", f.message);
      } else {
        log::info("{}", f.message);
      }
    }
    self->bump(&RegistryStats::reloads);

    // A value that cannot be used at all (not JSON, not an array) is most likely an edit in
    // progress or a slip: the agents of the last good version stay until it is fixed.
    bool unusable =
        validated.entries.empty() &&
        std::any_of(validated.findings.begin(), validated.findings.end(), [](const Finding& f) {
          return f.index == Finding::kWholeSecret && f.severity == Severity::kError;
        });
    if (unusable && !self->agents.empty()) {
      self->version = value->version;
      self->have_version = true;
      self->validation = std::move(validated.findings);
      self->validation.push_back(Finding{
          Finding::kWholeSecret, "", Severity::kWarning,
          fmt::format(
              "keeping the {} agent(s) of the previous version of the secret until it is fixed",
              self->agents.size())});
      log::warn("{}", self->validation.back().message);
      self->publish();
      co_return Result<void>{};
    }

    // Unchanged entries keep their agent; new and changed ones get a new agent.
    std::vector<std::shared_ptr<Agent>> next;
    std::vector<std::shared_ptr<Agent>> fresh;
    std::set<Agent*> kept;
    for (const auto& e : validated.entries) {
      auto old = self->find(e.id);
      if (old && old->entry.fingerprint == e.fingerprint) {
        old->entry.index = e.index;
        next.push_back(old);
        kept.insert(old.get());
      } else {
        auto a = self->make_agent(e);
        next.push_back(a);
        if (a->status != AgentStatus::kDisabled) fresh.push_back(a);
      }
    }
    std::vector<std::shared_ptr<Agent>> gone;
    for (const auto& a : self->agents) {
      if (!kept.contains(a.get())) gone.push_back(a);
    }
    self->version = value->version;
    self->have_version = true;
    log::info("secret from {}: version {} with {} valid entries ({} new or changed, {} removed)",
              self->source->describe(), self->version.substr(0, 12), validated.entries.size(),
              fresh.size(), gone.size());

    co_await run_discovery(self, fresh, true);
    if (self->stopped) {
      for (const auto& a : fresh) self->retire(a);
      co_return Result<void>{};
    }
    for (const auto& a : gone) self->retire(a);
    self->agents = std::move(next);
    self->validation = std::move(validated.findings);
    self->publish();
    co_return Result<void>{};
  }

  static awaitable<void> refresh_loop(std::shared_ptr<State> self) {
    while (!self->stopped) {
      self->refresh_timer.expires_after(self->opt.refresh_interval);
      co_await self->refresh_timer.async_wait(net::as_tuple(net::use_awaitable));
      if (self->stopped) break;
      bool force = false;
      (void)co_await reload(self, force);
    }
  }

  // ---- public operations, on the strand ----

  static awaitable<Result<void>> do_start(std::shared_ptr<State> self) {
    if (self->started) {
      co_return make_error(ErrorCode::kInvalidArgument, "the agent registry is already started");
    }
    self->started = true;
    bool force = true;
    auto r = co_await reload(self, force);
    if (!self->stopped) net::co_spawn(self->strand, refresh_loop(self), net::detached);
    co_return r;
  }

  static awaitable<Result<void>> do_refresh(std::shared_ptr<State> self) {
    auto t0 = Clock::now();
    bool force = true;
    auto r = co_await reload(self, force);
    std::vector<std::shared_ptr<Agent>> again;
    for (const auto& a : self->agents) {
      if (a->status == AgentStatus::kUnavailable && !a->discovering && !a->removed &&
          a->last_attempt < t0) {
        again.push_back(a);
      }
    }
    co_await run_discovery(self, again, false);
    co_return r;
  }

  void shutdown_now() {
    stopped = true;
    refresh_timer.cancel();
    for (const auto& a : agents) {
      a->removed = true;
      if (a->retry_timer) a->retry_timer->cancel();
      a->client.reset();
    }
  }

  static awaitable<void> do_stop(std::shared_ptr<State> self) {
    if (self->stopped) co_return;
    self->stopped = true;
    self->refresh_timer.cancel();
    std::vector<std::shared_ptr<mcp::Client>> clients;
    for (const auto& a : self->agents) {
      a->removed = true;
      if (a->retry_timer) a->retry_timer->cancel();
      if (a->client) clients.push_back(std::move(a->client));
      a->client.reset();
      if (a->status == AgentStatus::kReady) {
        a->status = AgentStatus::kUnavailable;
        a->reason = "the registry stopped";
      }
    }
    self->publish();
    if (clients.empty()) co_return;
    auto latch = std::make_shared<Latch>(self->strand, clients.size());
    for (auto& c : clients) {
      net::co_spawn(self->strand, close_counted(c, self->strand, latch), net::detached);
    }
    co_await latch->wait();
  }

  static awaitable<void> close_counted(std::shared_ptr<mcp::Client> c, Strand strand,
                                       std::shared_ptr<Latch> latch) {
    struct CountDown {
      Latch& l;
      ~CountDown() { l.count_down(); }
    } guard{*latch};
    co_await close_client(std::move(c), strand);
  }

  // What one tool call needs, from the published snapshot (any thread, under `mu`): the agent's
  // client and the server's own name of the tool, or the error that answers the call.
  struct CallTarget {
    std::shared_ptr<mcp::Client> client;
    std::string server_tool;
    std::optional<std::chrono::milliseconds> bound;  // the entry's timeout_seconds, if set
  };
  Result<CallTarget> call_target(std::string_view agent_id, std::string_view tool) const {
    std::lock_guard lock(mu);
    const AgentInfo* info = nullptr;
    for (const auto& i : snap.agents) {
      if (i.agent_id == agent_id) {
        info = &i;
        break;
      }
    }
    if (!info) {
      std::vector<std::string> ids;
      for (const auto& x : snap.agents) ids.push_back(x.agent_id);
      return make_error(ErrorCode::kNotFound,
                        fmt::format("no agent '{}' (known: {})", agent_id,
                                    ids.empty() ? "none" : join(ids, ", ")));
    }
    if (info->status == AgentStatus::kDisabled) {
      return make_error(ErrorCode::kUnavailable, fmt::format("agent '{}' is disabled", agent_id));
    }
    auto client = snap.clients.find(agent_id);
    auto names = snap.server_names.find(agent_id);
    if (info->status != AgentStatus::kReady || client == snap.clients.end() ||
        names == snap.server_names.end()) {
      return make_error(ErrorCode::kUnavailable,
                        fmt::format("agent '{}' is unavailable: {}", agent_id, info->reason));
    }
    auto it = names->second.find(tool);
    if (it == names->second.end()) {
      return make_error(ErrorCode::kNotFound,
                        fmt::format("agent '{}' has no tool '{}' (its tools: {})", agent_id, tool,
                                    info->tools.empty() ? "none" : join(info->tools, ", ")));
    }
    std::optional<std::chrono::milliseconds> bound;
    if (auto b = snap.call_bounds.find(agent_id); b != snap.call_bounds.end()) bound = b->second;
    return CallTarget{client->second, it->second, bound};
  }

  // On the strand, after a call failed with kUnavailable: the agent is marked unavailable unless
  // its client was replaced meanwhile.
  static awaitable<void> after_unavailable(std::shared_ptr<State> self, std::string agent_id,
                                           std::shared_ptr<mcp::Client> client,
                                           std::string reason) {
    auto a = self->find(agent_id);
    if (a && a->client == client && !a->removed && !self->stopped) {
      self->mark_unavailable(a, std::move(reason));
      self->publish();
    }
    co_return;
  }
};

// ---- AgentRegistry ----------------------------------------------------------------------------

AgentRegistry::AgentRegistry(net::any_io_executor executor, std::shared_ptr<SecretSource> source,
                             RegistryOptions options)
    : state_(std::make_shared<State>(std::move(executor), std::move(source), std::move(options))) {}

AgentRegistry::~AgentRegistry() {
  // Background loops hold the state; wake them so that they end. Runs inline when called on
  // the strand, queued otherwise.
  net::dispatch(state_->strand, [s = state_] { s->shutdown_now(); });
}

awaitable<Result<void>> AgentRegistry::start() {
  auto self = state_;
  auto op = State::do_start(self);
  auto spawned = net::co_spawn(self->strand, std::move(op), net::use_awaitable);
  auto r = co_await std::move(spawned);
  co_return r;
}

awaitable<Result<void>> AgentRegistry::refresh() {
  auto self = state_;
  auto op = State::do_refresh(self);
  auto spawned = net::co_spawn(self->strand, std::move(op), net::use_awaitable);
  auto r = co_await std::move(spawned);
  co_return r;
}

awaitable<void> AgentRegistry::stop() {
  auto self = state_;
  auto op = State::do_stop(self);
  auto spawned = net::co_spawn(self->strand, std::move(op), net::use_awaitable);
  co_await std::move(spawned);
}

// A tool call runs on the caller's executor, not on the registry's strand: calls of every agent
// proceed in parallel on as many threads as the caller has (mcp::Client is thread-safe). Only a
// call that finds its agent unavailable goes to the strand, to mark it.
awaitable<Result<mcp::CallToolResult>> AgentRegistry::call_tool(std::string agent_id,
                                                                std::string tool,
                                                                bj::object arguments,
                                                                mcp::CallOptions options) {
  auto self = state_;
  auto target = self->call_target(agent_id, tool);
  if (!target) co_return std::unexpected(target.error());
  // The entry's timeout_seconds bounds every request to its server, a caller's longer timeout
  // (the agent loop's tool_timeout) included.
  if (target->bound && (!options.timeout || *options.timeout > *target->bound)) {
    options.timeout = target->bound;
  }
  auto r = co_await target->client->call_tool(target->server_tool, std::move(arguments),
                                              std::move(options));
  if (!r && r.error().code() == ErrorCode::kUnavailable) {
    auto op = State::after_unavailable(self, std::move(agent_id), target->client,
                                       r.error().message());
    auto spawned = net::co_spawn(self->strand, std::move(op), net::use_awaitable);
    co_await std::move(spawned);
  }
  co_return r;
}

std::vector<AgentInfo> AgentRegistry::list_available_agents() const {
  std::lock_guard lock(state_->mu);
  return state_->snap.agents;
}

std::optional<AgentInfo> AgentRegistry::agent(std::string_view agent_id) const {
  std::lock_guard lock(state_->mu);
  for (const auto& a : state_->snap.agents) {
    if (a.agent_id == agent_id) return a;
  }
  return std::nullopt;
}

std::optional<std::vector<mcp::Tool>> AgentRegistry::tools(std::string_view agent_id) const {
  std::lock_guard lock(state_->mu);
  auto it = state_->snap.tools.find(agent_id);
  if (it == state_->snap.tools.end()) return std::nullopt;
  return it->second;
}

std::shared_ptr<mcp::Client> AgentRegistry::client(std::string_view agent_id) const {
  std::lock_guard lock(state_->mu);
  auto it = state_->snap.clients.find(agent_id);
  return it == state_->snap.clients.end() ? nullptr : it->second;
}

std::vector<Finding> AgentRegistry::findings() const {
  std::lock_guard lock(state_->mu);
  return state_->snap.findings;
}

std::string AgentRegistry::version() const {
  std::lock_guard lock(state_->mu);
  return state_->snap.version;
}

RegistryStats AgentRegistry::stats() const {
  std::lock_guard lock(state_->mu);
  return state_->counters;
}

std::string AgentRegistry::source_description() const { return state_->source->describe(); }

bj::array AgentRegistry::agents_json() const { return agents_to_json(list_available_agents()); }

bj::array AgentRegistry::findings_json() const { return findings_to_json(findings()); }

net::any_io_executor AgentRegistry::executor() const { return state_->strand; }

}  // namespace idp::agents
