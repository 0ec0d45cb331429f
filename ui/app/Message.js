// One message: the user's text as written, or an assistant turn — its tool and sub-agent
// steps, the answer as sanitized Markdown, tables and charts, and how it ended.
import { html } from './lib/html.js';
import { stripStructuredBlocks } from './lib/structured.js';
import { Markdown } from './Markdown.js';
import { Step } from './Step.js';
import { StructuredView } from './StructuredView.js';

const ENDINGS = {
  cancelled: 'Stopped',
  error: 'The answer failed',
  interrupted: 'Interrupted',
};

export function Message({ message, names }) {
  if (message.role === 'user') {
    return html`
      <article class="msg msg-user" aria-label="You said">
        <p class="msg-text">${message.text}</p>
      </article>`;
  }
  const t = message.turn;
  const text = t.structured.length ? stripStructuredBlocks(t.text) : t.text;
  const ended = ENDINGS[t.status];
  return html`
    <article class="msg msg-assistant" aria-label="Answer" data-status=${t.status}>
      ${t.steps.length > 0 && html`
        <div class="steps">${t.steps.map((s) => html`<${Step} key=${s.callId} step=${s} names=${names} />`)}</div>`}
      ${text && html`<${Markdown} text=${text} />`}
      ${t.structured.map((s, i) => html`<${StructuredView} key=${i} item=${s} />`)}
      ${t.status === 'running' && html`<p class="working" role="status"><span class="spinner" aria-hidden="true"></span>Working…</p>`}
      ${ended && html`
        <p class=${t.status === 'cancelled' ? 'notice' : 'error'}>
          ${ended}${t.error ? html`: <span class="code">${t.error.code}</span> ${t.error.message}` : ''}
        </p>`}
      ${t.status === 'complete' && (t.model || t.usage) && html`
        <p class="muted small meta">
          ${t.model ? `${t.offline ? 'offline planner' : t.model}` : ''}
          ${t.usage ? ` · ${t.usage.input} tokens in, ${t.usage.output} out` : ''}
        </p>`}
    </article>`;
}
