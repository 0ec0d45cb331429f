#!/usr/bin/env bash
# Interop: our MCP client's authorization (idp::auth::McpOAuthProvider in
# build/bin/mcp-conformance-client) against every auth/* client scenario of the official
# conformance suite 0.1.16, one at a time, through run-client-conformance.sh: protected-resource
# and authorization-server discovery (path-aware, OpenID, 2025-03-26 fallbacks), dynamic
# registration, client ID metadata documents and pre-registered clients, authorization code with
# PKCE, client credentials (client_secret_basic, private_key_jwt), token endpoint auth methods,
# scope selection and step-up with a retry limit, the resource parameter and its mismatch,
# offline_access, and enterprise-managed authorization (cross-app access). Each must pass all its
# checks.
set -euo pipefail
IDP_CONFORMANCE_SCENARIOS="auth/metadata-default auth/metadata-var1 auth/metadata-var2 auth/metadata-var3
  auth/basic-cimd auth/scope-from-www-authenticate auth/scope-from-scopes-supported
  auth/scope-omitted-when-undefined auth/scope-step-up auth/scope-retry-limit
  auth/token-endpoint-auth-basic auth/token-endpoint-auth-post auth/token-endpoint-auth-none
  auth/pre-registration auth/2025-03-26-oauth-metadata-backcompat
  auth/2025-03-26-oauth-endpoint-fallback auth/client-credentials-jwt auth/client-credentials-basic
  auth/cross-app-access-complete-flow auth/resource-mismatch auth/offline-access-scope
  auth/offline-access-not-supported"
export IDP_CONFORMANCE_SCENARIOS="${IDP_CONFORMANCE_SCENARIOS//$'\n'/ }"
IDP_CONFORMANCE_SCENARIO_LIMIT=${IDP_CONFORMANCE_SCENARIO_LIMIT:-12} # 22 x 12 s < 300 s
export IDP_CONFORMANCE_SCENARIO_LIMIT
exec bash "$(dirname "${BASH_SOURCE[0]}")/run-client-conformance.sh"
