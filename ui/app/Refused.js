// What a user whose group may not use the agents sees (the service answers 403, as the
// reference does for the Reviewer group).
import { html } from './lib/html.js';

export function Refused({ refusal }) {
  const group = refusal.groups && refusal.groups.length ? refusal.groups.join(', ') : '';
  return html`
    <section class="card refused" role="alert" aria-labelledby="refused-title">
      <h1 id="refused-title">No access to the agents</h1>
      <p>${group
        ? `Your account (group ${group}) may not use the agents.`
        : 'Your account may not use the agents.'}</p>
      ${refusal.message && html`<p class="muted">The service said: ${refusal.message}</p>`}
      <p>Ask an administrator to move your account to a group that may use them, then sign in again.</p>
    </section>`;
}
