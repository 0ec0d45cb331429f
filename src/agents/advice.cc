#include "idp/agents/advice.h"

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <string_view>

namespace idp::agents::advice {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::ranges::transform(out, out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

bool mentions(const std::string& text, std::initializer_list<std::string_view> words) {
  return std::ranges::any_of(words,
                             [&](std::string_view w) { return text.find(w) != std::string::npos; });
}

}  // namespace

std::string fix_for(const AgentInfo& agent) {
  const std::string entry = "secret entry " + std::to_string(agent.entry_index + 1);
  switch (agent.status) {
    case AgentStatus::kReady:
      return {};
    case AgentStatus::kDisabled:
      return "Remove \"enabled\": false from " + entry +
             " (or set it to true); the service "
             "picks the change up at its next refresh";
    case AgentStatus::kUnavailable:
      break;
  }
  const std::string r = lower(agent.reason);
  if (mentions(r, {"certificate", "tls", "ssl", "x509"})) return kTls;
  if (mentions(r, {"cognito", "password", "sign-in", "sign in", "user pool", "oauth",
                   "token endpoint"})) {
    return kCognito;
  }
  // The transport's failures first: they name the MCP step they happened in too.
  if (mentions(r, {"refused", "connect to", "timed out", "timeout", "resolve", "unreachable",
                   "reset", "not checked yet"})) {
    return kNetwork;
  }
  if (mentions(r, {"401", "403", "initialize", "server/discover", "protocol", "json-rpc"})) {
    return kInitialize;
  }
  if (mentions(r, {"tools/list", "no tools"})) return kTools;
  return "Run `idp-agents doctor` with the same --secret on the service host: it checks " + entry +
         " step by step (URL, DNS, TCP, TLS, sign-in, initialize, tools/list) and names the fix";
}

std::string fix_for(const Finding& finding) {
  if (finding.index == Finding::kWholeSecret) {
    return "The secret must be a JSON array with one object per MCP server; check the --secret "
           "source and its value (`idp-agents secret check` shows every problem)";
  }
  const std::string entry = "secret entry " + std::to_string(finding.index + 1);
  const std::string& f = finding.field;
  if (finding.severity == Severity::kWarning && f.empty()) return {};
  if (f == "mcp_url") {
    return "Set mcp_url in " + entry +
           " to the server's https:// URL (plain http:// only for "
           "localhost, 127.0.0.1 or ::1)";
  }
  if (f.starts_with("cognito_")) {
    return "Set " + f + " in " + entry +
           " to the Cognito value of that MCP server's user pool "
           "(`idp-agents token` signs in with the same values)";
  }
  if (f.starts_with("auth")) {
    return "Fix " + f + " in " + entry +
           ": auth is {\"type\": \"oauth2_client_credentials\", "
           "token_url, client_id, client_secret, scope}, {\"type\": \"bearer\", token} or "
           "{\"type\": \"none\"} (loopback only)";
  }
  if (f.empty())
    return "Correct " + entry + " as the message says; the service re-reads the secret";
  return "Correct " + f + " in " + entry + " as the message says; the service re-reads the secret";
}

}  // namespace idp::agents::advice
