#include "idp/auth/jwt.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <boost/json/monotonic_resource.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <memory>

#include "idp/core/json_util.h"
#include "idp/core/random.h"

namespace idp::auth {

namespace bj = boost::json;

const char* to_string(JwtFailure failure) {
  switch (failure) {
    case JwtFailure::kMalformed:
      return "malformed";
    case JwtFailure::kUnsupportedAlgorithm:
      return "unsupported_algorithm";
    case JwtFailure::kUnknownKey:
      return "unknown_key";
    case JwtFailure::kBadSignature:
      return "bad_signature";
    case JwtFailure::kExpired:
      return "expired";
    case JwtFailure::kNotYetValid:
      return "not_yet_valid";
    case JwtFailure::kWrongIssuer:
      return "wrong_issuer";
    case JwtFailure::kWrongAudience:
      return "wrong_audience";
    case JwtFailure::kWrongTokenUse:
      return "wrong_token_use";
    case JwtFailure::kMissingClaim:
      return "missing_claim";
    case JwtFailure::kTooLarge:
      return "too_large";
    case JwtFailure::kInsufficientScope:
      return "insufficient_scope";
  }
  return "unknown";
}

int http_status(JwtFailure failure) {
  return failure == JwtFailure::kInsufficientScope ? 403 : 401;
}

const char* oauth_error(JwtFailure failure) {
  return failure == JwtFailure::kInsufficientScope ? "insufficient_scope" : "invalid_token";
}

Error JwtError::to_error() const {
  if (failure == JwtFailure::kInsufficientScope) {
    return Error(ErrorCode::kPermissionDenied, "bearer token lacks a required scope: " + message);
  }
  return Error(ErrorCode::kUnauthenticated, "bearer token rejected: " + message);
}

namespace {

constexpr std::size_t kMaxUnverifiedBytes = std::size_t{64} * 1024;

std::unexpected<JwtError> fail(JwtFailure failure, std::string message) {
  return std::unexpected<JwtError>(JwtError{failure, std::move(message)});
}

struct EcdsaSigFree {
  void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};

// Digests fetched once: an implicit fetch per verification (as SHA256() or EVP_DigestVerifyInit
// do) is measurable at 60k verifications/s.
const EVP_MD* digest(int bits) {
  static const EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  static const EVP_MD* const sha384 = EVP_MD_fetch(nullptr, "SHA384", nullptr);
  static const EVP_MD* const sha512 = EVP_MD_fetch(nullptr, "SHA512", nullptr);
  switch (bits) {
    case 256:
      return sha256;
    case 384:
      return sha384;
    case 512:
      return sha512;
  }
  return nullptr;
}

struct AlgInfo {
  KeyType kty;
  int sha_bits;
  const char* curve;  // EC only
  std::size_t coord_bytes;
};

std::optional<AlgInfo> lookup_alg(std::string_view alg) {
  if (alg == "RS256") return AlgInfo{KeyType::kRsa, 256, nullptr, 0};
  if (alg == "RS384") return AlgInfo{KeyType::kRsa, 384, nullptr, 0};
  if (alg == "RS512") return AlgInfo{KeyType::kRsa, 512, nullptr, 0};
  if (alg == "ES256") return AlgInfo{KeyType::kEc, 256, "P-256", 32};
  if (alg == "ES384") return AlgInfo{KeyType::kEc, 384, "P-384", 48};
  if (alg == "ES512") return AlgInfo{KeyType::kEc, 512, "P-521", 66};
  return std::nullopt;
}

bool is_hmac_or_none(std::string_view alg) {
  if (alg.size() >= 2 && (alg[0] == 'H' || alg[0] == 'h') && (alg[1] == 'S' || alg[1] == 's')) {
    return true;
  }
  std::string lower(alg);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower == "none";
}

// JOSE ECDSA signatures are r||s, fixed width; OpenSSL wants DER.
std::optional<std::string> ecdsa_raw_to_der(std::string_view raw, std::size_t coord_bytes) {
  if (raw.size() != 2 * coord_bytes) return std::nullopt;
  const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
  BIGNUM* r = BN_bin2bn(p, static_cast<int>(coord_bytes), nullptr);
  BIGNUM* s = BN_bin2bn(p + coord_bytes, static_cast<int>(coord_bytes), nullptr);
  std::unique_ptr<ECDSA_SIG, EcdsaSigFree> sig(ECDSA_SIG_new());
  if (!r || !s || !sig || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return std::nullopt;
  }
  int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) return std::nullopt;
  std::string der(static_cast<std::size_t>(len), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_ECDSA_SIG(sig.get(), &out) != len) return std::nullopt;
  return der;
}

// A NumericDate as whole seconds, clamped to what system_clock can represent.
std::optional<std::int64_t> numeric_date(const bj::value& v) {
  constexpr std::int64_t kMax = 9'000'000'000;  // year 2255; system_clock (ns) ends in 2262
  constexpr std::int64_t kMin = -kMax;
  if (v.is_int64()) return std::clamp(v.get_int64(), kMin, kMax);
  if (v.is_uint64()) return kMax;  // beyond int64: far future
  if (v.is_double()) {
    double d = v.get_double();
    if (!std::isfinite(d)) return std::nullopt;
    if (d >= static_cast<double>(kMax)) return kMax;
    if (d <= static_cast<double>(kMin)) return kMin;
    return static_cast<std::int64_t>(std::floor(d));
  }
  return std::nullopt;
}

std::expected<std::optional<std::int64_t>, JwtError> date_claim(const bj::object& claims,
                                                                std::string_view name) {
  const bj::value* v = claims.if_contains(name);
  if (v == nullptr) return std::optional<std::int64_t>();
  auto date = numeric_date(*v);
  if (!date) {
    return fail(JwtFailure::kMalformed, fmt::format("token claim '{}' is not a number", name));
  }
  return date;
}

bool contains(const std::vector<std::string>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

// Decodes one base64url JSON part of the token into `buf` and parses it with `storage`.
std::expected<bj::object, JwtError> decode_json_part(std::string_view part, const char* what,
                                                     unsigned char* buf, bj::storage_ptr storage) {
  std::optional<std::size_t> len = base64url_decode_into(part, buf);
  if (!len) {
    return fail(JwtFailure::kMalformed, fmt::format("token {} is not valid base64url", what));
  }
  auto v = json::parse(std::string_view(reinterpret_cast<const char*>(buf), *len),
                       json::ParseLimits{.max_depth = 32}, std::move(storage));
  if (!v || !v->is_object()) {
    return fail(JwtFailure::kMalformed, fmt::format("token {} is not a JSON object", what));
  }
  return std::move(v->get_object());
}

// A scratch buffer for the decoded parts of one token: on the stack for tokens of usual size.
class DecodeBuffer {
 public:
  explicit DecodeBuffer(std::size_t size) {
    if (size > sizeof local_) {
      heap_ = std::make_unique_for_overwrite<unsigned char[]>(size);
      data_ = heap_.get();
    }
  }
  unsigned char* data() { return data_; }

 private:
  unsigned char local_[2048];
  std::unique_ptr<unsigned char[]> heap_;
  unsigned char* data_ = local_;
};

}  // namespace

std::expected<void, JwtError> verify_jws_signature(std::string_view alg, const Jwk& key,
                                                   std::string_view signing_input,
                                                   std::string_view signature) {
  if (is_hmac_or_none(alg)) {
    return fail(JwtFailure::kUnsupportedAlgorithm,
                "token algorithm is not allowed (HMAC and 'none' are never accepted)");
  }
  std::optional<AlgInfo> info = lookup_alg(alg);
  if (!info) return fail(JwtFailure::kUnsupportedAlgorithm, "token algorithm is not supported");
  if (!key.key || key.kty != info->kty || (!key.alg.empty() && key.alg != alg) ||
      (info->kty == KeyType::kEc && key.crv != info->curve)) {
    return fail(JwtFailure::kUnknownKey, "the key named by the token does not fit its algorithm");
  }

  std::string der;
  std::string_view sig = signature;
  if (info->kty == KeyType::kEc) {
    auto converted = ecdsa_raw_to_der(signature, info->coord_bytes);
    if (!converted) {
      ERR_clear_error();
      return fail(JwtFailure::kBadSignature, "token signature is invalid");
    }
    der = std::move(*converted);
    sig = der;
  } else if (signature.size() != static_cast<std::size_t>(EVP_PKEY_get_size(key.key.get()))) {
    return fail(JwtFailure::kBadSignature, "token signature is invalid");
  }

  // The digest of the signing input, then the public-key operation over it (what
  // EVP_DigestVerify does, without setting up a digest and a signature context per call).
  unsigned char hash[EVP_MAX_MD_SIZE];
  unsigned int hash_len = 0;
  const EVP_MD* md = digest(info->sha_bits);
  if (md == nullptr ||
      EVP_Digest(signing_input.data(), signing_input.size(), hash, &hash_len, md, nullptr) != 1) {
    ERR_clear_error();
    return fail(JwtFailure::kBadSignature, "token signature could not be checked");
  }

  // A reusable context of this very key when the Jwk has one, else a context for this call.
  detail::VerifyContextPool* pool =
      key.contexts && key.contexts->key() == key.key.get() ? key.contexts.get() : nullptr;
  EVP_PKEY_CTX* ctx = pool != nullptr
                          ? pool->take(info->sha_bits)
                          : detail::VerifyContextPool::make(key.key.get(), info->sha_bits);
  if (ctx == nullptr) {
    ERR_clear_error();
    return fail(JwtFailure::kBadSignature, "token signature could not be checked");
  }
  const int ok = EVP_PKEY_verify(ctx, reinterpret_cast<const unsigned char*>(sig.data()),
                                 sig.size(), hash, hash_len);
  if (ok == 1 && pool != nullptr) {
    pool->give_back(info->sha_bits, ctx);
    return {};
  }
  EVP_PKEY_CTX_free(ctx);
  if (ok != 1) {
    // Leave no stale error behind for the next TLS call of this thread to misread.
    ERR_clear_error();
    return fail(JwtFailure::kBadSignature, "token signature is invalid");
  }
  return {};
}

std::expected<VerifiedToken, JwtError> verify_jwt(std::string_view token, const JwtRules& rules,
                                                  const JwkSet& keys,
                                                  std::chrono::system_clock::time_point now) {
  if (token.size() > rules.max_token_bytes) {
    return fail(JwtFailure::kTooLarge,
                fmt::format("token is larger than {} bytes", rules.max_token_bytes));
  }
  const std::size_t dot1 = token.find('.');
  const std::size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return fail(JwtFailure::kMalformed, "token is not a JWT (expected three dot-separated parts)");
  }
  const std::string_view header_b64 = token.substr(0, dot1);
  const std::string_view payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string_view signature_b64 = token.substr(dot2 + 1);
  const std::string_view signing_input = token.substr(0, dot2);

  // One scratch buffer holds the decoded header, then the signature, then the payload; the
  // header's JSON lives in a stack arena.
  DecodeBuffer buf(std::max({base64url_decoded_size(header_b64.size()),
                             base64url_decoded_size(payload_b64.size()),
                             base64url_decoded_size(signature_b64.size())}));
  unsigned char arena[512];
  bj::monotonic_resource header_memory(arena, sizeof arena);
  auto header = decode_json_part(header_b64, "header", buf.data(), bj::storage_ptr(&header_memory));
  if (!header) return std::unexpected(header.error());

  const bj::string* alg_s = json::find_string(*header, "alg");
  if (alg_s == nullptr) return fail(JwtFailure::kMalformed, "token header has no 'alg'");
  const std::string_view alg(alg_s->data(), alg_s->size());
  if (is_hmac_or_none(alg) || !lookup_alg(alg) || !contains(rules.algorithms, alg)) {
    return fail(
        JwtFailure::kUnsupportedAlgorithm,
        fmt::format("token algorithm is not allowed (accepted: {})", join(rules.algorithms)));
  }
  if (header->contains("crit")) {
    // RFC 7515 §4.1.11: extensions we do not understand must make the token invalid.
    return fail(JwtFailure::kMalformed, "token header has critical extensions ('crit')");
  }
  const bj::value* kid_v = header->if_contains("kid");
  if (kid_v == nullptr) return fail(JwtFailure::kUnknownKey, "token header has no 'kid'");
  if (!kid_v->is_string()) return fail(JwtFailure::kMalformed, "token 'kid' is not a string");
  const Jwk* key =
      keys.find(std::string_view(kid_v->get_string().data(), kid_v->get_string().size()));
  if (key == nullptr) {
    return fail(JwtFailure::kUnknownKey, "token key id is not in the issuer's key set");
  }

  std::optional<std::size_t> signature_len = base64url_decode_into(signature_b64, buf.data());
  if (!signature_len) return fail(JwtFailure::kMalformed, "token signature is not valid base64url");
  const std::string_view signature(reinterpret_cast<const char*>(buf.data()), *signature_len);
  if (auto ok = verify_jws_signature(alg, *key, signing_input, signature); !ok) {
    return std::unexpected(ok.error());
  }

  auto claims = decode_json_part(payload_b64, "payload", buf.data(), {});
  if (!claims) return std::unexpected(claims.error());

  const std::int64_t now_s =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const std::int64_t skew = rules.skew.count();

  auto exp = date_claim(*claims, "exp");
  if (!exp) return std::unexpected(exp.error());
  if (!*exp) return fail(JwtFailure::kMissingClaim, "token has no 'exp' claim");
  if (now_s >= **exp + skew) return fail(JwtFailure::kExpired, "token has expired");

  auto nbf = date_claim(*claims, "nbf");
  if (!nbf) return std::unexpected(nbf.error());
  if (*nbf && now_s + skew < **nbf) {
    return fail(JwtFailure::kNotYetValid, "token is not valid yet ('nbf' is in the future)");
  }
  auto iat = date_claim(*claims, "iat");
  if (!iat) return std::unexpected(iat.error());
  if (*iat && now_s + skew < **iat) {
    return fail(JwtFailure::kNotYetValid, "token is issued in the future ('iat')");
  }

  const bj::value* iss = claims->if_contains("iss");
  if (iss == nullptr) return fail(JwtFailure::kMissingClaim, "token has no 'iss' claim");
  if (rules.issuer.empty() || !iss->is_string() || iss->get_string() != rules.issuer) {
    return fail(JwtFailure::kWrongIssuer, "token issuer is not the expected issuer");
  }

  const bj::string* sub = json::find_string(*claims, "sub");
  if (sub == nullptr) return fail(JwtFailure::kMissingClaim, "token has no 'sub' claim");

  // An ID token is never an access token (RFC 8725 §3.12), whichever mode is configured.
  const bj::value* token_use = claims->if_contains("token_use");
  const bool is_access =
      token_use != nullptr && token_use->is_string() && token_use->get_string() == "access";
  if (rules.mode == JwtRules::Mode::kCognitoAccess) {
    if (!is_access) {
      return fail(JwtFailure::kWrongTokenUse, "token is not an access token (token_use)");
    }
    const bj::value* client_id = claims->if_contains("client_id");
    if (client_id == nullptr) {
      return fail(JwtFailure::kMissingClaim, "token has no 'client_id' claim");
    }
    if (!client_id->is_string() ||
        !contains(rules.client_ids, std::string_view(client_id->get_string().data(),
                                                     client_id->get_string().size()))) {
      return fail(JwtFailure::kWrongAudience, "token was issued to a client that is not allowed");
    }
  } else {
    if (token_use != nullptr && !is_access) {
      return fail(JwtFailure::kWrongTokenUse, "token is not an access token (token_use)");
    }
    const bj::value* aud = claims->if_contains("aud");
    if (aud == nullptr) return fail(JwtFailure::kMissingClaim, "token has no 'aud' claim");
    bool match = false;
    auto check = [&](const bj::value& v) {
      if (v.is_string() && contains(rules.audiences, std::string_view(v.get_string().data(),
                                                                      v.get_string().size()))) {
        match = true;
      }
    };
    if (aud->is_array()) {
      for (const bj::value& v : aud->get_array()) check(v);
    } else if (aud->is_string()) {
      check(*aud);
    } else {
      return fail(JwtFailure::kMalformed, "token claim 'aud' is not a string or an array");
    }
    if (!match) return fail(JwtFailure::kWrongAudience, "token audience is not accepted here");
  }

  std::vector<std::string> scopes = granted_scopes(*claims);
  std::vector<std::string> missing;
  for (const std::string& required : rules.required_scopes) {
    if (!contains(scopes, required)) missing.push_back(required);
  }
  if (!missing.empty()) {
    return fail(JwtFailure::kInsufficientScope,
                fmt::format("token lacks the required scope: {}", join(missing)));
  }

  VerifiedToken out;
  out.subject = sub->c_str();
  out.scopes = std::move(scopes);
  out.expires = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::seconds(**exp)));
  out.claims = std::move(*claims);
  return out;
}

boost::json::object unverified_claims(std::string_view token) {
  const std::size_t dot1 = token.find('.');
  const std::size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.size() > kMaxUnverifiedBytes) return {};
  auto payload = base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!payload) return {};
  auto v = json::parse(*payload, json::ParseLimits{.max_depth = 32});
  if (!v || !v->is_object()) return {};
  return std::move(v->get_object());
}

namespace {

// An RFC 7230 quoted-string of printable ASCII: control characters (header injection) and
// non-ASCII bytes are dropped, '"' and '\' escaped.
std::string quoted(std::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7E) continue;
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace

std::vector<std::string> granted_scopes(const bj::object& claims) {
  std::vector<std::string> out;
  auto add_words = [&](std::string_view text) {
    std::size_t pos = 0;
    while (pos < text.size()) {
      std::size_t end = text.find(' ', pos);
      if (end == std::string_view::npos) end = text.size();
      if (end > pos) out.emplace_back(text.substr(pos, end - pos));
      pos = end + 1;
    }
  };
  if (const bj::string* scope = json::find_string(claims, "scope")) {
    add_words(std::string_view(scope->data(), scope->size()));
  } else if (const bj::value* scp = claims.if_contains("scp")) {
    // Okta and Entra ID put scopes in `scp`, as an array or a space-separated string.
    if (scp->is_string()) {
      add_words(std::string_view(scp->get_string().data(), scp->get_string().size()));
    } else if (scp->is_array()) {
      for (const bj::value& s : scp->get_array()) {
        if (s.is_string()) out.emplace_back(s.get_string().c_str());
      }
    }
  }
  return out;
}

std::string www_authenticate(const JwtError& error, std::string_view resource_metadata_url,
                             std::string_view required_scope) {
  std::string out = "Bearer error=";
  out += quoted(error.oauth_error());
  if (error.failure == JwtFailure::kInsufficientScope && !required_scope.empty()) {
    out += ", scope=" + quoted(required_scope);
  }
  out += ", error_description=" + quoted(error.message);
  if (!resource_metadata_url.empty()) {
    out += ", resource_metadata=" + quoted(resource_metadata_url);
  }
  return out;
}

std::string www_authenticate_missing_token(std::string_view resource_metadata_url) {
  if (resource_metadata_url.empty()) return "Bearer";
  return "Bearer resource_metadata=" + quoted(resource_metadata_url);
}

}  // namespace idp::auth
