// Text as Markdown, sanitized by DOMPurify before it reaches the page (lib/markdown.js).
import { useMemo } from 'preact/hooks';
import { html } from './lib/html.js';
import { renderMarkdown } from './lib/markdown.js';

export function Markdown({ text }) {
  const safe = useMemo(() => renderMarkdown(text), [text]);
  return html`<div class="md" dangerouslySetInnerHTML=${{ __html: safe }}></div>`;
}
