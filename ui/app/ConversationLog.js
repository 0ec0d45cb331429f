// The conversation region (role "log"): the messages in order, the newest kept in view while
// an answer streams unless the user has scrolled up to read.
import { useLayoutEffect, useRef } from 'preact/hooks';
import { html } from './lib/html.js';
import { Message } from './Message.js';

export function ConversationLog({ conv, names }) {
  const ref = useRef(null);
  const stick = useRef(true);
  const onScroll = () => {
    const el = ref.current;
    stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
  };
  // Before paint, so the view never shows the older position first.
  useLayoutEffect(() => {
    const el = ref.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  });
  return html`
    <div class="log" role="log" aria-label="Conversation" aria-busy=${conv.running ? 'true' : 'false'}
         tabindex="0" ref=${ref} onScroll=${onScroll}>
      ${conv.loading && html`<p class="muted">Loading the conversation…</p>`}
      ${!conv.loading && !conv.messages.length && html`
        <p class="muted empty">Pick agents on the left, then ask a question or pick a sample query below.</p>`}
      ${conv.messages.map((m) => html`<${Message} key=${m.key} message=${m} names=${names} />`)}
    </div>`;
}
