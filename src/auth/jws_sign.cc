#include "jws_sign.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>

#include "idp/core/json_util.h"
#include "idp/core/random.h"

namespace idp::auth::detail {

namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct SigFree {
  void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};

// DER ECDSA-Sig-Value -> JOSE r||s, each `width` bytes.
std::optional<std::string> der_to_raw(std::string_view der, int width) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<ECDSA_SIG, SigFree> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) return std::nullopt;
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string raw(static_cast<std::size_t>(2 * width), '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(r, out, width) != width || BN_bn2binpad(s, out + width, width) != width) {
    return std::nullopt;
  }
  return raw;
}

}  // namespace

Result<std::string> sign_jwt_pem(const Secret& pem, std::string_view alg,
                                 const boost::json::object& claims) {
  const bool ec = alg == "ES256";
  if (!ec && alg != "RS256") {
    return make_error(ErrorCode::kInvalidArgument,
                      "private_key_jwt: signing algorithm \"" + std::string(alg) +
                          "\" is not supported (use RS256 or ES256)");
  }
  std::unique_ptr<BIO, BioFree> bio(
      BIO_new_mem_buf(pem.reveal().data(), static_cast<int>(pem.reveal().size())));
  std::unique_ptr<EVP_PKEY, PkeyFree> key(
      bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) {
    return make_error(ErrorCode::kInvalidArgument,
                      "private_key_jwt: the private key is not a PEM private key");
  }
  const int type = EVP_PKEY_get_base_id(key.get());
  if ((ec && type != EVP_PKEY_EC) || (!ec && type != EVP_PKEY_RSA)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "private_key_jwt: " + std::string(alg) + " needs " +
                          (ec ? "an EC P-256" : "an RSA") + " private key");
  }
  boost::json::object header{{"alg", alg}, {"typ", "JWT"}};
  std::string input = base64url_encode(::idp::json::serialize(header)) + "." +
                      base64url_encode(::idp::json::serialize(claims));
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  std::size_t len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(input.data());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, in, input.size()) != 1) {
    return make_error(ErrorCode::kInternal, "private_key_jwt: signing failed");
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in,
                     input.size()) != 1) {
    return make_error(ErrorCode::kInternal, "private_key_jwt: signing failed");
  }
  sig.resize(len);
  if (ec) {
    auto raw = der_to_raw(sig, 32);
    if (!raw) return make_error(ErrorCode::kInternal, "private_key_jwt: bad ECDSA signature");
    sig = std::move(*raw);
  }
  return input + "." + base64url_encode(sig);
}

}  // namespace idp::auth::detail
