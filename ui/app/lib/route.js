// The page's place, kept in the URL hash so a reload (and the back button) comes back to it:
//   #/chat            a new chat          #/chat/<session id>   a stored session
//   #/history         my sessions         #/status              the agents' status
//   #/help            custom MCP agents help
const PAGES = new Set(['chat', 'history', 'status', 'help']);

export function parseRoute(hash) {
  const parts = String(hash || '').replace(/^#\/?/, '').split('/').filter(Boolean);
  const page = PAGES.has(parts[0]) ? parts[0] : 'chat';
  const sessionId = parts[0] === 'chat' && parts[1] ? decodeURIComponent(parts[1]) : null;
  return { page, sessionId };
}

export function routeHash({ page, sessionId }) {
  return '#/' + page + (page === 'chat' && sessionId ? '/' + encodeURIComponent(sessionId) : '');
}
