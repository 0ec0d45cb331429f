// "Custom MCP agents": how to add your own MCP server as an agent — the secret's format (one
// JSON array, one object per server; docs/configuration.md is the full reference) and a
// template to copy.
import { useRef } from 'preact/hooks';
import { html } from './lib/html.js';
import { CopyButton } from './CopyButton.js';

const TEMPLATE = JSON.stringify([
  {
    mcp_url: 'https://mcp.example.com/mcp',
    agent_name: 'My Tools',
    agent_description: 'What these tools are for, in a sentence the model can route by.',
    cognito_user_pool_id: 'us-east-1_AbC123xyz',
    cognito_client_id: 'your-app-client-id',
    cognito_username: 'mcp-service-user',
    cognito_password: 'the-service-user-password',
    sample_queries: ['A question these tools answer'],
  },
], null, 2);

const REQUIRED = [
  ['mcp_url', 'yes', 'The server\u2019s Streamable HTTP endpoint. https:// — plain http:// only for 127.0.0.1, ::1 or localhost.'],
  ['cognito_user_pool_id', 'for http', '<region>_<id>, e.g. us-east-1_AbC123xyz; the region picks the Cognito endpoint.'],
  ['cognito_client_id', 'for http', 'The app client; it must allow USER_PASSWORD_AUTH.'],
  ['cognito_username', 'for http', 'The user the service signs in as.'],
  ['cognito_password', 'for http', 'Its password; never shown or logged.'],
  ['agent_name', 'no', 'Shown in the agent list; default “External MCP Agent n” (n counts from 1).'],
  ['agent_description', 'no', 'What the agent is for; the list of its tools is appended.'],
  ['transport', 'no', 'http (Streamable HTTP, the default) or sse (the older HTTP+SSE transport).'],
];

const OPTIONAL = [
  ['agent_id', 'A stable id ([A-Za-z0-9_-], at most 64); otherwise derived from agent_name.'],
  ['cognito_client_secret', 'For app clients that have a secret (SECRET_HASH is then sent).'],
  ['auth', 'Instead of the Cognito fields: {"type":"oauth2_client_credentials", token_url, client_id, client_secret, scope}, {"type":"bearer","token":…} or {"type":"none"} (loopback servers only).'],
  ['tools_allow, tools_deny', 'Tool names or globs (* and ?) to offer or to hide; a denied tool cannot be called.'],
  ['tool_prefix', 'Put before every tool name the model sees (calc_ turns add into calc_add).'],
  ['timeout_seconds', 'Discovery and call timeout for this server (default 30).'],
  ['headers', 'Extra HTTP headers (their values are treated as secrets).'],
  ['ca_file', 'A PEM file of CAs to trust for a server with a private CA.'],
  ['sample_queries', 'Questions shown as examples in the agent list and as chips in the chat.'],
  ['enabled', 'false lists the agent as disabled without connecting to it.'],
];

export function HelpPage() {
  const pre = useRef(null);
  return html`
    <article class="help" aria-labelledby="help-title">
      <h1 id="help-title">Custom MCP agents</h1>
      <p>Any MCP server you run can become an agent here. The service reads one secret — a JSON
        array with one object per server — signs in to each server's Cognito user pool, connects
        with the Streamable HTTP transport and a Bearer token, discovers the tools and lists one
        agent per server. The model then answers questions by calling those tools.</p>

      <h2>Steps</h2>
      <ol>
        <li>Run your MCP server behind HTTPS and protect it with a Cognito user pool (an app
          client that allows USER_PASSWORD_AUTH, and a user for the service).</li>
        <li>Add an entry for it to the secret (AWS Secrets Manager
          <code>{stack name}/external-mcp-agents/credentials</code>, or the file or environment
          variable the service was started with). Start from the template below.</li>
        <li>Check the secret: <code>idp-agents secret check SOURCE</code> names every problem by
          entry and field; <code>idp-agents doctor</code> tries every server step by step.</li>
        <li>Press <strong>Refresh</strong> in the agents panel (or open <a href="#/status">Agents status</a>):
          the service re-reads the secret and your agent appears.</li>
      </ol>

      <h2>Template</h2>
      <div class="template">
        <pre class="out" ref=${pre} aria-label="Secret template" tabindex="0">${TEMPLATE}</pre>
        <${CopyButton} text=${TEMPLATE} label="Copy template" selectTarget=${pre} />
      </div>

      <h2>Fields of an entry</h2>
      <div class="table-wrap">
        <table class="data">
          <thead><tr><th scope="col">Field</th><th scope="col">Required</th><th scope="col">Meaning</th></tr></thead>
          <tbody>${REQUIRED.map(([f, r, m]) => html`<tr key=${f}><th scope="row"><code>${f}</code></th><td>${r}</td><td>${m}</td></tr>`)}</tbody>
        </table>
      </div>
      <h3>Optional additions</h3>
      <div class="table-wrap">
        <table class="data">
          <thead><tr><th scope="col">Field</th><th scope="col">Meaning</th></tr></thead>
          <tbody>${OPTIONAL.map(([f, m]) => html`<tr key=${f}><th scope="row"><code>${f}</code></th><td>${m}</td></tr>`)}</tbody>
        </table>
      </div>
      <p>Unknown fields are reported as warnings (a typo such as <code>cognito_pasword</code> shows
        up) and a bad entry never takes the others down. The secret may be at most 64 KiB with at
        most 100 entries. A secret that is one object instead of an array is refused with a hint to
        wrap it in <code>[ ]</code>.</p>
    </article>`;
}
