// The agents to ask: a checkbox per agent (named by the agent's name), select all / none, and
// Refresh (the service re-reads the secret and retries unavailable agents).
import { html } from './lib/html.js';
import { AgentItem } from './AgentItem.js';

export function AgentsPanel({ agents, error, busy, selected, setSelected, onRefresh }) {
  const ready = agents.filter((a) => a.status === 'ready').map((a) => a.agent_id);
  const toggle = (id, on) =>
    setSelected(on ? [...selected.filter((x) => x !== id), id] : selected.filter((x) => x !== id));
  return html`
    <section class="agents-panel" aria-labelledby="agents-title" aria-busy=${busy ? 'true' : 'false'}>
      <div class="panel-head">
        <h2 id="agents-title">Agents</h2>
        <button type="button" onClick=${onRefresh} disabled=${busy}>${busy ? 'Refreshing…' : 'Refresh'}</button>
      </div>
      <div class="button-row">
        <button type="button" onClick=${() => setSelected(ready)} disabled=${!ready.length}>Select all</button>
        <button type="button" onClick=${() => setSelected([])} disabled=${!selected.length}>Select none</button>
      </div>
      ${error && html`<p class="error" role="alert">The agents could not be listed: ${error.message}</p>`}
      ${!error && !agents.length && !busy && html`<p class="muted">No agents are configured. See
        <a href="#/help">Custom MCP agents</a>.</p>`}
      <ul class="agent-list">
        ${agents.map((a) => html`<${AgentItem} key=${a.agent_id} agent=${a}
            checked=${selected.includes(a.agent_id)} onToggle=${toggle} />`)}
      </ul>
      <p class="muted small" aria-live="polite">
        ${selected.length
          ? `${selected.length} selected${selected.length > 1 ? ': an orchestrator routes each question' : ''}`
          : 'None selected: every ready agent can answer'}
      </p>
    </section>`;
}
