// The bar above every page: the product name, the pages, who is signed in, and Sign out.
import { html } from './lib/html.js';

const LINKS = [
  ['chat', 'Chat'],
  ['history', 'History'],
  ['status', 'Agents status'],
  ['help', 'Custom MCP agents'],
];

export function TopBar({ route, user, config, onSignOut }) {
  return html`
    <a class="skip" href="#main">Skip to content</a>
    <header class="topbar">
      <span class="brand">IDP Agents</span>
      <nav aria-label="Main">
        <ul>
          ${LINKS.map(([page, label]) => html`
            <li key=${page}>
              <a href=${'#/' + page} aria-current=${route.page === page ? 'page' : undefined}>${label}</a>
            </li>`)}
        </ul>
      </nav>
      <div class="who">
        ${config && config.model && config.model.offline &&
          html`<span class="badge badge-info" title="No model service is configured: a deterministic planner answers">offline planner</span>`}
        <span class="user"><span class="sr-only">Signed in as </span>${user.username || user.sub}</span>
        <button type="button" onClick=${onSignOut}>Sign out</button>
      </div>
    </header>`;
}
