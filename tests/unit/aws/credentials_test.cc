// The credential chain's local sources (environment, shared files, credential_process), region
// and endpoint resolution, and caching. The network sources (container, IMDS) are exercised
// against local fake servers in aws_integration_test.cc.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <unistd.h>
#include <atomic>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>

#include "idp/aws/credentials.h"

namespace idp::aws {
namespace {

namespace fs = std::filesystem;
namespace net = boost::asio;
using std::chrono::system_clock;

template <class T>
T run(net::io_context& ioc, net::awaitable<T> a) {
  auto fut = net::co_spawn(ioc, std::move(a), net::use_future);
  ioc.restart();
  ioc.run();
  return fut.get();
}

std::string iso(system_clock::time_point t) {
  std::time_t tt = system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

class CredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = fs::temp_directory_path() /
           ("idp-aws-creds-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::create_directories(dir_ / ".aws");
    vars_["HOME"] = dir_.string();
    vars_["AWS_EC2_METADATA_DISABLED"] = "true";  // no network in unit tests
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void write(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
  }
  fs::path home_file(const std::string& name) { return dir_ / ".aws" / name; }

  // A credential_process helper printing `json` (a shell script in the temp dir).
  std::string helper(const std::string& json, const std::string& extra = "") {
    fs::path script = dir_ / ("helper" + std::to_string(helpers_++) + ".sh");
    write(script, extra + "cat <<'EOF'\n" + json + "\nEOF\n");
    return "sh " + script.string();
  }

  Environment env() {
    Environment e = Environment::from_map(vars_);
    e.process_timeout = std::chrono::milliseconds(5000);
    return e;
  }

  Result<Credentials> get(DefaultCredentialsChain& chain) { return run(ioc_, chain.get()); }
  Result<Credentials> get_once() {
    DefaultCredentialsChain chain(ioc_.get_executor(), env());
    return get(chain);
  }

  net::io_context ioc_;
  fs::path dir_;
  std::map<std::string, std::string> vars_;
  int helpers_ = 0;
};

TEST_F(CredentialsTest, EnvironmentComesFirst) {
  write(home_file("credentials"),
        "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = filesecret\n");
  vars_["AWS_ACCESS_KEY_ID"] = "ENVKEY";
  vars_["AWS_SECRET_ACCESS_KEY"] = "envsecret";
  vars_["AWS_SESSION_TOKEN"] = "envtoken";
  auto c = get_once();
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->access_key_id, "ENVKEY");
  EXPECT_EQ(c->secret_access_key.reveal(), "envsecret");
  ASSERT_TRUE(c->session_token);
  EXPECT_EQ(c->session_token->reveal(), "envtoken");
  EXPECT_EQ(c->source, "environment");
  EXPECT_FALSE(c->expiration);
}

TEST_F(CredentialsTest, HalfAKeyPairInTheEnvironmentIsAnError) {
  vars_["AWS_ACCESS_KEY_ID"] = "ENVKEY";
  write(home_file("credentials"),
        "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = filesecret\n");
  auto c = get_once();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_NE(c.error().message().find("AWS_SECRET_ACCESS_KEY is not"), std::string::npos);
}

TEST_F(CredentialsTest, SharedCredentialsFileDefaultProfile) {
  write(
      home_file("credentials"),
      "# comment\n; another\n[other]\naws_access_key_id = OTHER\naws_secret_access_key = o\n\n"
      "[default]\n  \naws_access_key_id=FILEKEY\naws_secret_access_key =  filesecret  ; inline\r\n"
      "aws_session_token = tok\n");
  auto c = get_once();
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->access_key_id, "FILEKEY");
  EXPECT_EQ(c->secret_access_key.reveal(), "filesecret");
  EXPECT_EQ(c->session_token->reveal(), "tok");
  EXPECT_EQ(c->source, "profile 'default' in ~/.aws/credentials");
}

TEST_F(CredentialsTest, ConfigFileProfileSectionsAndOverriddenPaths) {
  fs::path config = dir_ / "elsewhere" / "cfg";
  write(config,
        "[default]\nregion = us-east-1\n[dev]\naws_access_key_id = "
        "NOTAPROFILE\naws_secret_access_key = x\n"
        "[profile  dev ]\nregion = eu-west-1\naws_access_key_id = DEVKEY\naws_secret_access_key = "
        "devsecret\n"
        "s3 =\n  max_concurrent_requests = 20\n");
  vars_["AWS_CONFIG_FILE"] = config.string();
  vars_["AWS_SHARED_CREDENTIALS_FILE"] = (dir_ / "missing").string();
  vars_["AWS_PROFILE"] = "dev";
  auto c = get_once();
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->access_key_id, "DEVKEY");
  EXPECT_EQ(c->source, "profile 'dev' in ~/elsewhere/cfg");  // HOME is the temp dir
  auto region = resolve_region(env());
  ASSERT_TRUE(region);
  EXPECT_EQ(*region, "eu-west-1");
}

TEST_F(CredentialsTest, CredentialsFileBeatsConfigFile) {
  write(home_file("credentials"),
        "[default]\naws_access_key_id = CREDKEY\naws_secret_access_key = a\n");
  write(home_file("config"), "[default]\naws_access_key_id = CFGKEY\naws_secret_access_key = b\n");
  auto c = get_once();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->access_key_id, "CREDKEY");
}

TEST_F(CredentialsTest, UnknownExplicitProfileIsAnError) {
  write(home_file("credentials"),
        "[default]\naws_access_key_id = CREDKEY\naws_secret_access_key = a\n");
  vars_["AWS_PROFILE"] = "prod";
  auto c = get_once();
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("AWS_PROFILE is 'prod'"), std::string::npos)
      << c.error().message();
}

TEST_F(CredentialsTest, PartialProfileIsAnError) {
  write(home_file("credentials"), "[default]\naws_access_key_id = CREDKEY\n");
  auto c = get_once();
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("no aws_secret_access_key"), std::string::npos)
      << c.error().message();
}

TEST_F(CredentialsTest, CredentialProcess) {
  auto expires = system_clock::now() + std::chrono::hours(1);
  std::string cmd =
      helper(R"({"Version": 1, "AccessKeyId": "PROCKEY", "SecretAccessKey": "procsecret",
                              "SessionToken": "proctoken", "Expiration": ")" +
                 iso(expires) + "\"}",
             "echo 'helper talking on stderr' >&2\n");
  write(home_file("config"), "[profile p]\ncredential_process = " + cmd + "\n");
  vars_["AWS_PROFILE"] = "p";
  auto c = get_once();
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->access_key_id, "PROCKEY");
  EXPECT_EQ(c->secret_access_key.reveal(), "procsecret");
  EXPECT_EQ(c->session_token->reveal(), "proctoken");
  ASSERT_TRUE(c->expiration);
  EXPECT_LE(std::chrono::abs(*c->expiration - expires), std::chrono::seconds(1));
  EXPECT_EQ(c->source, "credential_process of profile 'p'");
}

TEST_F(CredentialsTest, CredentialProcessFailures) {
  struct Case {
    std::string script;
    std::string expect;
  };
  std::vector<Case> cases = {
      {"exit 3\n", "exited with status 3"},
      {"echo not json\n", "did not print a JSON object"},
      {"echo '{\"Version\": 2, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"B\"}'\n",
       "\"Version\": 1"},
      {"echo '{\"Version\": 1, \"AccessKeyId\": \"A\"}'\n", "no AccessKeyId and SecretAccessKey"},
      {"echo '{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"B\", \"Expiration\": "
       "\"soon\"}'\n",
       "not an ISO 8601 time"},
  };
  for (const auto& k : cases) {
    fs::path script = dir_ / ("fail" + std::to_string(helpers_++) + ".sh");
    write(script, k.script);
    write(home_file("config"), "[default]\ncredential_process = sh " + script.string() + "\n");
    auto c = get_once();
    ASSERT_FALSE(c) << k.script;
    EXPECT_NE(c.error().message().find(k.expect), std::string::npos) << c.error().message();
    EXPECT_NE(c.error().message().find("credential_process of profile 'default'"),
              std::string::npos);
    // Never the secret of a half-valid answer.
    EXPECT_EQ(c.error().message().find("\"B\""), std::string::npos);
  }
}

TEST_F(CredentialsTest, CredentialProcessTimeout) {
  // A helper that would outlive the test run: only the timeout can end the call.
  write(home_file("config"), "[default]\ncredential_process = sleep 3600\n");
  Environment e = env();
  e.process_timeout = std::chrono::milliseconds(300);
  DefaultCredentialsChain chain(ioc_.get_executor(), e);
  auto c = get(chain);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), ErrorCode::kTimeout);
  EXPECT_NE(c.error().message().find("did not finish within 300 ms"), std::string::npos)
      << c.error().message();
}

TEST_F(CredentialsTest, NothingFoundSaysWhatWasTried) {
  auto c = get_once();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), ErrorCode::kUnauthenticated);
  const std::string& m = c.error().message();
  EXPECT_TRUE(m.starts_with("no AWS credentials: tried environment")) << m;
  EXPECT_NE(m.find("profile 'default' in ~/.aws/credentials (no such file)"), std::string::npos)
      << m;
  EXPECT_NE(m.find("profile 'default' in ~/.aws/config (no such file)"), std::string::npos) << m;
  EXPECT_NE(m.find("credential_process (not set in profile 'default')"), std::string::npos) << m;
  EXPECT_NE(m.find("container credentials"), std::string::npos) << m;
  EXPECT_NE(m.find("EC2 instance metadata (AWS_EC2_METADATA_DISABLED=true)"), std::string::npos)
      << m;
}

TEST_F(CredentialsTest, RoleProfilesGetAdvice) {
  write(home_file("config"),
        "[profile admin]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = default\n");
  vars_["AWS_PROFILE"] = "admin";
  auto c = get_once();
  ASSERT_FALSE(c);
  EXPECT_NE(
      c.error().message().find("aws configure export-credentials --profile admin --format process"),
      std::string::npos)
      << c.error().message();
}

TEST_F(CredentialsTest, FullUriMustBeLocalOrHttps) {
  vars_["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://example.com/creds";
  auto c = get_once();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(c.error().message().find("must use https"), std::string::npos);
  // Look-alikes of loopback and of the container agents are remote hosts too.
  for (const char* url : {"http://127.0.0.1.nip.io/creds", "http://localhost.attacker.example/c",
                          "http://127.0.0.1@attacker.example/c", "http://169.254.170.2.nip.io/c",
                          "http://[::ffff:127.0.0.1]/c"}) {
    vars_["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = url;
    auto r = get_once();
    ASSERT_FALSE(r) << url;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << url << ": " << r.error().message();
  }
}

TEST_F(CredentialsTest, StaticCredentialsAreCachedUntilInvalidated) {
  vars_["AWS_ACCESS_KEY_ID"] = "ENVKEY";
  vars_["AWS_SECRET_ACCESS_KEY"] = "envsecret";
  DefaultCredentialsChain chain(ioc_.get_executor(), env());
  ASSERT_TRUE(get(chain));
  ASSERT_TRUE(get(chain));
  EXPECT_EQ(chain.fetches(), 1);
  chain.invalidate();
  ASSERT_TRUE(get(chain));
  EXPECT_EQ(chain.fetches(), 2);
}

TEST_F(CredentialsTest, ExpiringCredentialsAreRefreshedFiveMinutesEarly) {
  std::string soon =
      helper(R"({"Version":1,"AccessKeyId":"A","SecretAccessKey":"B","Expiration":")" +
             iso(system_clock::now() + std::chrono::minutes(4)) + "\"}");
  write(home_file("config"), "[default]\ncredential_process = " + soon + "\n");
  {
    DefaultCredentialsChain chain(ioc_.get_executor(), env());
    ASSERT_TRUE(get(chain));
    ASSERT_TRUE(get(chain));
    EXPECT_EQ(chain.fetches(), 2);  // within the 5 minute margin: fetched every time
  }
  std::string later =
      helper(R"({"Version":1,"AccessKeyId":"A","SecretAccessKey":"B","Expiration":")" +
             iso(system_clock::now() + std::chrono::minutes(60)) + "\"}");
  write(home_file("config"), "[default]\ncredential_process = " + later + "\n");
  DefaultCredentialsChain chain(ioc_.get_executor(), env());
  ASSERT_TRUE(get(chain));
  ASSERT_TRUE(get(chain));
  EXPECT_EQ(chain.fetches(), 1);
}

TEST_F(CredentialsTest, ConcurrentCallersShareOneFetch) {
  std::string slow =
      helper(R"({"Version":1,"AccessKeyId":"A","SecretAccessKey":"B"})", "sleep 0.3\n");
  write(home_file("config"), "[default]\ncredential_process = " + slow + "\n");
  DefaultCredentialsChain chain(ioc_.get_executor(), env());
  std::vector<std::future<Result<Credentials>>> futures;
  for (int i = 0; i < 5; ++i) futures.push_back(net::co_spawn(ioc_, chain.get(), net::use_future));
  ioc_.restart();
  ioc_.run();
  for (auto& f : futures) {
    auto c = f.get();
    ASSERT_TRUE(c);
    EXPECT_EQ(c->access_key_id, "A");
  }
  EXPECT_EQ(chain.fetches(), 1);
}

TEST_F(CredentialsTest, RegionOrder) {
  write(home_file("config"), "[default]\nregion = ap-south-1\n");
  EXPECT_EQ(resolve_region(env()).value(), "ap-south-1");
  vars_["AWS_DEFAULT_REGION"] = "eu-central-1";
  EXPECT_EQ(resolve_region(env()).value(), "eu-central-1");
  vars_["AWS_REGION"] = "us-west-2";
  EXPECT_EQ(resolve_region(env()).value(), "us-west-2");
  vars_["AWS_REGION"] = "us-west-2.evil.com/";
  EXPECT_FALSE(resolve_region(env()));
}

TEST_F(CredentialsTest, NoRegionSaysWhatToSet) {
  auto r = resolve_region(env());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("set AWS_REGION"), std::string::npos);
  EXPECT_NE(r.error().message().find("~/.aws/config"), std::string::npos);
}

TEST(Endpoints, ServiceVariableThenGlobalThenDefault) {
  std::map<std::string, std::string> vars;
  EXPECT_EQ(resolve_endpoint(Environment::from_map(vars), "Secrets Manager", "secretsmanager",
                             "eu-west-1"),
            "https://secretsmanager.eu-west-1.amazonaws.com");
  EXPECT_EQ(resolve_endpoint(Environment::from_map(vars), "Bedrock Runtime", "bedrock-runtime",
                             "cn-north-1"),
            "https://bedrock-runtime.cn-north-1.amazonaws.com.cn");
  vars["AWS_ENDPOINT_URL"] = "http://127.0.0.1:4566";
  EXPECT_EQ(resolve_endpoint(Environment::from_map(vars), "Secrets Manager", "secretsmanager",
                             "eu-west-1"),
            "http://127.0.0.1:4566");
  vars["AWS_ENDPOINT_URL_SECRETS_MANAGER"] = "http://127.0.0.1:9000";
  vars["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"] = "http://127.0.0.1:9001";
  EXPECT_EQ(resolve_endpoint(Environment::from_map(vars), "Secrets Manager", "secretsmanager",
                             "eu-west-1"),
            "http://127.0.0.1:9000");
  EXPECT_EQ(resolve_endpoint(Environment::from_map(vars), "Bedrock Runtime", "bedrock-runtime",
                             "eu-west-1"),
            "http://127.0.0.1:9001");
  vars["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] = "true";
  EXPECT_EQ(resolve_endpoint(Environment::from_map(vars), "Secrets Manager", "secretsmanager",
                             "eu-west-1"),
            "https://secretsmanager.eu-west-1.amazonaws.com");
}

TEST(Iso8601, Forms) {
  auto base = parse_iso8601("2016-02-25T06:03:31Z");
  ASSERT_TRUE(base);
  EXPECT_EQ(system_clock::to_time_t(*base), 1456380211);
  EXPECT_EQ(parse_iso8601("2016-02-25T06:03:31.123Z"), base);
  EXPECT_EQ(parse_iso8601("2016-02-25T08:03:31+02:00"), base);
  EXPECT_EQ(parse_iso8601("2016-02-25T01:03:31-0500"), base);
  EXPECT_EQ(parse_iso8601("2016-02-25T06:03:31"), base);
  EXPECT_FALSE(parse_iso8601("2016-02-25"));
  EXPECT_FALSE(parse_iso8601("2016-02-25T06:03:31Zjunk"));
  EXPECT_FALSE(parse_iso8601("yesterday"));
}

TEST(StaticProvider, ReturnsItsCredentials) {
  net::io_context ioc;
  Credentials c;
  c.access_key_id = "AK";
  c.secret_access_key = Secret("SK");
  StaticCredentialsProvider p(c);
  auto r = run(ioc, p.get());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->access_key_id, "AK");
}

}  // namespace
}  // namespace idp::aws
