// Copies a text to the clipboard and says so; when the clipboard is not available (a page not
// served over https or localhost), selects the text so the user can copy it by hand.
import { useState } from 'preact/hooks';
import { html } from './lib/html.js';

export function CopyButton({ text, label, selectTarget }) {
  const [said, setSaid] = useState('');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setSaid('Copied to the clipboard.');
    } catch {
      const el = selectTarget && selectTarget.current;
      if (el) {
        const range = document.createRange();
        range.selectNodeContents(el);
        const sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
      }
      setSaid('The clipboard is not available here: the text is selected, press Ctrl+C to copy it.');
    }
  };
  return html`
    <span class="copy">
      <button type="button" onClick=${copy}>${label}</button>
      <span class="muted small" role="status">${said}</span>
    </span>`;
}
