// A local certificate authority for HTTPS on one machine: ensure_local_ca() writes, into a
// folder, a CA certificate and key and a server certificate and key for the loopback names
// (localhost, 127.0.0.1, ::1 by default), with OpenSSL 3 (ECDSA P-256, SHA-256). Servers use
// server.pem/server-key.pem (idp::http::ServerOptions tls_cert_file/tls_key_file); clients trust
// ca.pem (ClientOptions::ca_file, the secret's "ca_file", NODE_EXTRA_CA_CERTS for Node peers).
// A valid CA already in the folder is kept and a server certificate is reissued only when it
// does not cover the names, does not chain to the CA or expires within a day, so clients that
// trust the CA keep working across runs. Keys are written with mode 0600, files atomically.
// For development, demos and tests only: the CA key sits next to its certificate.
// Thread-safe as far as the file system is (do not run two at once on one folder).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "idp/core/error.h"

namespace idp::http {

struct LocalCaOptions {
  std::vector<std::string> dns_names = {"localhost"};
  std::vector<std::string> ip_addresses = {"127.0.0.1", "::1"};
  std::string ca_name = "idp-agents local CA";
  std::chrono::hours ca_validity{24 * 365};
  std::chrono::hours server_validity{24 * 90};
};

struct LocalCaFiles {
  std::string ca_cert;         // <dir>/ca.pem
  std::string ca_key;          // <dir>/ca-key.pem (0600)
  std::string server_cert;     // <dir>/server.pem
  std::string server_key;      // <dir>/server-key.pem (0600)
  bool created_ca = false;     // a new CA was made (clients must trust the new ca.pem)
  bool issued_server = false;  // a new server certificate was issued
};

// Creates `dir` (0700) when needed. Errors name the file and the OpenSSL reason.
Result<LocalCaFiles> ensure_local_ca(const std::string& dir, const LocalCaOptions& options = {});

}  // namespace idp::http
