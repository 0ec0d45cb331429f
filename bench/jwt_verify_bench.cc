// bench-jwt-verify: single-thread rate of our JWT access-token verifier, for bench/jwt_verify.
//
//   bench-jwt-verify [--seconds S] [--only uncached|cached] [--token-out FILE] [--jwks-out FILE]
//                    [--issuer-out FILE]
//
// Generates a fresh RSA-2048 key (kid "bench-key-1") and signs one RS256 access token shaped like
// a real Cognito access token (header {kid, alg}; claims sub, event_id, origin_jti, token_use,
// scope, auth_time, iss, exp, iat, jti, client_id, username), valid for one hour. Then, each for
// S seconds (default 3; fractions allowed) after a short warm-up, on this thread:
//
//   uncached  idp::auth::verify_jwt(token, rules, jwks, now): the whole check of a token not seen
//             before (split, base64url, header, kid lookup, RSA signature, claims, Cognito rules)
//   cached    idp::auth::BearerAuth::verify(token, now) after the token has been verified once:
//             the verified-token cache lookup an MCP server does for a token it already knows
//
// `--only` runs one of the two (the other prints 0): handy under `perf record`.
//
// Rates are counted per second of this thread's CPU time (CLOCK_THREAD_CPUTIME_ID), as
// `openssl speed` counts its operations per second of user CPU time by default, so that other
// jobs taking the CPU away on a shared machine do not lower them; the wall-clock rates are
// printed too (on an idle machine the two agree). Every result is checked (an error ends the
// program with exit status 1 and a message on stderr). On success it prints one line to stdout:
//
//   uncached_per_s=N cached_per_s=M uncached_wall_per_s=.. cached_wall_per_s=.. token_bytes=..
//
// and, when asked, writes the token, the public JWKS ({"keys":[...]}) and the issuer, each
// without a trailing newline, so that another verifier (bench/jose_verify.mjs) checks the same
// token with the same key. The private key never leaves the process.
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <boost/json/serialize.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>

#include "idp/auth/bearer_auth.h"
#include "idp/auth/jwk.h"
#include "idp/auth/jwt.h"
#include "idp/core/random.h"

namespace bj = boost::json;
using namespace idp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::string_view kIssuer =
    "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_BenchPool";
constexpr std::string_view kClientId = "5mq2bench7h3d1client0id9xq";
constexpr std::string_view kKid = "bench-key-1";

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "bench-jwt-verify: error: %s\n", message.c_str());
  std::exit(1);
}

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

std::string bn_param_b64(EVP_PKEY* key, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) die(std::string("cannot read RSA ") + name);
  std::string out(static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  BN_free(bn);
  return base64url_encode(out);
}

std::string sign_rs256(EVP_PKEY* key, std::string_view input) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  const auto* in = reinterpret_cast<const unsigned char*>(input.data());
  std::size_t len = 0;
  if (!ctx ||
      EVP_DigestSignInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr, key, nullptr) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, in, input.size()) != 1) {
    die("cannot set up RS256 signing");
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in,
                     input.size()) != 1) {
    die("RS256 signing failed");
  }
  sig.resize(len);
  return sig;
}

// A random lowercase UUID, like Cognito's sub, jti, origin_jti and event_id.
std::string uuid() {
  std::string hex = random_token(16);  // base64url; only its bytes' spread matters here
  std::string out;
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char c : hex) out += kHex[c & 0x0F];
  out.resize(32);
  return out.substr(0, 8) + "-" + out.substr(8, 4) + "-4" + out.substr(13, 3) + "-a" +
         out.substr(17, 3) + "-" + out.substr(20, 12);
}

void write_file(const std::string& path, std::string_view text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(text.data(), static_cast<std::streamsize>(text.size()));
  f.close();
  if (!f) die("cannot write " + path);
}

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Rate {
  double per_cpu_s = 0;   // calls per second of this thread's CPU time
  double per_wall_s = 0;  // calls per second of wall-clock time
};

// Runs `one` in batches for `seconds` of wall-clock time (after `warmup` seconds, not counted).
template <typename F>
Rate measure(double seconds, double warmup, F&& one, std::size_t batch) {
  auto run_for = [&](double s) {
    const double cpu_start = thread_cpu_seconds();
    const auto start = Clock::now();
    const auto until = start + std::chrono::duration<double>(s);
    std::size_t calls = 0;
    Clock::time_point now;
    do {
      for (std::size_t i = 0; i < batch; ++i) one();
      calls += batch;
      now = Clock::now();
    } while (now < until);
    const double cpu = thread_cpu_seconds() - cpu_start;
    const double wall = std::chrono::duration<double>(now - start).count();
    return Rate{static_cast<double>(calls) / cpu, static_cast<double>(calls) / wall};
  };
  if (warmup > 0) run_for(warmup);
  return run_for(seconds);
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 3;
  std::string token_out, jwks_out, issuer_out, only;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die(std::string(arg) + " needs a value");
      return argv[++i];
    };
    if (arg == "--seconds") {
      std::string v = value();
      char* end = nullptr;
      seconds = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end != '\0' || !(seconds > 0))
        die("--seconds must be > 0, got " + v);
    } else if (arg == "--only") {
      only = value();
      if (only != "uncached" && only != "cached") die("--only takes uncached or cached");
    } else if (arg == "--token-out") {
      token_out = value();
    } else if (arg == "--jwks-out") {
      jwks_out = value();
    } else if (arg == "--issuer-out") {
      issuer_out = value();
    } else if (arg == "-h" || arg == "--help") {
      std::printf(
          "usage: bench-jwt-verify [--seconds S] [--only uncached|cached] [--token-out FILE] "
          "[--jwks-out FILE] [--issuer-out FILE]\n");
      return 0;
    } else {
      die("unknown argument '" + std::string(arg) + "' (see --help)");
    }
  }

  // Key, JWKS and a Cognito-shaped access token.
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(2048)));
  if (!key) die("RSA-2048 key generation failed");
  bj::object jwk{
      {"alg", "RS256"}, {"e", bn_param_b64(key.get(), OSSL_PKEY_PARAM_RSA_E)}, {"kid", kKid},
      {"kty", "RSA"},   {"n", bn_param_b64(key.get(), OSSL_PKEY_PARAM_RSA_N)}, {"use", "sig"}};
  const std::string jwks_json = bj::serialize(bj::object{{"keys", bj::array{jwk}}});

  const std::int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
  const std::string header = bj::serialize(bj::object{{"kid", kKid}, {"alg", "RS256"}});
  const std::string payload = bj::serialize(bj::object{
      {"sub", uuid()},
      {"event_id", uuid()},
      {"origin_jti", uuid()},
      {"token_use", "access"},
      {"scope", "aws.cognito.signin.user.admin"},
      {"auth_time", now_s - 5},
      {"iss", kIssuer},
      {"exp", now_s + 3600},
      {"iat", now_s - 5},
      {"jti", uuid()},
      {"client_id", kClientId},
      {"username", "bench-user"},
  });
  const std::string signing_input = base64url_encode(header) + "." + base64url_encode(payload);
  const std::string token =
      signing_input + "." + base64url_encode(sign_rs256(key.get(), signing_input));

  auto jwks = auth::JwkSet::parse(jwks_json);
  if (!jwks) die("our own JWKS does not parse: " + jwks.error().message());
  auth::JwtRules rules;
  rules.issuer = kIssuer;
  rules.client_ids = {std::string(kClientId)};

  if (!token_out.empty()) write_file(token_out, token);
  if (!jwks_out.empty()) write_file(jwks_out, jwks_json);
  if (!issuer_out.empty()) write_file(issuer_out, kIssuer);

  // Uncached: the full verification, every time.
  {
    auto v = auth::verify_jwt(token, rules, *jwks, std::chrono::system_clock::now());
    if (!v) die("verify_jwt rejects the bench token: " + v.error().message);
    if (v->subject.empty() || !v->claims.contains("username")) die("verify_jwt lost claims");
  }
  std::size_t failures = 0;
  Rate uncached;
  if (only != "cached")
    uncached = measure(
        seconds, 0.3,
        [&] {
          auto v = auth::verify_jwt(token, rules, *jwks, std::chrono::system_clock::now());
          if (!v) ++failures;
        },
        16);
  if (failures != 0) die(std::to_string(failures) + " uncached verifications failed");

  // Cached: BearerAuth with the same keys installed, the token verified once.
  auth::BearerAuthOptions options;
  options.rules = rules;
  auth::BearerAuth bearer(options);
  bearer.set_keys(*jwks);
  {
    auto first = bearer.verify(token, std::chrono::system_clock::now());
    if (!first) die("BearerAuth::verify rejects the bench token: " + first.error().message);
    if (!*first || !(*first)->authenticated || (*first)->subject.empty()) {
      die("BearerAuth::verify returned no identity");
    }
  }
  // The cache must never hand a token's identity to another token: a copy of the token with one
  // payload character changed (same length, same signature at the end, so the same cache bucket)
  // is a miss and then fails verification.
  {
    std::string forged = token;
    char& c = forged[token.find('.') + 10];
    c = c == 'A' ? 'B' : 'A';
    auto v = bearer.verify(forged, std::chrono::system_clock::now());
    if (v) die("BearerAuth::verify accepted a forged token");
    if (v.error().failure != auth::JwtFailure::kBadSignature &&
        v.error().failure != auth::JwtFailure::kMalformed) {
      die("a forged token failed for an unexpected reason: " + v.error().message);
    }
  }
  Rate cached;
  if (only != "uncached")
    cached = measure(
        seconds, 0.3,
        [&] {
          auto v = bearer.verify(token, std::chrono::system_clock::now());
          if (!v || !*v) ++failures;
        },
        256);
  if (failures != 0) die(std::to_string(failures) + " cached verifications failed");
  if (only != "uncached" && bearer.stats().cache_hits == 0)
    die("the cached path never hit the cache");

  std::printf(
      "uncached_per_s=%.0f cached_per_s=%.0f uncached_wall_per_s=%.0f cached_wall_per_s=%.0f "
      "token_bytes=%zu\n",
      uncached.per_cpu_s, cached.per_cpu_s, uncached.per_wall_s, cached.per_wall_s, token.size());
  return 0;
}
