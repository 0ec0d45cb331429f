// The chat: the agents panel beside the conversation and the message box. One Conversation
// (lib/conversation.js) per session; a new session's id goes into the URL as soon as the
// service gives it, so a reload comes back to it.
import { useEffect, useReducer, useRef } from 'preact/hooks';
import { html } from './lib/html.js';
import { Conversation } from './lib/conversation.js';
import { AgentsPanel } from './AgentsPanel.js';
import { ConversationLog } from './ConversationLog.js';
import { Composer } from './Composer.js';

function agentList(agents) {
  return agents && Array.isArray(agents.agents) ? agents.agents : [];
}

export function ChatPage({ api, config, sessionId, navigate, agents, agentsError, agentsBusy,
                           onRefreshAgents, selected, setSelected }) {
  const [, rerender] = useReducer((n) => n + 1, 0);
  const convRef = useRef(null);

  useEffect(() => {
    const current = convRef.current;
    if (current && sessionId && current.sessionId === sessionId) return; // our own new session
    if (current) current.dispose();
    const conv = new Conversation(api, rerender);
    convRef.current = conv;
    rerender();
    if (sessionId) {
      conv.open(sessionId).then(() => {
        if (conv.sessionId) setSelected(conv.agentIds || []);
      });
    }
  }, [api, sessionId]);

  useEffect(() => () => convRef.current && convRef.current.dispose(), []);

  // A new session's id, once the service has given it, goes into the URL (the conversation of
  // the moment: convRef, not this render's, which a route change may just have replaced).
  useEffect(() => {
    const current = convRef.current;
    if (current && current.sessionId && current.sessionId !== sessionId) {
      navigate({ page: 'chat', sessionId: current.sessionId }, { replace: true });
    }
  });
  const conv = convRef.current;
  if (!conv) return null;

  const list = agentList(agents);
  const names = new Map(list.map((a) => [a.agent_id, a.agent_name]));
  const chosen = list.filter((a) => selected.includes(a.agent_id));
  const samples = [];
  for (const a of chosen.length ? chosen : list.filter((x) => x.status === 'ready')) {
    for (const q of a.sample_queries || []) if (!samples.includes(q)) samples.push(q);
  }

  const send = (text) => conv.send(text, selected);
  const newChat = () => navigate({ page: 'chat', sessionId: null });

  return html`
    <div class="chat-layout">
      <aside class="sidebar">
        <${AgentsPanel} agents=${list} error=${agentsError} busy=${agentsBusy}
                        selected=${selected} setSelected=${setSelected} onRefresh=${onRefreshAgents} />
      </aside>
      <section class="chat" aria-labelledby="chat-title">
        <div class="chat-head">
          <h1 id="chat-title">${conv.title || 'New chat'}</h1>
          <button type="button" onClick=${newChat} disabled=${!conv.sessionId && !conv.messages.length}>New chat</button>
        </div>
        ${conv.error && html`<p class="error" role="alert">${conv.error.message}</p>`}
        <${ConversationLog} conv=${conv} names=${names} />
        <${Composer} running=${conv.running} disabled=${conv.loading} samples=${samples.slice(0, 6)}
                     maxChars=${config && config.limits ? config.limits.max_message_chars : 100000}
                     selectedCount=${selected.length} onSend=${send} onStop=${() => conv.stop()} />
      </section>
    </div>`;
}
