// The advice the agents status page gives for an agent that is not ready and has no finding
// of its own in the secret check (which carries its own fix), read from the agent's reason.

export function suggestFix(agent) {
  const r = String(agent.reason || '').toLowerCase();
  if (agent.status === 'disabled') return 'The entry says "enabled": false. Remove that field (or set it to true) and press Refresh.';
  if (/certificate|tls|ssl|x509/.test(r)) return 'The server\u2019s certificate is not trusted: set ca_file to the PEM of its CA, or fix the certificate.';
  if (/401|403|unauthori[sz]ed|forbidden|password|token|cognito|sign.?in/.test(r)) {
    return 'Check cognito_username and cognito_password, that the app client allows USER_PASSWORD_AUTH, and that the server trusts this user pool: `idp-agents token` signs in with the same values.';
  }
  if (/refused|connect|timed? ?out|timeout|unreachable|resolve|dns|network/.test(r)) {
    return 'Check that the server runs and that mcp_url is reachable from the service host: `idp-agents tools MCP_URL` lists its tools.';
  }
  if (/https|http:\/\/|loopback|url/.test(r)) return 'mcp_url must be https:// (plain http:// only for 127.0.0.1, ::1 or localhost).';
  return 'Run `idp-agents doctor` on the service host: it checks this server step by step and names the fix.';
}

