// Private to idp::auth: signs a JWT (compact JWS) with a private key given as PEM, for
// private_key_jwt client authentication (RFC 7523 §2.2). RS256 (an RSA key) and ES256 (a P-256
// key). The key never appears in an error. Thread-safe.
#pragma once

#include <boost/json/object.hpp>

#include <string>
#include <string_view>

#include "idp/core/error.h"
#include "idp/core/secret.h"

namespace idp::auth::detail {

// header.payload.signature with {"alg": alg, "typ": "JWT"}.
Result<std::string> sign_jwt_pem(const Secret& pem, std::string_view alg,
                                 const boost::json::object& claims);

}  // namespace idp::auth::detail
