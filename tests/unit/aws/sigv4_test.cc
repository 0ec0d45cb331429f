// SigV4 against every header-signing vector of the official suite (aws-c-auth v4, in
// tests/data/aws-sigv4), step by step, plus the cases that break hand-rolled signers.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "idp/aws/credentials.h"
#include "idp/aws/sigv4.h"
#include "idp/core/json_util.h"
#include "idp/http/message.h"

namespace idp::aws {
namespace {

namespace fs = std::filesystem;
using std::chrono::system_clock;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// One HTTP/1.1 message of the suite: the request line's target may hold spaces and raw UTF-8,
// header values may continue on indented lines, names repeat, and there is no final newline.
struct HttpText {
  std::string method;
  std::string target;
  HeaderList headers;
  std::string body;
};

HttpText parse_http(const std::string& text) {
  HttpText out;
  std::size_t pos = 0;
  auto next_line = [&](std::string* line) {
    if (pos > text.size()) return false;
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    *line = text.substr(pos, nl - pos);
    if (!line->empty() && line->back() == '\r') line->pop_back();
    pos = nl + 1;
    return true;
  };
  std::string line;
  next_line(&line);
  std::size_t first = line.find(' ');
  std::size_t last = line.rfind(' ');
  out.method = line.substr(0, first);
  out.target = line.substr(first + 1, last - first - 1);
  while (next_line(&line)) {
    if (line.empty()) break;
    if ((line.front() == ' ' || line.front() == '\t') && !out.headers.empty()) {
      // obs-fold: the continuation joins the value with one space (RFC 9112 section 5.2)
      std::size_t start = line.find_first_not_of(" \t");
      out.headers.back().second += " " + line.substr(start);
      continue;
    }
    std::size_t colon = line.find(':');
    out.headers.emplace_back(line.substr(0, colon), line.substr(colon + 1));
  }
  if (pos <= text.size()) out.body = text.substr(pos);
  return out;
}

std::vector<std::string> vector_names() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(IDP_SIGV4_TESTDATA, ec)) {
    if (entry.is_directory() && fs::exists(entry.path() / "context.json")) {
      names.push_back(entry.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

class SigV4Suite : public ::testing::TestWithParam<std::string> {};

TEST_P(SigV4Suite, MatchesOfficialVector) {
  fs::path dir = fs::path(IDP_SIGV4_TESTDATA) / GetParam();
  auto ctx_value = ::idp::json::parse(read_file(dir / "context.json"));
  ASSERT_TRUE(ctx_value && ctx_value->is_object());
  const auto& ctx = ctx_value->get_object();
  const auto* creds = ::idp::json::find_object(ctx, "credentials");
  ASSERT_NE(creds, nullptr);

  Credentials c;
  c.access_key_id = std::string(*::idp::json::find_string(*creds, "access_key_id"));
  c.secret_access_key = Secret(std::string(*::idp::json::find_string(*creds, "secret_access_key")));
  if (auto* token = ::idp::json::find_string(*creds, "token"))
    c.session_token = Secret(std::string(*token));
  std::string region(*::idp::json::find_string(ctx, "region"));
  std::string service(*::idp::json::find_string(ctx, "service"));
  auto when = parse_iso8601(*::idp::json::find_string(ctx, "timestamp"));
  ASSERT_TRUE(when);

  SigningOptions opt;
  opt.normalize_path = ::idp::json::find_bool(ctx, "normalize").value_or(true);
  opt.encode_path = true;
  opt.add_content_sha256_header = ::idp::json::find_bool(ctx, "sign_body").value_or(false);
  opt.omit_session_token = ::idp::json::find_bool(ctx, "omit_session_token").value_or(false);

  HttpText req = parse_http(read_file(dir / "request.txt"));
  SigningRequest sreq;
  sreq.method = req.method;
  std::size_t q = req.target.find('?');
  sreq.path = req.target.substr(0, q);
  sreq.query = q == std::string::npos ? "" : req.target.substr(q + 1);
  sreq.headers = req.headers;
  sreq.body = req.body;

  Signer signer;
  auto s = signer.sign(sreq, c, region, service, *when, opt);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->canonical_request, read_file(dir / "header-canonical-request.txt"));
  EXPECT_EQ(s->string_to_sign, read_file(dir / "header-string-to-sign.txt"));
  EXPECT_EQ(s->signature, read_file(dir / "header-signature.txt"));

  // The signed request is the original plus exactly the headers sign() returns.
  HttpText signed_req = parse_http(read_file(dir / "header-signed-request.txt"));
  EXPECT_EQ(signed_req.headers.size(), req.headers.size() + s->headers.size());
  for (const auto& [name, value] : s->headers) {
    auto it = std::find_if(signed_req.headers.begin(), signed_req.headers.end(),
                           [&](const auto& h) { return http::iequals(h.first, name); });
    ASSERT_NE(it, signed_req.headers.end()) << name;
    EXPECT_EQ(it->second, value) << name;
  }
  auto auth = std::find_if(signed_req.headers.begin(), signed_req.headers.end(),
                           [](const auto& h) { return h.first == "Authorization"; });
  ASSERT_NE(auth, signed_req.headers.end());
  EXPECT_EQ(auth->second, s->authorization);
}

std::string test_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string n = info.param;
  std::replace(n.begin(), n.end(), '-', '_');
  return n;
}

INSTANTIATE_TEST_SUITE_P(Official, SigV4Suite, ::testing::ValuesIn(vector_names()), test_name);

TEST(SigV4, SuiteIsComplete) {
  // aws-c-auth's v4 directory holds 38 vectors; a missing data dir must fail, not pass empty.
  EXPECT_EQ(vector_names().size(), 38u);
}

Credentials example_credentials() {
  Credentials c;
  c.access_key_id = "AKIDEXAMPLE";
  c.secret_access_key = Secret("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
  return c;
}

system_clock::time_point example_time() { return *parse_amz_date("20150830T123600Z"); }

std::string line_of(const std::string& text, int n) {
  std::istringstream in(text);
  std::string line;
  for (int i = 0; i <= n; ++i) std::getline(in, line);
  return line;
}

TEST(SigV4, BedrockModelIdIsDoubleEncoded) {
  SigningRequest r;
  r.method = "POST";
  r.path = "/model/us.anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse";
  r.headers = {{"Host", "bedrock-runtime.us-east-1.amazonaws.com"},
               {"Content-Type", "application/json"}};
  r.body = R"({"messages":[]})";
  Signer signer;
  auto s = signer.sign(r, example_credentials(), "us-east-1", "bedrock", example_time());
  ASSERT_TRUE(s);
  EXPECT_EQ(line_of(s->canonical_request, 1),
            "/model/us.anthropic.claude-3-5-sonnet-20240620-v1%253A0/converse");
  EXPECT_NE(s->authorization.find("/us-east-1/bedrock/aws4_request"), std::string::npos);
  // An ARN as a model id: '/' travels as %2F and is signed as %252F.
  EXPECT_EQ(
      canonical_uri("/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Afoundation-model%2Fx/converse",
                    true, true),
      "/model/arn%253Aaws%253Abedrock%253Aus-east-1%253A1%253Afoundation-model%252Fx/converse");
  // S3 style: the path as it is.
  EXPECT_EQ(canonical_uri("/a%3Ab/./c", false, false), "/a%3Ab/./c");
}

TEST(SigV4, QueryCanonicalization) {
  EXPECT_EQ(canonical_query(""), "");
  EXPECT_EQ(canonical_query("b=2&a=1&a=0"), "a=0&a=1&b=2");
  EXPECT_EQ(canonical_query("flag"), "flag=");
  EXPECT_EQ(canonical_query("q=a b"), "q=a%20b");
  EXPECT_EQ(canonical_query("q=a%20b"), "q=a%20b");
  EXPECT_EQ(canonical_query("q=a+b"), "q=a%2Bb");
  EXPECT_EQ(canonical_query("k=%2f"), "k=%2F");
  EXPECT_EQ(canonical_query("k=100%"), "k=100%25");
}

TEST(SigV4, SigningKeyIsCachedPerDayRegionServiceAndKey) {
  SigningRequest r;
  r.headers = {{"Host", "example.amazonaws.com"}};
  Signer signer;
  auto c = example_credentials();
  auto t = example_time();
  ASSERT_TRUE(signer.sign(r, c, "us-east-1", "service", t));
  ASSERT_TRUE(signer.sign(r, c, "us-east-1", "service", t + std::chrono::hours(1)));
  EXPECT_EQ(signer.key_derivations(), 1u);
  ASSERT_TRUE(signer.sign(r, c, "us-east-1", "secretsmanager", t));
  EXPECT_EQ(signer.key_derivations(), 2u);
  ASSERT_TRUE(signer.sign(r, c, "us-east-1", "service", t + std::chrono::hours(24)));
  EXPECT_EQ(signer.key_derivations(), 3u);
  // Same key id, another secret: a new key, and a different signature.
  auto c2 = c;
  c2.secret_access_key = Secret("another");
  auto a = signer.sign(r, c, "us-east-1", "service", t);
  auto b = signer.sign(r, c2, "us-east-1", "service", t);
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->signature, b->signature);
  EXPECT_EQ(signer.key_derivations(), 4u);
  // Cached keys give the same signature as fresh ones.
  Signer fresh;
  auto a2 = fresh.sign(r, c, "us-east-1", "service", t);
  EXPECT_EQ(a->signature, a2->signature);
}

TEST(SigV4, HeadersTheSignerOwnsOrSkips) {
  SigningRequest r;
  r.method = "POST";
  r.headers = {
      {"Host", "example.amazonaws.com"}, {"User-Agent", "curl/8"},
      {"Connection", "keep-alive"},      {"X-Amz-Date", "19990101T000000Z"},
      {"Authorization", "old"},          {"X-Amz-Target", "secretsmanager.GetSecretValue"}};
  auto c = example_credentials();
  c.session_token = Secret("tok");
  Signer signer;
  SigningOptions opt;
  opt.payload_hash = "UNSIGNED-PAYLOAD";
  opt.add_content_sha256_header = true;
  auto s = signer.sign(r, c, "us-east-1", "service", example_time(), opt);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->signed_headers,
            "host;x-amz-content-sha256;x-amz-date;x-amz-security-token;x-amz-target");
  EXPECT_TRUE(s->canonical_request.ends_with("\nUNSIGNED-PAYLOAD"));
  EXPECT_NE(s->canonical_request.find("x-amz-date:20150830T123600Z\n"), std::string::npos);
  ASSERT_EQ(s->headers.size(), 4u);
  EXPECT_EQ(s->headers[0], (std::pair<std::string, std::string>{"X-Amz-Date", "20150830T123600Z"}));
  EXPECT_EQ(s->headers[1],
            (std::pair<std::string, std::string>{"X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"}));
  EXPECT_EQ(s->headers[2], (std::pair<std::string, std::string>{"X-Amz-Security-Token", "tok"}));
  EXPECT_EQ(s->headers[3].first, "Authorization");
}

TEST(SigV4, RejectsIncompleteInput) {
  Signer signer;
  SigningRequest r;
  auto no_host = signer.sign(r, example_credentials(), "us-east-1", "service", example_time());
  ASSERT_FALSE(no_host);
  EXPECT_EQ(no_host.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(no_host.error().message().find("Host"), std::string::npos);
  r.headers = {{"Host", "h"}};
  Credentials empty;
  EXPECT_FALSE(signer.sign(r, empty, "us-east-1", "service", example_time()));
  EXPECT_FALSE(signer.sign(r, example_credentials(), "", "service", example_time()));
}

// Found by fuzz-sigv4: a header name with ',' (or ';', ':', a line break) was signed as given,
// so SignedHeaders listed "content,type" and the Authorization value no longer parsed.
TEST(SigV4, RefusesHeaderNamesThatAreNotTokens) {
  Signer signer;
  for (const char* name : {"Content,Type", "a;b", "x:y", "bad name", "line\nbreak", ""}) {
    SigningRequest r;
    r.headers = {{"Host", "h"}, {name, "v"}};
    auto s = signer.sign(r, example_credentials(), "us-east-1", "service", example_time());
    ASSERT_FALSE(s) << name;
    EXPECT_EQ(s.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(s.error().message().find("header 2 "), std::string::npos) << s.error().message();
  }
}

TEST(SigV4, AuthorizationRoundTrip) {
  SigningRequest r;
  r.headers = {{"Host", "example.amazonaws.com"}, {"X-Amz-Target", "x"}};
  Signer signer;
  auto s = signer.sign(r, example_credentials(), "eu-west-3", "secretsmanager", example_time());
  ASSERT_TRUE(s);
  auto p = parse_authorization(s->authorization);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->access_key_id, "AKIDEXAMPLE");
  EXPECT_EQ(p->date, "20150830");
  EXPECT_EQ(p->region, "eu-west-3");
  EXPECT_EQ(p->service, "secretsmanager");
  EXPECT_EQ(p->signed_headers, (std::vector<std::string>{"host", "x-amz-date", "x-amz-target"}));
  EXPECT_EQ(p->signature, s->signature);
  // Without spaces after the commas (some SDKs).
  auto tight = parse_authorization(
      "AWS4-HMAC-SHA256 "
      "Credential=AK/20150830/us-east-1/s/aws4_request,SignedHeaders=host,Signature=ab");
  ASSERT_TRUE(tight);
  EXPECT_EQ(tight->signature, "ab");
  EXPECT_FALSE(parse_authorization("Bearer abc"));
  EXPECT_FALSE(
      parse_authorization("AWS4-HMAC-SHA256 Credential=AK/2015/us-east-1/s, Signature=ab"));
  EXPECT_FALSE(parse_authorization("AWS4-HMAC-SHA256 SignedHeaders=host, Signature=ab"));
}

TEST(SigV4, AmzDate) {
  auto t = parse_amz_date("20150830T123600Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(format_amz_date(*t), "20150830T123600Z");
  EXPECT_EQ(system_clock::to_time_t(*t), 1440938160);
  EXPECT_FALSE(parse_amz_date("2015-08-30T12:36:00Z"));
  EXPECT_FALSE(parse_amz_date("20151330T123600Z"));
  EXPECT_EQ(format_amz_date(system_clock::from_time_t(0)), "19700101T000000Z");
}

TEST(SigV4, Hashes) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  // RFC 4231 test case 2.
  EXPECT_EQ(to_hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(uri_encode("a b/~é", false), "a%20b%2F~%C3%A9");
  EXPECT_EQ(uri_encode("a b/~", true), "a%20b/~");
}

}  // namespace
}  // namespace idp::aws
