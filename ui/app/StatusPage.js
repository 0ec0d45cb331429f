// The agents' status, like `idp-agents doctor`: each entry's status and reason, its tools, when
// it was last checked, where it points, and what to do about a problem. The fix comes from the
// secret check's findings for that entry, else the service's fix for the agent, else from what
// the reason says (lib/fix.js, for a service that sends none).
import { html } from './lib/html.js';
import { formatTime } from './lib/format.js';
import { StatusBadge } from './StatusBadge.js';
import { suggestFix } from './lib/fix.js';

export function StatusPage({ agents, error, busy, onRefresh }) {
  const list = agents && Array.isArray(agents.agents) ? agents.agents : [];
  const findings = agents && Array.isArray(agents.findings) ? agents.findings : [];
  const counts = { ready: 0, unavailable: 0, disabled: 0 };
  for (const a of list) counts[a.status] = (counts[a.status] || 0) + 1;
  return html`
    <section class="status" aria-labelledby="status-title" aria-busy=${busy ? 'true' : 'false'}>
      <div class="page-head">
        <h1 id="status-title">Agents status</h1>
        <button type="button" onClick=${onRefresh} disabled=${busy}>${busy ? 'Checking…' : 'Refresh'}</button>
      </div>
      ${error && html`<p class="error" role="alert">The agents could not be listed: ${error.message}</p>`}
      ${agents && html`<p class="muted">${`${list.length} agent${list.length === 1 ? '' : 's'}: ${counts.ready} ready, ` +
        `${counts.unavailable} unavailable, ${counts.disabled} disabled` +
        (agents.version ? ` · secret version ${agents.version}` : '')}</p>`}
      <ul class="status-list">
        ${list.map((a) => {
          const own = findings.filter((f) => f.entry === a.entry);
          const problems = own.filter((f) => f.fix);
          return html`
            <li key=${a.agent_id} class="card status-entry">
              <h2><span>${a.agent_name}</span> <${StatusBadge} status=${a.status} /></h2>
              <dl>
                <dt>Id</dt><dd><code>${a.agent_id}</code>${a.entry ? ` · secret entry ${a.entry}` : ''}</dd>
                ${a.reason && html`<dt>Reason</dt><dd>${a.reason}</dd>`}
                <dt>Server</dt><dd><code>${a.server || '—'}</code> · ${a.transport || 'http'} · ${a.auth || 'auth unknown'}</dd>
                <dt>Tools</dt><dd>${a.tools && a.tools.length ? a.tools.join(', ') : 'none discovered'}</dd>
                <dt>Last check</dt><dd>${a.last_checked ? formatTime(a.last_checked) : 'never'}</dd>
                ${a.status !== 'ready' && html`<dt>Fix</dt><dd>${problems.length ? problems.map((f) => html`<p key=${f.field}>${f.fix}</p>`) : a.fix || suggestFix(a)}</dd>`}
              </dl>
            </li>`;
        })}
      </ul>
      ${findings.length > 0 && html`
        <h2>Secret check</h2>
        <div class="table-wrap">
          <table class="data">
            <thead><tr><th scope="col">Entry</th><th scope="col">Field</th><th scope="col">Severity</th>
              <th scope="col">Problem</th><th scope="col">Fix</th></tr></thead>
            <tbody>${findings.map((f, i) => html`
              <tr key=${i}><td>${f.entry}</td><td><code>${f.field}</code></td><td>${f.severity}</td><td>${f.message}</td><td>${f.fix}</td></tr>`)}</tbody>
          </table>
        </div>`}
    </section>`;
}
