// Markdown to safe HTML: marked renders (GitHub-flavoured), DOMPurify sanitizes — marked alone
// does not, and answers can carry text an MCP server or a model made up. Scripts, event
// handlers, forms, frames and styles are removed; links open in a new tab without an opener.
// Images are removed too: an answer steered by a tool result could otherwise make the browser
// fetch a URL of the attacker's choosing (the CSP stops other hosts, not this one).
import { marked } from 'marked';
import DOMPurify from 'dompurify';

const FORBID_TAGS = ['img', 'picture', 'source', 'video', 'audio', 'style', 'form', 'input', 'button', 'textarea', 'select', 'iframe', 'object',
  'embed', 'frame', 'frameset', 'link', 'meta', 'base'];

let hooked = false;
function hookLinks() {
  if (hooked) return;
  hooked = true;
  DOMPurify.addHook('afterSanitizeAttributes', (node) => {
    if (node.tagName === 'A' && node.hasAttribute('href')) {
      node.setAttribute('target', '_blank');
      node.setAttribute('rel', 'noopener noreferrer');
    }
  });
}

export function renderMarkdown(text) {
  hookLinks();
  const raw = marked.parse(text || '', { gfm: true, breaks: false, async: false });
  return DOMPurify.sanitize(raw, {
    USE_PROFILE: { html: true },
    FORBID_TAGS,
    FORBID_ATTR: ['style'],
  });
}
