#include "idp/http/local_ca.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "idp/core/files.h"

namespace idp::http {

namespace {

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(X509_STORE* p) const { X509_STORE_free(p); }
  void operator()(X509_STORE_CTX* p) const { X509_STORE_CTX_free(p); }
  void operator()(BIGNUM* p) const { BN_free(p); }
};
using Key = std::unique_ptr<EVP_PKEY, Free>;
using Cert = std::unique_ptr<X509, Free>;

std::string openssl_reason() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

std::unexpected<Error> fail(std::string what) {
  return make_error(ErrorCode::kInternal, std::move(what) + ": " + openssl_reason());
}

template <class F>
Result<std::string> to_pem(F write) {
  std::unique_ptr<BIO, Free> bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get()) != 1) return fail("PEM encoding failed");
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

Cert read_cert(const std::string& path) {
  std::unique_ptr<BIO, Free> bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) {
    ERR_clear_error();
    return nullptr;
  }
  Cert c(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  return c;
}

Key read_key(const std::string& path) {
  std::unique_ptr<BIO, Free> bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) {
    ERR_clear_error();
    return nullptr;
  }
  Key k(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  return k;
}

// Valid for at least another day.
bool fresh(X509* cert) {
  time_t tomorrow = time(nullptr) + 24 * 3600;
  return X509_cmp_time(X509_get0_notAfter(cert), &tomorrow) > 0;
}

bool add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (!ext) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

Result<Cert> make_cert(EVP_PKEY* subject_key, const std::string& cn, X509* issuer,
                       std::chrono::hours validity) {
  Cert cert(X509_new());
  std::unique_ptr<BIGNUM, Free> serial(BN_new());
  if (!cert || !serial || BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) ||
      X509_set_version(cert.get(), 2) != 1) {
    return fail("cannot create a certificate");
  }
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);  // clocks a little behind
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(validity.count()) * 3600);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  if (X509_set_pubkey(cert.get(), subject_key) != 1) return fail("cannot set the public key");
  return cert;
}

Result<void> sign(X509* cert, EVP_PKEY* key) {
  if (X509_sign(cert, key, EVP_sha256()) <= 0) return fail("cannot sign the certificate");
  return {};
}

// Signs `cert` with `signer`, then writes `key` (0600) and the certificate (0644) as PEM.
Result<void> sign_and_write(X509* cert, EVP_PKEY* signer, EVP_PKEY* key,
                            const std::string& key_path, const std::string& cert_path) {
  if (auto s = sign(cert, signer); !s) return s;
  auto key_pem = to_pem([&](BIO* b) {
    return PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr);
  });
  if (!key_pem) return std::unexpected(key_pem.error());
  auto cert_pem = to_pem([&](BIO* b) { return PEM_write_bio_X509(b, cert); });
  if (!cert_pem) return std::unexpected(cert_pem.error());
  if (auto w = write_file_atomic(key_path, *key_pem, 0600); !w) return w;
  return write_file_atomic(cert_path, *cert_pem, 0644);
}

bool chains_to(X509* leaf, X509* ca) {
  std::unique_ptr<X509_STORE, Free> store(X509_STORE_new());
  std::unique_ptr<X509_STORE_CTX, Free> ctx(X509_STORE_CTX_new());
  if (!store || !ctx || X509_STORE_add_cert(store.get(), ca) != 1 ||
      X509_STORE_CTX_init(ctx.get(), store.get(), leaf, nullptr) != 1) {
    ERR_clear_error();
    return false;
  }
  bool ok = X509_verify_cert(ctx.get()) == 1;
  ERR_clear_error();
  return ok;
}

bool covers(X509* cert, const LocalCaOptions& o) {
  for (const auto& dns : o.dns_names) {
    if (X509_check_host(cert, dns.c_str(), dns.size(), X509_CHECK_FLAG_NO_WILDCARDS, nullptr) !=
        1) {
      return false;
    }
  }
  for (const auto& ip : o.ip_addresses) {
    if (X509_check_ip_asc(cert, ip.c_str(), 0) != 1) return false;
  }
  return true;
}

}  // namespace

Result<LocalCaFiles> ensure_local_ca(const std::string& dir, const LocalCaOptions& o) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return make_error(ErrorCode::kUnavailable, "cannot create " + dir + ": " + ec.message());
  ::chmod(dir.c_str(), 0700);
  LocalCaFiles f;
  f.ca_cert = dir + "/ca.pem";
  f.ca_key = dir + "/ca-key.pem";
  f.server_cert = dir + "/server.pem";
  f.server_key = dir + "/server-key.pem";

  Cert ca = read_cert(f.ca_cert);
  Key ca_key = read_key(f.ca_key);
  if (!ca || !ca_key || !fresh(ca.get()) || X509_check_private_key(ca.get(), ca_key.get()) != 1 ||
      X509_check_ca(ca.get()) == 0) {
    ERR_clear_error();
    ca_key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    if (!ca_key) return fail("cannot generate the CA key");
    auto made = make_cert(ca_key.get(), o.ca_name, nullptr, o.ca_validity);
    if (!made) return std::unexpected(made.error());
    ca = std::move(*made);
    X509* c = ca.get();
    if (!add_ext(c, c, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
        !add_ext(c, c, NID_key_usage, "critical,keyCertSign,cRLSign") ||
        !add_ext(c, c, NID_subject_key_identifier, "hash") ||
        !add_ext(c, c, NID_authority_key_identifier, "keyid:always")) {
      return fail("cannot add the CA extensions");
    }
    if (auto w = sign_and_write(c, ca_key.get(), ca_key.get(), f.ca_key, f.ca_cert); !w) {
      return std::unexpected(w.error());
    }
    f.created_ca = true;
  }

  Cert leaf = f.created_ca ? nullptr : read_cert(f.server_cert);
  Key leaf_key = f.created_ca ? nullptr : read_key(f.server_key);
  if (leaf && leaf_key && fresh(leaf.get()) && covers(leaf.get(), o) &&
      X509_check_private_key(leaf.get(), leaf_key.get()) == 1 && chains_to(leaf.get(), ca.get())) {
    return f;
  }
  ERR_clear_error();
  leaf_key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!leaf_key) return fail("cannot generate the server key");
  std::string cn = o.dns_names.empty() ? (o.ip_addresses.empty() ? "localhost" : o.ip_addresses[0])
                                       : o.dns_names[0];
  auto made = make_cert(leaf_key.get(), cn, ca.get(), o.server_validity);
  if (!made) return std::unexpected(made.error());
  leaf = std::move(*made);
  std::string san;
  for (const auto& d : o.dns_names) san += (san.empty() ? "" : ",") + std::string("DNS:") + d;
  for (const auto& ip : o.ip_addresses) san += (san.empty() ? "" : ",") + std::string("IP:") + ip;
  X509* c = leaf.get();
  if (!add_ext(c, ca.get(), NID_basic_constraints, "critical,CA:FALSE") ||
      !add_ext(c, ca.get(), NID_key_usage, "critical,digitalSignature") ||
      !add_ext(c, ca.get(), NID_ext_key_usage, "serverAuth") ||
      !add_ext(c, ca.get(), NID_subject_key_identifier, "hash") ||
      !add_ext(c, ca.get(), NID_authority_key_identifier, "keyid:always") ||
      (!san.empty() && !add_ext(c, ca.get(), NID_subject_alt_name, san.c_str()))) {
    return fail("cannot add the server certificate extensions");
  }
  if (auto w = sign_and_write(c, ca_key.get(), leaf_key.get(), f.server_key, f.server_cert); !w) {
    return std::unexpected(w.error());
  }
  f.issued_server = true;
  return f;
}

}  // namespace idp::http
