#include "idp/mcp/rate_limit.h"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cmath>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include "idp/core/json_util.h"

namespace idp::mcp {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::string Rate::text() const {
  std::string n =
      count == std::floor(count) ? fmt::format("{:.0f}", count) : fmt::format("{}", count);
  auto ms = period.count();
  if (ms == 1000) return n + "/s";
  if (ms == 60'000) return n + "/min";
  if (ms == 3'600'000) return n + "/h";
  if (ms % 1000 == 0) return fmt::format("{}/{}s", n, ms / 1000);
  return fmt::format("{}/{}ms", n, ms);
}

Result<Rate> parse_rate(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("invalid rate '{}': {}; expected N/s, N/min, N/h or N/<k>s, "
                                  "e.g. 5/min",
                                  text, why));
  };
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return bad("no '/'");
  std::string_view num = text.substr(0, slash), unit = text.substr(slash + 1);
  double count = 0;
  auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), count);
  if (ec != std::errc() || p != num.data() + num.size()) return bad("the count is not a number");
  if (!(count > 0) || count > 1e9) return bad("the count must be above 0 and at most 1e9");
  Rate r;
  r.count = count;
  if (unit == "s" || unit == "sec" || unit == "second") {
    r.period = milliseconds(1000);
  } else if (unit == "min" || unit == "minute" || unit == "m") {
    r.period = milliseconds(60'000);
  } else if (unit == "h" || unit == "hour") {
    r.period = milliseconds(3'600'000);
  } else if (unit.size() > 1 && unit.back() == 's') {
    long seconds = 0;
    auto digits = unit.substr(0, unit.size() - 1);
    auto [q, ec2] = std::from_chars(digits.data(), digits.data() + digits.size(), seconds);
    if (ec2 != std::errc() || q != digits.data() + digits.size() || seconds <= 0 ||
        seconds > 86'400) {
      return bad("unknown period");
    }
    r.period = milliseconds(seconds * 1000);
  } else {
    return bad("unknown period");
  }
  r.burst = count;
  return r;
}

Result<RateLimits> load_rate_limits(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return make_error(ErrorCode::kNotFound, "cannot read rate limit file " + path);
  }
  std::stringstream ss;
  ss << in.rdbuf();
  auto doc = ::idp::json::parse(ss.str());
  if (!doc) return std::unexpected(doc.error().with_context(path));
  if (!doc->is_object()) {
    return make_error(ErrorCode::kInvalidArgument, path + ": expected a JSON object");
  }
  RateLimits limits;
  auto rate_at = [&](const boost::json::value& v, std::string_view where) -> Result<Rate> {
    if (!v.is_string()) {
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("{}: {} must be a string such as \"5/min\"", path, where));
    }
    auto r = parse_rate(v.get_string());
    if (!r) return std::unexpected(r.error().with_context(fmt::format("{}: {}", path, where)));
    return r;
  };
  for (const auto& [key, value] : doc->get_object()) {
    if (key == "tool_calls" || key == "other_methods") {
      auto r = rate_at(value, key);
      if (!r) return std::unexpected(r.error());
      (key == "tool_calls" ? limits.tool_calls : limits.other_methods) = *r;
    } else if (key == "tools") {
      if (!value.is_object()) {
        return make_error(ErrorCode::kInvalidArgument,
                          path + ": tools must be an object of tool name to rate");
      }
      for (const auto& [tool, rate] : value.get_object()) {
        auto r = rate_at(rate, fmt::format("tools.{}", std::string_view(tool)));
        if (!r) return std::unexpected(r.error());
        limits.per_tool.emplace(std::string(tool), *r);
      }
    } else if (key == "max_buckets") {
      if (!value.is_int64() || value.get_int64() < 1) {
        return make_error(ErrorCode::kInvalidArgument,
                          path + ": max_buckets must be a positive integer");
      }
      limits.max_buckets = static_cast<std::size_t>(value.get_int64());
    } else {
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("{}: unknown key '{}' (known: tool_calls, other_methods, "
                                    "tools, max_buckets)",
                                    path, std::string_view(key)));
    }
  }
  return limits;
}

std::string principal_of(const Identity& identity, std::string_view peer_address) {
  if (identity.authenticated) {
    if (!identity.subject.empty()) return identity.subject;
    if (const auto* c = ::idp::json::find_string(identity.claims, "client_id"); c && !c->empty()) {
      return std::string(*c);
    }
  }
  return "peer:" + std::string(peer_address);
}

long RateDecision::retry_after_seconds() const {
  long s = static_cast<long>((retry_after.count() + 999) / 1000);
  return std::max(1L, s);
}

namespace {

struct Bucket {
  double tokens = -1;  // < 0: never used (full)
  Clock::time_point updated;

  // Refills, then returns how long until one token is there (0: there is one now).
  milliseconds wait(const Rate& rate, Clock::time_point now) {
    double burst = rate.burst > 0 ? rate.burst : rate.count;
    double per_ms = rate.count / static_cast<double>(rate.period.count());
    if (tokens < 0) {
      tokens = burst;
    } else {
      double elapsed = std::chrono::duration<double, std::milli>(now - updated).count();
      tokens = std::min(burst, tokens + std::max(0.0, elapsed) * per_ms);
    }
    updated = now;
    if (tokens >= 1) return milliseconds(0);
    return milliseconds(static_cast<long>(std::ceil((1 - tokens) / per_ms)));
  }
};

// How long an unused bucket takes to refill completely: after that it equals a new one.
milliseconds full_after(const Rate& rate) {
  double burst = rate.burst > 0 ? rate.burst : rate.count;
  return milliseconds(
      static_cast<long>(std::ceil(burst * static_cast<double>(rate.period.count()) / rate.count)));
}

struct Principal {
  Bucket tool_calls, other;
  std::unordered_map<std::string, Bucket> tools;
  Clock::time_point last_seen;
};

constexpr std::size_t kShards = 16;

struct NameHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

struct Shard {
  std::mutex mu;
  std::unordered_map<std::string, Principal, NameHash, std::equal_to<>> principals;
};

}  // namespace

struct RateLimiter::Impl {
  RateLimits limits;
  milliseconds idle_after{0};  // the longest refill time of any limit
  std::array<Shard, kShards> shards;
  std::atomic<std::uint64_t> checks{0};

  void sweep(Shard& s, Clock::time_point now) {
    std::erase_if(s.principals,
                  [&](const auto& kv) { return now - kv.second.last_seen >= idle_after; });
    std::size_t cap = std::max<std::size_t>(1, limits.max_buckets / kShards);
    while (s.principals.size() >= cap) {
      auto oldest = std::min_element(
          s.principals.begin(), s.principals.end(),
          [](const auto& a, const auto& b) { return a.second.last_seen < b.second.last_seen; });
      s.principals.erase(oldest);
    }
  }
};

RateLimiter::RateLimiter(RateLimits limits) : impl_(std::make_unique<Impl>()) {
  impl_->limits = std::move(limits);
  auto consider = [&](const std::optional<Rate>& r) {
    if (r) impl_->idle_after = std::max(impl_->idle_after, full_after(*r));
  };
  consider(impl_->limits.tool_calls);
  consider(impl_->limits.other_methods);
  for (const auto& [name, r] : impl_->limits.per_tool) consider(r);
}

RateLimiter::~RateLimiter() = default;

const RateLimits& RateLimiter::limits() const { return impl_->limits; }

std::size_t RateLimiter::bucket_count() const {
  std::size_t n = 0;
  for (auto& s : impl_->shards) {
    std::lock_guard lock(s.mu);
    n += s.principals.size();
  }
  return n;
}

RateDecision RateLimiter::check(std::string_view principal, std::string_view method,
                                std::string_view tool, Clock::time_point now) {
  const RateLimits& L = impl_->limits;
  const bool is_call = method == "tools/call";
  const Rate* general = is_call ? (L.tool_calls ? &*L.tool_calls : nullptr)
                                : (L.other_methods ? &*L.other_methods : nullptr);
  const Rate* specific = nullptr;
  if (is_call && !tool.empty()) {
    if (auto it = L.per_tool.find(tool); it != L.per_tool.end()) specific = &it->second;
  }
  if (!general && !specific) return {};

  // Every 64th check sweeps one shard, in turn, so that idle buckets go even from shards that
  // see no traffic.
  if (auto n = impl_->checks.fetch_add(1, std::memory_order_relaxed) + 1; n % 64 == 0) {
    Shard& other = impl_->shards[(n / 64) % kShards];
    std::lock_guard lock(other.mu);
    impl_->sweep(other, now);
  }
  Shard& s = impl_->shards[std::hash<std::string_view>{}(principal) % kShards];
  std::lock_guard lock(s.mu);
  auto it = s.principals.find(principal);
  if (it == s.principals.end()) {
    std::size_t cap = std::max<std::size_t>(1, L.max_buckets / kShards);
    if (s.principals.size() >= cap) impl_->sweep(s, now);
    it = s.principals.emplace(std::string(principal), Principal{}).first;
  }
  Principal& p = it->second;
  p.last_seen = now;
  Bucket* gb = general ? (is_call ? &p.tool_calls : &p.other) : nullptr;
  Bucket* sb = specific ? &p.tools[std::string(tool)] : nullptr;
  milliseconds gw = gb ? gb->wait(*general, now) : milliseconds(0);
  milliseconds sw = sb ? sb->wait(*specific, now) : milliseconds(0);
  if (gw.count() > 0 || sw.count() > 0) {
    RateDecision d;
    d.allowed = false;
    if (sw > gw) {
      d.limit = "tool:" + std::string(tool);
      d.rate = specific->text();
    } else {
      d.limit = is_call ? "tool_calls" : "other_methods";
      d.rate = general->text();
    }
    d.retry_after = std::max(gw, sw);
    return d;
  }
  if (gb) gb->tokens -= 1;
  if (sb) sb->tokens -= 1;
  return {};
}

}  // namespace idp::mcp
