// An agent's status as a coloured word (ready, unavailable, disabled): the word carries the
// meaning, the colour only helps.
import { html } from './lib/html.js';

export function StatusBadge({ status }) {
  const s = status || 'unknown';
  return html`<span class=${'badge badge-' + s.replace(/[^a-z]/g, '')}>${s}</span>`;
}
