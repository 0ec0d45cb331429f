// Serves the web UI's static files (ui/README.md, "What the service does for it") from one
// folder: `/` is index.html, Content-Type by extension, the Content-Security-Policy and the
// other security headers on every file, long caching for content-hashed chunks/* and
// revalidation for the rest. Only plain names ([A-Za-z0-9._-] segments, no dot files, no "..")
// inside the folder are served; anything else is 404. Files are read per request, so a rebuilt
// bundle shows on reload. Thread-safe.
#pragma once

#include <string>

#include "idp/http/server.h"

namespace idp::service {

// The policy the UI is written for (no inline script or style, nothing from elsewhere).
inline constexpr const char* kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

// Registers GET / (and everything under it no other route takes). A missing folder answers 503
// naming it.
void serve_static_files(http::Server& server, std::string folder);

}  // namespace idp::service
