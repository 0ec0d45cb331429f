// The message box: a textbox labelled "Message", Send (or Enter; Shift+Enter for a new line),
// Stop while a turn runs, and sample queries as chips that fill the box.
import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from './lib/html.js';

export function Composer({ running, disabled, samples, maxChars, selectedCount, onSend, onStop }) {
  const [text, setText] = useState('');
  const box = useRef(null);
  const tooLong = text.length > maxChars;
  const canSend = !running && !disabled && text.trim() !== '' && !tooLong;

  const send = () => {
    if (!canSend) return;
    onSend(text.trim());
    setText('');
    if (box.current) box.current.focus();
  };
  // Send and Stop take each other's place: when the one that had the focus goes away, the
  // focus goes back to the box rather than to the page.
  useEffect(() => {
    if (box.current && (document.activeElement === document.body || !document.activeElement)) box.current.focus();
  }, [running]);
  const onKeyDown = (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send();
    }
  };
  const fill = (q) => {
    setText(q);
    if (box.current) box.current.focus();
  };

  return html`
    <form class="composer" onSubmit=${(e) => { e.preventDefault(); send(); }}>
      ${samples.length > 0 && html`
        <div class="chips" role="group" aria-label="Sample queries">
          ${samples.map((q) => html`<button type="button" key=${q} class="chip" onClick=${() => fill(q)}>${q}</button>`)}
        </div>`}
      <label for="composer-text" class="composer-label">Message</label>
      <div class="composer-row">
        <textarea id="composer-text" ref=${box} rows="3" value=${text}
                  placeholder=${samples[0] ? 'e.g. ' + samples[0] : 'Ask the agents…'}
                  aria-describedby="composer-hint" aria-invalid=${tooLong ? 'true' : 'false'}
                  onInput=${(e) => setText(e.currentTarget.value)} onKeyDown=${onKeyDown}></textarea>
        <div class="composer-buttons">
          ${running
            ? html`<button type="button" class="danger" onClick=${onStop}>Stop</button>`
            : html`<button type="submit" class="primary" disabled=${!canSend}>Send</button>`}
        </div>
      </div>
      <p id="composer-hint" class=${tooLong ? 'error small' : 'muted small'} aria-live="polite">
        ${tooLong
          ? `The message has ${text.length.toLocaleString()} characters; the limit is ${maxChars.toLocaleString()}.`
          : `Enter sends, Shift+Enter starts a new line.${selectedCount ? '' : ' No agent picked: every ready agent can answer.'}`}
      </p>
    </form>`;
}
