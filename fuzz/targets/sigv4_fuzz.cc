// Fuzz target: SigV4 canonicalization and signing (idp::aws), which see paths, queries and
// headers built from model ids, tool names and whatever a caller passes. Input lines: method,
// wire path, wire query, then "Name: value" headers up to an empty line, then the body. The
// first byte picks the signing options. Checks: the canonical URI holds only unreserved
// characters, '/' and %XX; signing is repeatable (the key cache changes nothing); the
// Authorization value parses back to what was signed; the date format round-trips. The last
// field is also given to parse_authorization and parse_amz_date as they are.
#include <cctype>
#include <chrono>
#include <string>

#include "fuzz_target.h"
#include "idp/aws/sigv4.h"

namespace {

bool canonical_chars(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_' || c == '.' || c == '~' || c == '/';
    if (unreserved) continue;
    if (c != '%' || i + 2 >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(s[i + 2])))
      return false;
    i += 2;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto [mode, text] = idp::fuzz::take_mode(idp::fuzz::as_text(data, size));
  auto f = idp::fuzz::split_fields(text, 4);
  idp::aws::SigningRequest req;
  req.method = std::string(f[0]);
  req.path = std::string(f[1]);
  req.query = std::string(f[2]);
  std::string_view rest = f[3];
  while (!rest.empty()) {
    auto nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (line.empty()) break;
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    req.headers.emplace_back(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
  }
  req.body = rest;

  idp::aws::SigningOptions opt;
  opt.normalize_path = !(mode & 1);
  opt.encode_path = !(mode & 2);
  if (mode & 4) opt.payload_hash = "UNSIGNED-PAYLOAD";
  opt.add_content_sha256_header = mode & 8;
  opt.omit_session_token = mode & 16;

  std::string uri = idp::aws::canonical_uri(req.path, opt.normalize_path, opt.encode_path);
  if (opt.encode_path) IDP_FUZZ_CHECK(canonical_chars(uri));
  (void)idp::aws::canonical_query(req.query);

  idp::aws::Credentials creds;
  creds.access_key_id = "AKIDEXAMPLE";
  creds.secret_access_key = idp::Secret("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
  if (mode & 32) creds.session_token = idp::Secret("session-token-for-the-fuzzer");
  const auto when = std::chrono::sys_days(std::chrono::year(2015) / 8 / 30) + std::chrono::hours(12) +
                    std::chrono::minutes(36);
  static idp::aws::Signer signer;
  auto a = signer.sign(req, creds, "us-east-1", "bedrock", when, opt);
  auto b = signer.sign(req, creds, "us-east-1", "bedrock", when, opt);
  IDP_FUZZ_CHECK(a.has_value() == b.has_value());
  if (a) {
    IDP_FUZZ_CHECK(a->signature == b->signature);
    IDP_FUZZ_CHECK(a->signature.size() == 64);
    auto parsed = idp::aws::parse_authorization(a->authorization);
    IDP_FUZZ_CHECK(parsed.has_value());
    IDP_FUZZ_CHECK(parsed->access_key_id == "AKIDEXAMPLE");
    IDP_FUZZ_CHECK(parsed->signature == a->signature);
    IDP_FUZZ_CHECK(parsed->date == "20150830");
    IDP_FUZZ_CHECK(a->amz_date == "20150830T123600Z");
  }
  auto t = idp::aws::parse_amz_date(rest);
  if (t) {
    auto again = idp::aws::parse_amz_date(idp::aws::format_amz_date(*t));
    IDP_FUZZ_CHECK(again && *again == *t);
  }
  (void)idp::aws::parse_authorization(rest);
  return 0;
}
