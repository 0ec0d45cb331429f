// My sessions, newest first: open one, delete one (after a confirmation), or start a new chat.
import { useCallback, useEffect, useState } from 'preact/hooks';
import { html } from './lib/html.js';
import { formatTime, shorten } from './lib/format.js';

export function HistoryPage({ api, navigate }) {
  const [sessions, setSessions] = useState(null);
  const [error, setError] = useState(null);
  const [confirming, setConfirming] = useState(null);
  const [status, setStatus] = useState('');

  const load = useCallback(async () => {
    setError(null);
    try {
      const body = await api.sessions();
      setSessions(body.sessions || []);
    } catch (e) {
      setError(e);
    }
  }, [api]);

  useEffect(() => {
    load();
  }, [load]);

  const remove = async (s) => {
    setConfirming(null);
    try {
      await api.deleteSession(s.session_id);
      setStatus(`Deleted “${s.title || 'Untitled chat'}”.`);
      setSessions((list) => list.filter((x) => x.session_id !== s.session_id));
    } catch (e) {
      setError(e);
    }
  };

  return html`
    <section class="history" aria-labelledby="history-title">
      <div class="page-head">
        <h1 id="history-title">History</h1>
        <button type="button" class="primary" onClick=${() => navigate({ page: 'chat', sessionId: null })}>New chat</button>
      </div>
      <p class="sr-only" role="status">${status}</p>
      ${error && html`<p class="error" role="alert">The sessions could not be loaded: ${error.message}
        <button type="button" onClick=${load}>Try again</button></p>`}
      ${sessions === null && !error && html`<p class="muted">Loading…</p>`}
      ${sessions && !sessions.length && html`<p class="muted">No chats yet.</p>`}
      ${sessions && sessions.length > 0 && html`
        <ul class="session-list" aria-label="My sessions">
          ${sessions.map((s) => {
            const title = s.title || 'Untitled chat';
            return html`
              <li key=${s.session_id} class="session">
                <div class="session-main">
                  <a href=${'#/chat/' + encodeURIComponent(s.session_id)}>${title}</a>
                  <p class="muted small">
                    ${formatTime(s.updated_at || s.created_at)} · ${s.message_count ?? 0} message${s.message_count === 1 ? '' : 's'}
                    ${s.last_message ? ' · ' + shorten(s.last_message, 100) : ''}
                  </p>
                </div>
                ${confirming === s.session_id
                  ? html`<div class="button-row" role="group" aria-label=${'Confirm deleting ' + title}>
                      <span class="small">Delete this chat?</span>
                      <button type="button" class="danger" onClick=${() => remove(s)}>Yes, delete</button>
                      <button type="button" onClick=${() => setConfirming(null)}>Cancel</button>
                    </div>`
                  : html`<button type="button" aria-label=${'Delete ' + title} onClick=${() => setConfirming(s.session_id)}>Delete</button>`}
              </li>`;
          })}
        </ul>`}
    </section>`;
}
