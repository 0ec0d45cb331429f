// Fuzz target: JWT/JWK/JWKS parsing and verification (idp::auth), what every protected MCP
// server runs on tokens from the network and key sets from an identity provider. The first
// byte's low two bits pick the mode:
//   0: the rest is a JWKS document (JwkSet::parse); 1: a single JWK (parse_jwk);
//   2: the rest is a token, verified against a key made at start: it must never verify (a
//      success would be a forgery);
//   3: two lines, a JOSE header and a claims set (any bytes), signed RS256 with that key and
//      verified: a token that passes must satisfy every rule (issuer, expiry, not-before,
//      token use, client id, scope), and one whose header names RS256 and our kid must never
//      fail on its signature or key.
// Bits 2-3 choose the rules (audience mode, a required scope). The failure's challenge
// (WWW-Authenticate) must never hold a CR or LF.
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <boost/json/parse.hpp>

#include <chrono>
#include <memory>
#include <string>

#include "fuzz_target.h"
#include "idp/auth/jwt.h"
#include "idp/core/json_util.h"
#include "idp/core/random.h"
#include "../../tests/lib/digest_sign.h"

namespace {

using Clock = std::chrono::system_clock;
constexpr std::int64_t kNow = 1'750'000'000;
constexpr const char* kIssuer = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_fuzz";

struct Keys {
  std::shared_ptr<EVP_PKEY> key;
  idp::auth::JwkSet set;
};

std::string bn_param(EVP_PKEY* key, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) return {};
  std::string bytes(static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(bytes.data()));
  BN_free(bn);
  return idp::base64url_encode(bytes);
}

const Keys& keys() {
  static const Keys* k = [] {
    auto* out = new Keys;
    out->key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(2048)),
                   EVP_PKEY_free);
    IDP_FUZZ_CHECK(out->key != nullptr);
    std::string jwks = R"({"keys":[{"kty":"RSA","kid":"fuzz","alg":"RS256","use":"sig","n":")" +
                       bn_param(out->key.get(), OSSL_PKEY_PARAM_RSA_N) + R"(","e":")" +
                       bn_param(out->key.get(), OSSL_PKEY_PARAM_RSA_E) + R"("}]})";
    auto set = idp::auth::JwkSet::parse(jwks);
    IDP_FUZZ_CHECK(set.has_value());
    out->set = std::move(*set);
    return out;
  }();
  return *k;
}

idp::auth::JwtRules rules(unsigned char mode) {
  idp::auth::JwtRules r;
  r.issuer = kIssuer;
  r.client_ids = {"fuzz-client"};
  if (mode & 4) {
    r.mode = idp::auth::JwtRules::Mode::kAudience;
    r.audiences = {"https://mcp.example/mcp"};
  }
  if (mode & 8) r.required_scopes = {"mcp/read"};
  return r;
}

void check_challenge(const idp::auth::JwtError& e) {
  std::string c = idp::auth::www_authenticate(e, "https://mcp.example/.well-known/x", "mcp/read");
  IDP_FUZZ_CHECK(c.find_first_of("\r\n") == std::string::npos);
}

// The claims of a verified token satisfy the rules (checked here independently).
void check_verified(const idp::auth::VerifiedToken& t, const idp::auth::JwtRules& r) {
  const auto& c = t.claims;
  auto* iss = idp::json::find_string(c, "iss");
  IDP_FUZZ_CHECK(iss && *iss == kIssuer);
  auto exp = idp::json::find_number(c, "exp");
  IDP_FUZZ_CHECK(exp && *exp + 60 >= kNow);
  if (auto nbf = idp::json::find_number(c, "nbf")) IDP_FUZZ_CHECK(*nbf - 60 <= kNow);
  if (r.mode == idp::auth::JwtRules::Mode::kCognitoAccess) {
    auto* use = idp::json::find_string(c, "token_use");
    IDP_FUZZ_CHECK(use && *use == "access");
    auto* client = idp::json::find_string(c, "client_id");
    IDP_FUZZ_CHECK(client && *client == "fuzz-client");
  }
  for (const auto& s : r.required_scopes) {
    bool granted = false;
    for (const auto& g : t.scopes) granted = granted || g == s;
    IDP_FUZZ_CHECK(granted);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto [mode, rest] = idp::fuzz::take_mode(idp::fuzz::as_text(data, size));
  const auto now = Clock::time_point(std::chrono::seconds(kNow));
  const auto r = rules(mode);
  switch (mode & 3) {
    case 0: {
      auto set = idp::auth::JwkSet::parse(rest);
      if (set) {
        IDP_FUZZ_CHECK(!set->empty());
        for (const auto& k : set->keys()) {
          IDP_FUZZ_CHECK(k.key != nullptr);
          if (!k.kid.empty()) IDP_FUZZ_CHECK(set->find(k.kid) != nullptr);
        }
      }
      break;
    }
    case 1: {
      auto key = idp::auth::parse_jwk(rest);
      if (key) {
        auto v = idp::auth::verify_jws_signature("RS256", *key, "a.b", "signature");
        IDP_FUZZ_CHECK(!v.has_value());
      }
      break;
    }
    case 2: {
      auto v = idp::auth::verify_jwt(rest, r, keys().set, now);
      IDP_FUZZ_CHECK(!v.has_value());
      check_challenge(v.error());
      (void)idp::auth::unverified_claims(rest);
      break;
    }
    default: {
      auto f = idp::fuzz::split_fields(rest, 2);
      std::string input = idp::base64url_encode(f[0]) + "." + idp::base64url_encode(f[1]);
      std::string token =
          input + "." + idp::base64url_encode(idp::test::digest_sign(keys().key.get(), "SHA256", input));
      auto v = idp::auth::verify_jwt(token, r, keys().set, now);
      if (v) {
        check_verified(*v, r);
        break;
      }
      check_challenge(v.error());
      boost::system::error_code ec;
      auto header = boost::json::parse(f[0], ec);
      const bool ours = !ec && header.is_object() && header.as_object().size() == 2 &&
                        idp::json::find_string(header.as_object(), "alg") &&
                        *idp::json::find_string(header.as_object(), "alg") == "RS256" &&
                        idp::json::find_string(header.as_object(), "kid") &&
                        *idp::json::find_string(header.as_object(), "kid") == "fuzz";
      if (ours && f[0].size() + f[1].size() < 4096) {
        using F = idp::auth::JwtFailure;
        IDP_FUZZ_CHECK(v.error().failure != F::kBadSignature);
        IDP_FUZZ_CHECK(v.error().failure != F::kUnknownKey);
        IDP_FUZZ_CHECK(v.error().failure != F::kUnsupportedAlgorithm);
      }
      break;
    }
  }
  return 0;
}
