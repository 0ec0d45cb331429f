// The default credential chain in one file, past the usual ~600 lines: its steps (environment,
// profiles and SSO caches, credential_process, container and EC2 metadata) share the chain's
// state and its "what was tried" report, and each is short.
#include "idp/aws/credentials.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <vector>

#include "idp/core/json_util.h"
#include "idp/core/log.h"
#include "idp/http/client.h"
#include "idp/http/url_policy.h"
#include "process.h"

namespace idp::aws {

namespace net = boost::asio;
namespace bj = boost::json;
using net::awaitable;
using std::chrono::milliseconds;
using Clock = std::chrono::system_clock;

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string home_dir(const Environment& env) { return env.get("HOME").value_or(""); }

std::string expand_home(const Environment& env, std::string path) {
  if (path == "~" || path.starts_with("~/")) path = home_dir(env) + path.substr(1);
  return path;
}

// "~/.aws/credentials" when the path is the default one, the path itself otherwise.
std::string shown_path(const Environment& env, const std::string& path) {
  std::string home = home_dir(env);
  if (!home.empty() && path.starts_with(home + "/")) return "~" + path.substr(home.size());
  return path;
}

// --- INI files (the AWS shared config format) ---

using Section = std::map<std::string, std::string>;
using Ini = std::map<std::string, Section>;

Ini parse_ini(std::string_view text) {
  Ini out;
  std::string section;
  bool in_section = false;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view raw = text.substr(pos, nl - pos);
    pos = nl + 1;
    std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[') {
      std::size_t close = line.find(']');
      in_section = close != std::string_view::npos;
      if (in_section) {
        section = std::string(trim(line.substr(1, close - 1)));
        out[section];
      }
      continue;
    }
    // Indented lines continue the previous key (nested settings such as `s3 =`): not ours.
    if (!in_section || raw.front() == ' ' || raw.front() == '\t') continue;
    std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string key = lower(trim(line.substr(0, eq)));
    std::string_view value = trim(line.substr(eq + 1));
    if (key != "credential_process") {
      // Inline comments need whitespace before them; keys and tokens never hold " #".
      for (std::size_t i = 1; i < value.size(); ++i) {
        if ((value[i] == '#' || value[i] == ';') && (value[i - 1] == ' ' || value[i - 1] == '\t')) {
          value = trim(value.substr(0, i));
          break;
        }
      }
    }
    out[section][key] = std::string(value);
  }
  return out;
}

struct IniFile {
  std::string path;
  std::string shown;
  bool exists = false;
  std::string error;  // unreadable
  Ini sections;       // for the config file: keyed by profile name
};

IniFile load_ini(const Environment& env, std::string path, bool config_file) {
  IniFile f;
  f.path = std::move(path);
  f.shown = shown_path(env, f.path);
  std::ifstream in(f.path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (std::filesystem::exists(f.path, ec)) {
      f.exists = true;
      f.error = "cannot read it";
    }
    return f;
  }
  f.exists = true;
  std::stringstream ss;
  ss << in.rdbuf();
  Ini raw = parse_ini(ss.str());
  if (!config_file) {
    f.sections = std::move(raw);
    return f;
  }
  // Config sections are [default] and [profile name]; others (sso-session, services) are not
  // profiles. "[profile default]" wins over "[default]" as in the CLI.
  for (auto& [name, keys] : raw) {
    if (name == "default") {
      f.sections.try_emplace("default", keys);
    } else if (name.starts_with("profile") && name.size() > 7 &&
               (name[7] == ' ' || name[7] == '\t')) {
      f.sections.insert_or_assign(std::string(trim(std::string_view(name).substr(8))), keys);
    }
  }
  return f;
}

const Section* find_section(const IniFile& f, const std::string& profile) {
  auto it = f.sections.find(profile);
  return it == f.sections.end() ? nullptr : &it->second;
}

std::optional<std::string> find_key(const Section* s, const std::string& key) {
  if (!s) return std::nullopt;
  auto it = s->find(key);
  if (it == s->end() || it->second.empty()) return std::nullopt;
  return it->second;
}

bool valid_region(std::string_view r) {
  if (r.empty() || r.size() > 64) return false;
  for (char c : r) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

// Credentials from the JSON of a container endpoint, IMDS or a credential_process.
Result<Credentials> credentials_from_json(const bj::object& o, std::string_view token_field,
                                          std::string source) {
  const bj::string* ak = ::idp::json::find_string(o, "AccessKeyId");
  const bj::string* sk = ::idp::json::find_string(o, "SecretAccessKey");
  if (!ak || ak->empty() || !sk || sk->empty()) {
    return make_error(ErrorCode::kProtocol, "the answer has no AccessKeyId and SecretAccessKey");
  }
  Credentials c;
  c.access_key_id = std::string(*ak);
  c.secret_access_key = Secret(std::string(*sk));
  if (const bj::string* t = ::idp::json::find_string(o, token_field); t && !t->empty()) {
    c.session_token = Secret(std::string(*t));
  }
  if (const bj::string* e = ::idp::json::find_string(o, "Expiration"); e && !e->empty()) {
    auto when = parse_iso8601(*e);
    if (!when) {
      return make_error(ErrorCode::kProtocol,
                        "Expiration '" + std::string(*e) + "' is not an ISO 8601 time");
    }
    c.expiration = *when;
  }
  c.source = std::move(source);
  return c;
}

// Besides loopback, the ECS and EKS credential agents listen on link-local addresses over plain
// http (what the AWS SDKs allow for AWS_CONTAINER_CREDENTIALS_FULL_URI).
constexpr std::string_view kContainerAgentHosts[] = {"169.254.170.2", "169.254.170.23",
                                                     "[fd00:ec2::23]"};

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out.append(sep);
    out.append(items[i]);
  }
  return out;
}

}  // namespace

// --- Environment ---

std::optional<std::string> process_getenv(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (!v) return std::nullopt;
  return std::string(v);
}

std::optional<std::string> Environment::get(const std::string& name) const {
  if (!getenv) return std::nullopt;
  auto v = getenv(name);
  if (!v || v->empty()) return std::nullopt;
  return v;
}

Environment Environment::process() {
  Environment e;
  e.getenv = process_getenv;
  return e;
}

Environment Environment::from_map(std::map<std::string, std::string> vars) {
  Environment e;
  auto shared = std::make_shared<const std::map<std::string, std::string>>(std::move(vars));
  e.getenv = [shared](const std::string& name) -> std::optional<std::string> {
    auto it = shared->find(name);
    if (it == shared->end()) return std::nullopt;
    return it->second;
  };
  return e;
}

std::string profile_name(const Environment& env) {
  return env.get("AWS_PROFILE").value_or(env.get("AWS_DEFAULT_PROFILE").value_or("default"));
}

std::string credentials_file_path(const Environment& env) {
  if (auto p = env.get("AWS_SHARED_CREDENTIALS_FILE")) return expand_home(env, *p);
  return home_dir(env) + "/.aws/credentials";
}

std::string config_file_path(const Environment& env) {
  if (auto p = env.get("AWS_CONFIG_FILE")) return expand_home(env, *p);
  return home_dir(env) + "/.aws/config";
}

Result<std::string> resolve_region(const Environment& env) {
  for (const char* name : {"AWS_REGION", "AWS_DEFAULT_REGION"}) {
    if (auto r = env.get(name)) {
      std::string region(trim(*r));
      if (!valid_region(region)) {
        return make_error(ErrorCode::kInvalidArgument,
                          std::string(name) + " is '" + region +
                              "', which is not a region name (like us-east-1)");
      }
      return region;
    }
  }
  std::string profile = profile_name(env);
  IniFile config = load_ini(env, config_file_path(env), /*config_file=*/true);
  if (auto r = find_key(find_section(config, profile), "region")) {
    if (!valid_region(*r)) {
      return make_error(ErrorCode::kInvalidArgument, "region '" + *r + "' of profile '" + profile +
                                                         "' in " + config.shown +
                                                         " is not a region name");
    }
    return *r;
  }
  return make_error(
      ErrorCode::kInvalidArgument,
      "no AWS region: set AWS_REGION (for example us-east-1), or `region` in profile '" + profile +
          "' of " + config.shown);
}

std::string resolve_endpoint(const Environment& env, std::string_view service_id,
                             std::string_view endpoint_prefix, std::string_view region) {
  auto ignore = env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
  if (!ignore || lower(*ignore) != "true") {
    std::string name = "AWS_ENDPOINT_URL_";
    for (char c : service_id) {
      if (c == ' ' || c == '-') {
        name.push_back('_');
      } else if (c >= 'a' && c <= 'z') {
        name.push_back(static_cast<char>(c - 'a' + 'A'));
      } else {
        name.push_back(c);
      }
    }
    if (auto v = env.get(name)) return *v;
    if (auto v = env.get("AWS_ENDPOINT_URL")) return *v;
  }
  std::string suffix = region.starts_with("cn-") ? ".amazonaws.com.cn" : ".amazonaws.com";
  return "https://" + std::string(endpoint_prefix) + "." + std::string(region) + suffix;
}

std::optional<Clock::time_point> parse_iso8601(std::string_view s) {
  s = trim(s);
  auto digits = [&](std::size_t pos, std::size_t len) -> int {
    if (pos + len > s.size()) return -1;
    int v = 0;
    for (std::size_t k = pos; k < pos + len; ++k) {
      if (s[k] < '0' || s[k] > '9') return -1;
      v = v * 10 + (s[k] - '0');
    }
    return v;
  };
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' ||
      (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  int year = digits(0, 4), month = digits(5, 2), day = digits(8, 2);
  int hour = digits(11, 2), minute = digits(14, 2), second = digits(17, 2);
  if (year < 1970 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 ||
      minute < 0 || minute > 59 || second < 0 || second > 60) {
    return std::nullopt;
  }
  std::size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  }
  long offset = 0;
  if (i < s.size()) {
    if (s[i] == 'Z' || s[i] == 'z') {
      ++i;
    } else if (s[i] == '+' || s[i] == '-') {
      int sign = s[i] == '-' ? -1 : 1;
      int oh = digits(i + 1, 2);
      std::size_t mpos = i + 3;
      if (mpos < s.size() && s[mpos] == ':') ++mpos;
      int om = digits(mpos, 2);
      if (oh < 0 || om < 0) return std::nullopt;
      offset = sign * (oh * 3600L + om * 60L);
      i = mpos + 2;
    }
  }
  if (i != s.size()) return std::nullopt;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return Clock::from_time_t(timegm(&tm) - offset);
}

// --- StaticCredentialsProvider ---

StaticCredentialsProvider::StaticCredentialsProvider(Credentials credentials)
    : credentials_(std::move(credentials)) {}

awaitable<Result<Credentials>> StaticCredentialsProvider::get() { co_return credentials_; }

// --- DefaultCredentialsChain ---

namespace {

http::ClientOptions metadata_client_options(const Environment& env) {
  http::ClientOptions o;
  o.connect_timeout = env.metadata_connect_timeout;
  o.read_timeout = env.metadata_timeout;
  o.total_timeout = env.metadata_timeout;
  o.max_response_bytes = 256 * 1024;
  o.use_env_proxy = false;  // link-local metadata endpoints never go through a proxy
  o.allow_link_local = true;  // IMDS and the container agents are link-local on purpose
  return o;
}

// One source's outcome: credentials, a failure that stops the chain, or a note for the
// "tried ..." list.
struct Step {
  std::optional<Credentials> credentials;
  std::optional<Error> error;
  std::string tried;
};

Step found(Credentials c) { return Step{std::move(c), std::nullopt, {}}; }
Step failed(Error e) { return Step{std::nullopt, std::move(e), {}}; }
Step skipped(std::string tried) { return Step{std::nullopt, std::nullopt, std::move(tried)}; }

}  // namespace

struct DefaultCredentialsChain::Impl {
  Impl(net::any_io_executor ex, Environment e)
      : env(std::move(e)), http(ex, metadata_client_options(env)) {}

  Environment env;
  http::Client http;

  std::mutex mu;
  std::optional<Credentials> cached;
  bool in_flight = false;
  std::vector<std::shared_ptr<net::steady_timer>> waiters;
  std::optional<Result<Credentials>> last;
  int fetches = 0;

  bool fresh(const Credentials& c) const {
    return !c.expiration || Clock::now() + kRefreshMargin < *c.expiration;
  }

  awaitable<Result<http::ClientResponse>> metadata_request(std::string method, std::string url,
                                                           http::Headers headers) {
    http::ClientRequest req;
    req.method = std::move(method);
    req.url = std::move(url);
    req.headers = std::move(headers);
    req.timeout = env.metadata_timeout;
    req.read_timeout = env.metadata_timeout;
    auto r = co_await http.request(std::move(req));
    co_return r;
  }

  Step from_environment() {
    auto ak = env.get("AWS_ACCESS_KEY_ID");
    auto sk = env.get("AWS_SECRET_ACCESS_KEY");
    if (ak && sk) {
      Credentials c;
      c.access_key_id = *ak;
      c.secret_access_key = Secret(*sk);
      auto token = env.get("AWS_SESSION_TOKEN");
      if (!token) token = env.get("AWS_SECURITY_TOKEN");
      if (token) c.session_token = Secret(*token);
      if (auto exp = env.get("AWS_CREDENTIAL_EXPIRATION")) c.expiration = parse_iso8601(*exp);
      c.source = "environment";
      return found(std::move(c));
    }
    if (ak || sk) {
      return failed(
          Error(ErrorCode::kUnauthenticated,
                std::string(ak ? "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"
                               : "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not") +
                    ": set both, or neither to use a profile or a role"));
    }
    return skipped("environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY not set)");
  }

  Step from_profile(const IniFile& f, const std::string& profile) {
    std::string where = "profile '" + profile + "' in " + f.shown;
    if (!f.exists) return skipped(where + " (no such file)");
    if (!f.error.empty()) return skipped(where + " (" + f.error + ")");
    const Section* s = find_section(f, profile);
    if (!s) return skipped(where + " (no such profile)");
    auto ak = find_key(s, "aws_access_key_id");
    auto sk = find_key(s, "aws_secret_access_key");
    if (ak && sk) {
      Credentials c;
      c.access_key_id = *ak;
      c.secret_access_key = Secret(*sk);
      if (auto token = find_key(s, "aws_session_token")) c.session_token = Secret(*token);
      c.source = where;
      return found(std::move(c));
    }
    if (ak || sk) {
      return failed(Error(ErrorCode::kUnauthenticated,
                          where + " has " +
                              (ak ? "aws_access_key_id but no aws_secret_access_key"
                                  : "aws_secret_access_key but no aws_access_key_id")));
    }
    return skipped(where + " (no aws_access_key_id)");
  }

  awaitable<Step> from_process(const IniFile& creds, const IniFile& config,
                               const std::string& profile) {
    const Section* cs = find_section(creds, profile);
    const Section* ks = find_section(config, profile);
    auto command = find_key(cs, "credential_process");
    std::string where = "credential_process of profile '" + profile + "' in " + creds.shown;
    if (!command) {
      command = find_key(ks, "credential_process");
      where = "credential_process of profile '" + profile + "' in " + config.shown;
    }
    if (!command) {
      for (const char* key :
           {"role_arn", "sso_session", "sso_start_url", "web_identity_token_file"}) {
        if (find_key(cs, key) || find_key(ks, key)) {
          co_return skipped(
              "credential_process (profile '" + profile + "' uses " + key +
              ", which idp-agents does not resolve itself; add `credential_process = aws "
              "configure export-credentials --profile " +
              profile +
              " --format process` "
              "to a profile and use that one)");
        }
      }
      co_return skipped("credential_process (not set in profile '" + profile + "')");
    }
    std::string cmd = *command;
    std::chrono::milliseconds timeout = env.process_timeout;
    std::size_t max_output = 1024 * 1024;
    auto run = co_await detail::run_process(cmd, timeout, max_output);
    if (!run) co_return failed(Error(run.error().code(), where + " " + run.error().message()));
    if (run->exit_code != 0) {
      co_return failed(Error(ErrorCode::kUnauthenticated,
                             where + " exited with status " + std::to_string(run->exit_code) +
                                 " (its messages are on stderr above)"));
    }
    auto parsed = ::idp::json::parse(run->out);
    if (!parsed || !parsed->is_object()) {
      co_return failed(
          Error(ErrorCode::kProtocol, where + " did not print a JSON object on stdout"));
    }
    const bj::object& o = parsed->get_object();
    auto version = ::idp::json::find_number(o, "Version");
    if (!version || *version != 1) {
      co_return failed(Error(ErrorCode::kProtocol, where + " printed JSON without \"Version\": 1"));
    }
    auto c =
        credentials_from_json(o, "SessionToken", "credential_process of profile '" + profile + "'");
    if (!c) co_return failed(Error(ErrorCode::kProtocol, where + ": " + c.error().message()));
    co_return found(std::move(*c));
  }

  awaitable<Step> from_container() {
    auto relative = env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    auto full = env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    if (!relative && !full) {
      co_return skipped(
          "container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI not set)");
    }
    std::string url;
    if (relative) {
      std::string base = env.container_endpoint;
      while (!base.empty() && base.back() == '/') base.pop_back();
      url = base + (relative->starts_with("/") ? "" : "/") + *relative;
    } else {
      url = *full;
      auto checked =
          http::check_url(url, "AWS_CONTAINER_CREDENTIALS_FULL_URI", kContainerAgentHosts);
      if (!checked) {
        co_return failed(Error(ErrorCode::kInvalidArgument,
                               checked.error().message() +
                                   " (or http:// to the ECS/EKS agent: 169.254.170.2, "
                                   "169.254.170.23, [fd00:ec2::23])"));
      }
    }
    http::Headers headers;
    if (auto file = env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")) {
      std::ifstream in(*file, std::ios::binary);
      if (!in) {
        co_return failed(Error(ErrorCode::kUnauthenticated,
                               "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE " + *file));
      }
      std::stringstream ss;
      ss << in.rdbuf();
      std::string token(trim(ss.str()));
      if (token.find_first_of("\r\n") != std::string::npos) {
        co_return failed(Error(ErrorCode::kInvalidArgument,
                               "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE holds more than one line"));
      }
      headers.add("Authorization", std::move(token));
    } else if (auto token = env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN")) {
      if (token->find_first_of("\r\n") != std::string::npos) {
        co_return failed(Error(ErrorCode::kInvalidArgument,
                               "AWS_CONTAINER_AUTHORIZATION_TOKEN holds a line break"));
      }
      headers.add("Authorization", *token);
    }
    headers.add("Accept", "application/json");
    std::string where = "container credentials at " + url;
    Result<http::ClientResponse> r = make_error(ErrorCode::kInternal, "unset");
    for (int attempt = 0; attempt < 2; ++attempt) {
      std::string method = "GET";
      std::string target = url;
      http::Headers h = headers;
      r = co_await metadata_request(std::move(method), std::move(target), std::move(h));
      bool transient = !r ? (r.error().code() == ErrorCode::kUnavailable ||
                             r.error().code() == ErrorCode::kTimeout)
                          : r->status >= 500;
      if (!transient) break;
    }
    if (!r) co_return failed(Error(r.error().code(), where + ": " + r.error().message()));
    auto parsed = ::idp::json::parse(r->body);
    const bj::object* o = parsed && parsed->is_object() ? &parsed->get_object() : nullptr;
    if (r->status != 200) {
      std::string detail;
      if (o) {
        if (auto* m = ::idp::json::find_string(*o, "message")) detail = std::string(*m);
        if (auto* m = ::idp::json::find_string(*o, "Message")) detail = std::string(*m);
      }
      co_return failed(Error(r->status == 401 || r->status == 403 ? ErrorCode::kUnauthenticated
                                                                  : ErrorCode::kUnavailable,
                             where + " answered HTTP " + std::to_string(r->status) +
                                 (detail.empty() ? "" : ": " + detail)));
    }
    if (!o) co_return failed(Error(ErrorCode::kProtocol, where + " did not answer a JSON object"));
    auto c = credentials_from_json(*o, "Token", "container credentials");
    if (!c) co_return failed(Error(ErrorCode::kProtocol, where + ": " + c.error().message()));
    co_return found(std::move(*c));
  }

  awaitable<Step> from_imds() {
    auto disabled = env.get("AWS_EC2_METADATA_DISABLED");
    if (disabled && lower(*disabled) == "true") {
      co_return skipped("EC2 instance metadata (AWS_EC2_METADATA_DISABLED=true)");
    }
    std::string base = env.get("AWS_EC2_METADATA_SERVICE_ENDPOINT").value_or(env.imds_endpoint);
    while (!base.empty() && base.back() == '/') base.pop_back();
    std::string where = "EC2 instance metadata at " + base;

    http::Headers token_headers;
    token_headers.add("X-aws-ec2-metadata-token-ttl-seconds", "21600");
    std::string put = "PUT";
    std::string token_url = base + "/latest/api/token";
    auto token =
        co_await metadata_request(std::move(put), std::move(token_url), std::move(token_headers));
    if (!token) co_return skipped(where + " (" + token.error().message() + ")");
    http::Headers auth;
    if (token->status == 200) {
      auth.add("X-aws-ec2-metadata-token", std::string(trim(token->body)));
    } else if (token->status == 403 || token->status == 404 || token->status == 405) {
      auto v1_off = env.get("AWS_EC2_METADATA_V1_DISABLED");
      if (v1_off && lower(*v1_off) == "true") {
        co_return skipped(where + " (the IMDSv2 token request answered HTTP " +
                          std::to_string(token->status) + " and IMDSv1 is disabled)");
      }
      // Falls back to IMDSv1 as the SDKs do.
    } else {
      co_return skipped(where + " (the token request answered HTTP " +
                        std::to_string(token->status) + ")");
    }

    std::string get = "GET";
    std::string role_url = base + "/latest/meta-data/iam/security-credentials/";
    http::Headers role_headers = auth;
    auto role =
        co_await metadata_request(std::move(get), std::move(role_url), std::move(role_headers));
    if (!role) co_return skipped(where + " (" + role.error().message() + ")");
    if (role->status == 404)
      co_return skipped(where + " (no IAM role is attached to this instance)");
    if (role->status != 200) {
      co_return skipped(where + " (the role request answered HTTP " + std::to_string(role->status) +
                        ")");
    }
    std::string_view body = trim(role->body);
    std::string role_name(trim(body.substr(0, body.find('\n'))));
    if (role_name.empty()) co_return skipped(where + " (no IAM role is attached to this instance)");

    std::string get2 = "GET";
    std::string creds_url = base + "/latest/meta-data/iam/security-credentials/" + role_name;
    http::Headers creds_headers = auth;
    auto creds =
        co_await metadata_request(std::move(get2), std::move(creds_url), std::move(creds_headers));
    if (!creds) co_return skipped(where + " (" + creds.error().message() + ")");
    if (creds->status != 200) {
      co_return skipped(where + " (the credentials of role " + role_name + " answered HTTP " +
                        std::to_string(creds->status) + ")");
    }
    auto parsed = ::idp::json::parse(creds->body);
    if (!parsed || !parsed->is_object())
      co_return skipped(where + " (the credentials are not JSON)");
    const bj::object& o = parsed->get_object();
    if (auto* code = ::idp::json::find_string(o, "Code"); code && *code != "Success") {
      co_return skipped(where + " (role " + role_name + ": Code " + std::string(*code) + ")");
    }
    auto c = credentials_from_json(o, "Token", "EC2 instance metadata (role " + role_name + ")");
    if (!c) co_return skipped(where + " (" + c.error().message() + ")");
    co_return found(std::move(*c));
  }

  awaitable<Result<Credentials>> run_chain() {
    std::vector<std::string> tried;
    Step env_step = from_environment();
    if (env_step.credentials) co_return std::move(*env_step.credentials);
    if (env_step.error) co_return std::unexpected(*env_step.error);
    tried.push_back(env_step.tried);

    std::string profile = profile_name(env);
    IniFile creds_file = load_ini(env, credentials_file_path(env), /*config_file=*/false);
    IniFile config_file = load_ini(env, config_file_path(env), /*config_file=*/true);
    bool explicit_profile =
        env.get("AWS_PROFILE").has_value() || env.get("AWS_DEFAULT_PROFILE").has_value();
    if (explicit_profile && !find_section(creds_file, profile) &&
        !find_section(config_file, profile)) {
      co_return make_error(ErrorCode::kUnauthenticated,
                           "AWS_PROFILE is '" + profile + "' but neither " + creds_file.shown +
                               " nor " + config_file.shown + " has that profile");
    }
    for (const IniFile* f : {&creds_file, &config_file}) {
      Step s = from_profile(*f, profile);
      if (s.credentials) co_return std::move(*s.credentials);
      if (s.error) co_return std::unexpected(*s.error);
      tried.push_back(s.tried);
    }
    Step process = co_await from_process(creds_file, config_file, profile);
    if (process.credentials) co_return std::move(*process.credentials);
    if (process.error) co_return std::unexpected(*process.error);
    tried.push_back(process.tried);

    Step container = co_await from_container();
    if (container.credentials) co_return std::move(*container.credentials);
    if (container.error) co_return std::unexpected(*container.error);
    tried.push_back(container.tried);

    Step imds = co_await from_imds();
    if (imds.credentials) co_return std::move(*imds.credentials);
    if (imds.error) co_return std::unexpected(*imds.error);
    tried.push_back(imds.tried);

    co_return make_error(ErrorCode::kUnauthenticated,
                         "no AWS credentials: tried " + join(tried, ", ") +
                             ". Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, choose a profile "
                             "with AWS_PROFILE, or run with an IAM role");
  }
};

DefaultCredentialsChain::DefaultCredentialsChain(net::any_io_executor executor, Environment env)
    : impl_(std::make_shared<Impl>(executor, std::move(env))) {}

DefaultCredentialsChain::~DefaultCredentialsChain() = default;

void DefaultCredentialsChain::invalidate() {
  std::lock_guard lock(impl_->mu);
  impl_->cached.reset();
}

int DefaultCredentialsChain::fetches() const {
  std::lock_guard lock(impl_->mu);
  return impl_->fetches;
}

awaitable<Result<Credentials>> DefaultCredentialsChain::get() {
  auto self = impl_;
  auto ex = co_await net::this_coro::executor;
  std::shared_ptr<net::steady_timer> wait;
  {
    std::lock_guard lock(self->mu);
    if (self->cached && self->fresh(*self->cached)) co_return *self->cached;
    if (self->in_flight) {
      wait = std::make_shared<net::steady_timer>(ex, std::chrono::steady_clock::time_point::max());
      self->waiters.push_back(wait);
    } else {
      self->in_flight = true;
    }
  }
  if (wait) {
    co_await wait->async_wait(net::as_tuple(net::use_awaitable));
    std::lock_guard lock(self->mu);
    if (self->last) co_return *self->last;
    co_return make_error(ErrorCode::kInternal, "the credentials fetch ended without a result");
  }
  auto fetched = co_await self->run_chain();
  std::vector<std::shared_ptr<net::steady_timer>> waiters;
  {
    std::lock_guard lock(self->mu);
    self->in_flight = false;
    ++self->fetches;
    if (fetched) {
      self->cached = *fetched;
      log::debug("AWS credentials from {}", fetched->source);
    }
    self->last = fetched;
    waiters.swap(self->waiters);
  }
  for (auto& t : waiters) net::post(t->get_executor(), [t] { t->cancel(); });
  co_return fetched;
}

}  // namespace idp::aws
