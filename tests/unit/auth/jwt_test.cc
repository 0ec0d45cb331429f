// JWK parsing and JWT verification: RFC 7520 cookbook vectors for the signature step, then full
// tokens signed in the test with fresh RSA-2048 and EC P-256 keys, one test per rejection reason.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <boost/json.hpp>

#include <chrono>
#include <memory>
#include <string>

#include "../../lib/digest_sign.h"
#include "idp/auth/jwk.h"
#include "idp/auth/jwt.h"
#include "idp/core/crypto.h"
#include "idp/core/json_util.h"
#include "idp/core/random.h"

namespace idp::auth {
namespace {

namespace bj = boost::json;
using std::chrono::seconds;
using std::chrono::system_clock;

// --- RFC 7520 (ietf-jose/cookbook) vectors, copied from ../shared/testdata/jose-cookbook ---

// jwk/3_3.rsa_public_key.json
constexpr std::string_view kCookbookRsaJwk = R"({
  "kty": "RSA", "kid": "bilbo.baggins@hobbiton.example", "use": "sig",
  "n": "n4EPtAOCc9AlkeQHPzHStgAbgs7bTZLwUBZdR8_KuKPEHLd4rHVTeT-O-XV2jRojdNhxJWTDvNd7nqQ0VEiZQHz_AJmSCpMaJMRBSFKrKb2wqVwGU_NsYOYL-QtiWN2lbzcEe6XC0dApr5ydQLrHqkHHig3RBordaZ6Aj-oBHqFEHYpPe7Tpe-OfVfHd1E6cS6M1FZcD1NNLYD5lFHpPI9bTwJlsde3uhGqC0ZCuEHg8lhzwOHrtIQbS0FVbb9k3-tVTU4fg_3L_vniUFAKwuCLqKnS2BYwdq_mzSnbLY7h_qixoR7jig3__kRhuaxwUkRz5iaiQkqgc5gHdrNP5zw",
  "e": "AQAB"})";

// jws/4_1.rsa_v15_signature.json: signing.sig-input and signing.sig.
constexpr std::string_view kCookbookRs256Input =
    "eyJhbGciOiJSUzI1NiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9."
    "SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250"
    "byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hl"
    "cmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4";
constexpr std::string_view kCookbookRs256Sig =
    "MRjdkly7_-oTPTS3AXP41iQIGKa80A0ZmTuV5MEaHoxnW2e5CZ5NlKtainoFmKZopdHM1O2U4mwzJdQx996ivp83xugl"
    "II7PNDi84wnB-BDkoBwA78185hX-Es4JIwmDLJK3lfWRa-XtL0RnltuYv746iYTh_qHRD68BNt1uSNCrUCTJDt5aAE6x"
    "8wW1Kt9eRo4QPocSadnHXFxnt8Is9UzpERV0ePPQdLuW3IS_de3xyIrDaLGdjluPxUAhb6L2aXic1U12podGU0KLUQSE"
    "_oI-ZnmKJ3F4uOZDnd6QZWJushZ41Axf_fcIe8u9ipH84ogoree7vjbU5y18kDquDg";

// jwk/3_1.ec_public_key.json (P-521).
constexpr std::string_view kCookbookEcJwk = R"({
  "kty": "EC", "kid": "bilbo.baggins@hobbiton.example", "use": "sig", "crv": "P-521",
  "x": "AHKZLLOsCOzz5cY97ewNUajB957y-C-U88c3v13nmGZx6sYl_oJXu9A5RkTKqjqvjyekWF-7ytDyRXYgCF5cj0Kt",
  "y": "AdymlHvOiLxXkEhayXQnNCvDX4h9htZaCJN34kfmC6pV5OhQHiraVySsUdaQkAgDPrwQrJmbnX9cwlGfP-HqHZR1"})";

// jws/4_3.ecdsa_signature.json (ES512): signing.sig-input and signing.sig.
constexpr std::string_view kCookbookEs512Input =
    "eyJhbGciOiJFUzUxMiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9."
    "SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250"
    "byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hl"
    "cmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4";
constexpr std::string_view kCookbookEs512Sig =
    "AE_R_YZCChjn4791jSQCrdPZCNYqHXCTZH0-JZGYNlaAjP2kqaluUIIUnC9qvbu9Plon7KRTzoNEuT4Va2cmL1eJAQy3"
    "mtPBu_u_sDDyYjnAMDxXPn7XrT0lw-kvAD890jl8e2puQens_IEKBpHABlsbEPX6sFY8OcGDqoRuBomu9xQ2";

// jwk/3_5.symmetric_key_mac_computation.json
constexpr std::string_view kCookbookOctJwk = R"({
  "kty": "oct", "kid": "018c0ae5-4d9b-471b-bfd6-eef314bc7037", "use": "sig", "alg": "HS256",
  "k": "hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg"})";

std::string b64(std::string_view s) { return base64url_encode(s); }

TEST(JwsCookbook, Rs256SignatureVerifiesWithPublicJwk) {
  auto key = parse_jwk(kCookbookRsaJwk);
  ASSERT_TRUE(key.has_value()) << key.error().to_string();
  EXPECT_EQ(key->kty, KeyType::kRsa);
  EXPECT_EQ(key->kid, "bilbo.baggins@hobbiton.example");
  EXPECT_EQ(key->bits, 2048u);
  auto sig = base64url_decode(kCookbookRs256Sig);
  ASSERT_TRUE(sig.has_value());
  EXPECT_TRUE(verify_jws_signature("RS256", *key, kCookbookRs256Input, *sig).has_value());

  std::string tampered(kCookbookRs256Input);
  tampered.back() = tampered.back() == 'A' ? 'B' : 'A';
  auto bad = verify_jws_signature("RS256", *key, tampered, *sig);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().failure, JwtFailure::kBadSignature);
  // The same bytes claimed as RS384 do not verify either.
  EXPECT_FALSE(verify_jws_signature("RS384", *key, kCookbookRs256Input, *sig).has_value());
}

TEST(JwsCookbook, Es512SignatureVerifiesWithP521Jwk) {
  auto key = parse_jwk(kCookbookEcJwk);
  ASSERT_TRUE(key.has_value()) << key.error().to_string();
  EXPECT_EQ(key->kty, KeyType::kEc);
  EXPECT_EQ(key->crv, "P-521");
  auto sig = base64url_decode(kCookbookEs512Sig);
  ASSERT_TRUE(sig.has_value());
  ASSERT_EQ(sig->size(), 132u);
  EXPECT_TRUE(verify_jws_signature("ES512", *key, kCookbookEs512Input, *sig).has_value());
  std::string flipped = *sig;
  flipped[70] ^= 0x01;
  EXPECT_FALSE(verify_jws_signature("ES512", *key, kCookbookEs512Input, flipped).has_value());
  // ES256 over a P-521 key is a mismatch, not a signature check.
  auto mismatch = verify_jws_signature("ES256", *key, kCookbookEs512Input, *sig);
  ASSERT_FALSE(mismatch.has_value());
  EXPECT_EQ(mismatch.error().failure, JwtFailure::kUnknownKey);
}

TEST(Jwk, RejectsSymmetricAndPrivateKeys) {
  auto oct = parse_jwk(kCookbookOctJwk);
  ASSERT_FALSE(oct.has_value());
  EXPECT_NE(oct.error().message().find("symmetric"), std::string::npos) << oct.error().message();

  auto rsa = json::parse(kCookbookRsaJwk);
  ASSERT_TRUE(rsa.has_value());
  bj::object priv = rsa->get_object();
  priv["d"] = "bWUC9B-EFRIo8kpGfh0ZuyGPvMNKvYWNtB_ikiH9k20";
  auto p = parse_jwk(priv);
  ASSERT_FALSE(p.has_value());
  EXPECT_NE(p.error().message().find("private key material"), std::string::npos);

  // Either one in a JWKS fails the whole set: the operator must fix the published document.
  std::string jwks = fmt::format(R"({{"keys":[{},{}]}})", kCookbookRsaJwk, kCookbookOctJwk);
  auto set = JwkSet::parse(jwks);
  ASSERT_FALSE(set.has_value());
  EXPECT_NE(set.error().message().find("symmetric"), std::string::npos);
}

TEST(Jwk, RejectsWeakOrBrokenKeys) {
  // A 512-bit RSA modulus.
  std::string small_n = b64(std::string(64, '\xC3'));
  auto weak = parse_jwk(fmt::format(R"({{"kty":"RSA","kid":"k","n":"{}","e":"AQAB"}})", small_n));
  ASSERT_FALSE(weak.has_value());
  EXPECT_NE(weak.error().message().find("2048"), std::string::npos);
  // An EC point that is not on the curve.
  std::string coord = b64(std::string(32, '\x01'));
  auto off = parse_jwk(fmt::format(R"({{"kty":"EC","crv":"P-256","x":"{0}","y":"{0}"}})", coord));
  EXPECT_FALSE(off.has_value());
  auto curve = parse_jwk(R"({"kty":"EC","crv":"secp256k1","x":"AA","y":"AA"})");
  ASSERT_FALSE(curve.has_value());
  EXPECT_NE(curve.error().message().find("secp256k1"), std::string::npos);
  EXPECT_FALSE(parse_jwk(R"({"kty":"RSA","n":"!!","e":"AQAB"})").has_value());
  EXPECT_FALSE(parse_jwk("[1]").has_value());
}

TEST(Jwk, SetSkipsKeysItCannotUseAndFindsByKid) {
  std::string jwks = fmt::format(
      R"({{"keys":[{},
          {{"kty":"OKP","kid":"ed","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}},
          {{"kty":"RSA","kid":"enc","use":"enc","n":"AQAB","e":"AQAB"}},
          {}]}})",
      kCookbookRsaJwk, kCookbookEcJwk);
  auto set = JwkSet::parse(jwks);
  ASSERT_TRUE(set.has_value()) << set.error().to_string();
  // The EC key repeats the RSA key's kid: first one wins.
  EXPECT_EQ(set->size(), 1u);
  EXPECT_EQ(set->skipped().size(), 3u);
  ASSERT_NE(set->find("bilbo.baggins@hobbiton.example"), nullptr);
  EXPECT_EQ(set->find("bilbo.baggins@hobbiton.example")->kty, KeyType::kRsa);
  EXPECT_EQ(set->find("ed"), nullptr);

  auto none = JwkSet::parse(R"({"keys":[]})");
  ASSERT_FALSE(none.has_value());
  EXPECT_NE(none.error().message().find("no usable"), std::string::npos);
  EXPECT_FALSE(JwkSet::parse(R"({"issuer":"x"})").has_value());
}

// --- Full JWTs with keys generated here ---

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

std::string bn_param(EVP_PKEY* key, const char* name, int pad = 0) {
  BIGNUM* bn = nullptr;
  EXPECT_EQ(EVP_PKEY_get_bn_param(key, name, &bn), 1);
  std::string out(static_cast<std::size_t>(pad > 0 ? pad : BN_num_bytes(bn)), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size()));
  BN_free(bn);
  return out;
}

std::string sign(EVP_PKEY* key, std::string_view alg, std::string_view input) {
  const char* md = alg.ends_with("256") ? "SHA256" : alg.ends_with("384") ? "SHA384" : "SHA512";
  std::string sig = test::digest_sign(key, md, input);
  EXPECT_FALSE(sig.empty());
  if (alg.starts_with("ES")) {  // DER -> JOSE r||s
    const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
    std::string raw(64, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(es), reinterpret_cast<unsigned char*>(raw.data()), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(es), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
    ECDSA_SIG_free(es);
    return raw;
  }
  return sig;
}

constexpr std::string_view kIssuer = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Test";

class JwtTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_ = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(2048));
    ec_ = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    other_rsa_ = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(2048));
  }
  static void TearDownTestSuite() {
    EVP_PKEY_free(rsa_);
    EVP_PKEY_free(ec_);
    EVP_PKEY_free(other_rsa_);
  }

  void SetUp() override {
    ASSERT_NE(rsa_, nullptr);
    ASSERT_NE(ec_, nullptr);
    rsa_jwk_ = {{"kty", "RSA"},
                {"kid", "rsa1"},
                {"use", "sig"},
                {"alg", "RS256"},
                {"n", b64(bn_param(rsa_, OSSL_PKEY_PARAM_RSA_N))},
                {"e", b64(bn_param(rsa_, OSSL_PKEY_PARAM_RSA_E))}};
    bj::object ec_jwk = {{"kty", "EC"},
                         {"kid", "ec1"},
                         {"crv", "P-256"},
                         {"x", b64(bn_param(ec_, OSSL_PKEY_PARAM_EC_PUB_X, 32))},
                         {"y", b64(bn_param(ec_, OSSL_PKEY_PARAM_EC_PUB_Y, 32))}};
    auto set = JwkSet::from_json(bj::object{{"keys", bj::array{rsa_jwk_, ec_jwk}}});
    ASSERT_TRUE(set.has_value()) << set.error().to_string();
    keys_ = std::move(*set);
    ASSERT_EQ(keys_.size(), 2u);

    rules_.issuer = kIssuer;
    rules_.client_ids = {"client-a", "client-b"};
    now_ = system_clock::time_point(seconds(1'750'000'000));
  }

  std::int64_t now_s() const {
    return std::chrono::duration_cast<seconds>(now_.time_since_epoch()).count();
  }

  // A Cognito-shaped access token's claims.
  bj::object access_claims() const {
    return {{"sub", "aaaa-bbbb"},
            {"iss", kIssuer},
            {"client_id", "client-a"},
            {"token_use", "access"},
            {"scope", "mcp/tools openid"},
            {"auth_time", now_s() - 10},
            {"iat", now_s() - 10},
            {"exp", now_s() + 3600},
            {"jti", "j-1"},
            {"username", "alice"}};
  }

  static std::string token(const bj::object& header, const bj::object& claims, EVP_PKEY* key) {
    std::string input = b64(bj::serialize(header)) + "." + b64(bj::serialize(claims));
    std::string alg(header.at("alg").as_string().c_str());
    return input + "." + b64(sign(key, alg, input));
  }
  std::string rs256(const bj::object& claims, std::string_view kid = "rsa1") const {
    return token({{"alg", "RS256"}, {"kid", kid}, {"typ", "JWT"}}, claims, rsa_);
  }

  std::expected<VerifiedToken, JwtError> verify(std::string_view t) const {
    return verify_jwt(t, rules_, keys_, now_);
  }
  void expect_failure(std::string_view t, JwtFailure want) const {
    auto r = verify(t);
    ASSERT_FALSE(r.has_value()) << "expected " << to_string(want);
    EXPECT_EQ(r.error().failure, want)
        << "got " << to_string(r.error().failure) << ": " << r.error().message;
    // The error never carries the token.
    if (t.size() > 20) {
      EXPECT_EQ(r.error().message.find(t.substr(0, 20)), std::string::npos);
    }
    EXPECT_EQ(r.error().http_status(), want == JwtFailure::kInsufficientScope ? 403 : 401);
  }

  static inline EVP_PKEY* rsa_ = nullptr;
  static inline EVP_PKEY* ec_ = nullptr;
  static inline EVP_PKEY* other_rsa_ = nullptr;
  bj::object rsa_jwk_;
  JwkSet keys_;
  JwtRules rules_;
  system_clock::time_point now_;
};

TEST_F(JwtTest, ValidCognitoAccessTokenPasses) {
  rules_.required_scopes = {"mcp/tools"};
  auto r = verify(rs256(access_claims()));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->subject, "aaaa-bbbb");
  EXPECT_EQ(r->scopes, (std::vector<std::string>{"mcp/tools", "openid"}));
  EXPECT_EQ(r->expires, now_ + seconds(3600));
  EXPECT_EQ(r->claims.at("username").as_string(), "alice");
}

TEST_F(JwtTest, Es256TokenPasses) {
  rules_.algorithms = {"RS256", "ES256"};
  auto t = token({{"alg", "ES256"}, {"kid", "ec1"}}, access_claims(), ec_);
  auto r = verify(t);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  // ES256 is off by default.
  rules_.algorithms = {"RS256"};
  expect_failure(t, JwtFailure::kUnsupportedAlgorithm);
}

TEST_F(JwtTest, ExpiryHonoursSkew) {
  auto claims = access_claims();
  claims["exp"] = now_s() - 30;  // expired 30 s ago: within the 60 s skew
  EXPECT_TRUE(verify(rs256(claims)).has_value());
  claims["exp"] = now_s() - 61;
  expect_failure(rs256(claims), JwtFailure::kExpired);
  claims["exp"] = now_s() - 60;  // exactly at the edge: now >= exp + skew
  expect_failure(rs256(claims), JwtFailure::kExpired);
  rules_.skew = seconds(0);
  claims["exp"] = now_s();
  expect_failure(rs256(claims), JwtFailure::kExpired);
}

TEST_F(JwtTest, NotBeforeAndIssuedAtInTheFuture) {
  auto claims = access_claims();
  claims["nbf"] = now_s() + 120;
  expect_failure(rs256(claims), JwtFailure::kNotYetValid);
  claims["nbf"] = now_s() + 30;  // within skew
  EXPECT_TRUE(verify(rs256(claims)).has_value());
  claims.erase("nbf");
  claims["iat"] = now_s() + 600;
  expect_failure(rs256(claims), JwtFailure::kNotYetValid);
}

TEST_F(JwtTest, WrongIssuer) {
  auto claims = access_claims();
  claims["iss"] = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other";
  expect_failure(rs256(claims), JwtFailure::kWrongIssuer);
  claims["iss"] = std::string(kIssuer) + "/";  // exact match only
  expect_failure(rs256(claims), JwtFailure::kWrongIssuer);
  claims.erase("iss");
  expect_failure(rs256(claims), JwtFailure::kMissingClaim);
}

TEST_F(JwtTest, IdTokenIsNotAnAccessToken) {
  auto claims = access_claims();
  claims["token_use"] = "id";
  claims["aud"] = "client-a";
  expect_failure(rs256(claims), JwtFailure::kWrongTokenUse);
  claims.erase("token_use");
  expect_failure(rs256(claims), JwtFailure::kWrongTokenUse);
}

TEST_F(JwtTest, ClientIdNotAllowed) {
  auto claims = access_claims();
  claims["client_id"] = "client-z";
  expect_failure(rs256(claims), JwtFailure::kWrongAudience);
  claims.erase("client_id");
  expect_failure(rs256(claims), JwtFailure::kMissingClaim);
  rules_.client_ids.clear();  // an empty allow-list admits nobody
  expect_failure(rs256(access_claims()), JwtFailure::kWrongAudience);
}

TEST_F(JwtTest, UnknownAndMissingKid) {
  expect_failure(rs256(access_claims(), "rotated-away"), JwtFailure::kUnknownKey);
  expect_failure(token({{"alg", "RS256"}}, access_claims(), rsa_), JwtFailure::kUnknownKey);
}

TEST_F(JwtTest, SignatureFromAnotherKey) {
  expect_failure(token({{"alg", "RS256"}, {"kid", "rsa1"}}, access_claims(), other_rsa_),
                 JwtFailure::kBadSignature);
}

TEST_F(JwtTest, AlgNoneIsRejected) {
  std::string input =
      b64(R"({"alg":"none","kid":"rsa1"})") + "." + b64(bj::serialize(access_claims()));
  expect_failure(input + ".", JwtFailure::kUnsupportedAlgorithm);
  rules_.algorithms = {"none", "RS256"};  // even when misconfigured
  expect_failure(input + ".", JwtFailure::kUnsupportedAlgorithm);
  std::string upper =
      b64(R"({"alg":"NONE","kid":"rsa1"})") + "." + b64(bj::serialize(access_claims())) + ".";
  expect_failure(upper, JwtFailure::kUnsupportedAlgorithm);
}

TEST_F(JwtTest, HmacWithThePublicKeyAsSecretIsRejected) {
  // The classic confusion attack: HS256 keyed with the RSA public key the server publishes.
  std::string input =
      b64(R"({"alg":"HS256","kid":"rsa1"})") + "." + b64(bj::serialize(access_claims()));
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, rsa_);
  char* pem = nullptr;
  long pem_len = BIO_get_mem_data(bio, &pem);
  std::string pem_key(pem, static_cast<std::size_t>(pem_len));
  BIO_free(bio);
  for (const std::string& secret :
       {pem_key, bj::serialize(rsa_jwk_), *base64_decode(rsa_jwk_.at("n").as_string().c_str())}) {
    std::string t = input + "." + b64(crypto::hmac_sha256(secret, input));
    rules_.algorithms = {"RS256"};
    expect_failure(t, JwtFailure::kUnsupportedAlgorithm);
    rules_.algorithms = {"RS256", "HS256"};  // listed by mistake: still refused
    expect_failure(t, JwtFailure::kUnsupportedAlgorithm);
  }
}

TEST_F(JwtTest, AlgorithmMustFitTheKey) {
  rules_.algorithms = {"RS256", "ES256", "RS384"};
  // RS256 header naming the EC key.
  expect_failure(token({{"alg", "RS256"}, {"kid", "ec1"}}, access_claims(), rsa_),
                 JwtFailure::kUnknownKey);
  // ES256 header naming the RSA key.
  expect_failure(token({{"alg", "ES256"}, {"kid", "rsa1"}}, access_claims(), ec_),
                 JwtFailure::kUnknownKey);
  // The RSA JWK pins alg RS256; an RS384 token with that kid is refused.
  expect_failure(token({{"alg", "RS384"}, {"kid", "rsa1"}}, access_claims(), rsa_),
                 JwtFailure::kUnknownKey);
}

TEST_F(JwtTest, TamperedPayload) {
  std::string t = rs256(access_claims());
  auto claims = access_claims();
  claims["sub"] = "admin";
  std::size_t d1 = t.find('.');
  std::size_t d2 = t.find('.', d1 + 1);
  std::string forged = t.substr(0, d1 + 1) + b64(bj::serialize(claims)) + t.substr(d2);
  expect_failure(forged, JwtFailure::kBadSignature);
}

TEST_F(JwtTest, MalformedTokens) {
  std::string t = rs256(access_claims());
  std::size_t d1 = t.find('.');
  std::size_t d2 = t.find('.', d1 + 1);
  expect_failure("", JwtFailure::kMalformed);
  expect_failure("abc", JwtFailure::kMalformed);
  expect_failure(t.substr(0, d2), JwtFailure::kMalformed);  // two parts
  expect_failure(t + ".x", JwtFailure::kMalformed);         // four parts
  expect_failure("!!!." + t.substr(d1 + 1), JwtFailure::kMalformed);
  // Standard-alphabet or padded base64 is not base64url.
  std::string sig = t.substr(d2 + 1);
  std::string plus = sig;
  std::replace(plus.begin(), plus.end(), '-', '+');
  std::replace(plus.begin(), plus.end(), '_', '/');
  if (plus != sig) expect_failure(t.substr(0, d2 + 1) + plus, JwtFailure::kMalformed);
  std::string padded_header = b64(R"({"alg":"RS256","kid":"rsa1"})") + "=";
  expect_failure(padded_header + t.substr(d1), JwtFailure::kMalformed);
  // A header that is JSON but not an object.
  expect_failure(b64("[1]") + t.substr(d1), JwtFailure::kMalformed);
  // crit extensions are not understood.
  expect_failure(
      token({{"alg", "RS256"}, {"kid", "rsa1"}, {"crit", bj::array{"b64"}}}, access_claims(), rsa_),
      JwtFailure::kMalformed);
  // A truncated signature.
  std::string short_sig = *base64url_decode(sig);
  short_sig.pop_back();
  expect_failure(t.substr(0, d2 + 1) + b64(short_sig), JwtFailure::kBadSignature);
  expect_failure(t.substr(0, d2 + 1), JwtFailure::kBadSignature);  // empty signature
}

TEST_F(JwtTest, TokenOverSizeLimit) {
  auto claims = access_claims();
  claims["pad"] = std::string(20 * 1024, 'x');
  expect_failure(rs256(claims), JwtFailure::kTooLarge);
  rules_.max_token_bytes = 64 * 1024;
  EXPECT_TRUE(verify(rs256(claims)).has_value());
}

TEST_F(JwtTest, MissingOrNonNumericExp) {
  auto claims = access_claims();
  claims.erase("exp");
  expect_failure(rs256(claims), JwtFailure::kMissingClaim);
  claims["exp"] = std::to_string(now_s() + 3600);
  expect_failure(rs256(claims), JwtFailure::kMalformed);
  claims["exp"] = static_cast<double>(now_s() + 3600) + 0.5;  // fractional NumericDate is fine
  EXPECT_TRUE(verify(rs256(claims)).has_value());
  claims["exp"] = 1e300;  // far future, clamped rather than overflowing
  EXPECT_TRUE(verify(rs256(claims)).has_value());
}

TEST_F(JwtTest, MissingSubject) {
  auto claims = access_claims();
  claims.erase("sub");
  expect_failure(rs256(claims), JwtFailure::kMissingClaim);
}

TEST_F(JwtTest, AudienceMode) {
  rules_.mode = JwtRules::Mode::kAudience;
  rules_.audiences = {"https://mcp.example.com"};
  auto claims = access_claims();
  claims.erase("token_use");
  claims.erase("client_id");
  claims["aud"] = "https://mcp.example.com";
  EXPECT_TRUE(verify(rs256(claims)).has_value());
  claims["aud"] = bj::array{"other", "https://mcp.example.com"};
  EXPECT_TRUE(verify(rs256(claims)).has_value());
  claims["aud"] = bj::array{"other"};
  expect_failure(rs256(claims), JwtFailure::kWrongAudience);
  claims["aud"] = "https://mcp.example.com/";
  expect_failure(rs256(claims), JwtFailure::kWrongAudience);
  claims["aud"] = 7;
  expect_failure(rs256(claims), JwtFailure::kMalformed);
  claims.erase("aud");
  expect_failure(rs256(claims), JwtFailure::kMissingClaim);
  // An ID token (token_use=id with a matching aud) is still not an access token.
  claims["aud"] = "https://mcp.example.com";
  claims["token_use"] = "id";
  expect_failure(rs256(claims), JwtFailure::kWrongTokenUse);
  // Cognito access tokens have no aud: audience mode refuses them.
  expect_failure(rs256(access_claims()), JwtFailure::kMissingClaim);
}

TEST_F(JwtTest, ScpArrayCountsAsScopes) {
  rules_.required_scopes = {"read"};
  auto claims = access_claims();
  claims.erase("scope");
  claims["scp"] = bj::array{"read", "write"};
  auto r = verify(rs256(claims));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->scopes, (std::vector<std::string>{"read", "write"}));
}

TEST_F(JwtTest, InsufficientScopeMapsTo403) {
  rules_.required_scopes = {"mcp/tools", "mcp/admin"};
  auto r = verify(rs256(access_claims()));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().failure, JwtFailure::kInsufficientScope);
  EXPECT_EQ(r.error().http_status(), 403);
  EXPECT_STREQ(r.error().oauth_error(), "insufficient_scope");
  EXPECT_NE(r.error().message.find("mcp/admin"), std::string::npos);
  EXPECT_EQ(r.error().message.find("mcp/tools"), std::string::npos);
  EXPECT_EQ(r.error().to_error().code(), ErrorCode::kPermissionDenied);
}

TEST(JwtFailureMapping, EveryFailureHasAStatusAndName) {
  for (int i = 0; i <= static_cast<int>(JwtFailure::kInsufficientScope); ++i) {
    auto f = static_cast<JwtFailure>(i);
    EXPECT_STRNE(to_string(f), "unknown");
    if (f == JwtFailure::kInsufficientScope) {
      EXPECT_EQ(http_status(f), 403);
    } else {
      EXPECT_EQ(http_status(f), 401) << to_string(f);
      EXPECT_STREQ(oauth_error(f), "invalid_token");
      EXPECT_EQ((JwtError{f, "x"}.to_error().code()), ErrorCode::kUnauthenticated);
    }
  }
}

TEST(WwwAuthenticate, InvalidTokenChallenge) {
  JwtError e{JwtFailure::kExpired, "token has expired"};
  EXPECT_EQ(www_authenticate(e, "https://mcp.example.com/.well-known/oauth-protected-resource"),
            "Bearer error=\"invalid_token\", error_description=\"token has expired\", "
            "resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource\"");
  EXPECT_EQ(www_authenticate(e, ""),
            "Bearer error=\"invalid_token\", error_description=\"token has expired\"");
}

TEST(WwwAuthenticate, InsufficientScopeChallenge) {
  JwtError e{JwtFailure::kInsufficientScope, "token lacks the required scope: mcp/admin"};
  EXPECT_EQ(www_authenticate(e, "https://r/.well-known/oauth-protected-resource", "mcp/admin"),
            "Bearer error=\"insufficient_scope\", scope=\"mcp/admin\", "
            "error_description=\"token lacks the required scope: mcp/admin\", "
            "resource_metadata=\"https://r/.well-known/oauth-protected-resource\"");
}

TEST(WwwAuthenticate, EscapesQuotesAndDropsControlCharacters) {
  JwtError e{JwtFailure::kMalformed, "a \"quoted\" \\ value\r\nSet-Cookie: x=1"};
  EXPECT_EQ(www_authenticate(e, "https://r/\"x\""),
            "Bearer error=\"invalid_token\", error_description=\"a \\\"quoted\\\" \\\\ "
            "valueSet-Cookie: x=1\", resource_metadata=\"https://r/\\\"x\\\"\"");
  EXPECT_EQ(www_authenticate_missing_token("https://r/m"),
            "Bearer resource_metadata=\"https://r/m\"");
  EXPECT_EQ(www_authenticate_missing_token(""), "Bearer");
}

}  // namespace
}  // namespace idp::auth
