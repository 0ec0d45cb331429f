// Small formatting helpers shared by the views.

// The first `max` characters of a text, cut at a word boundary when one is near, with "…".
export function shorten(text, max = 150) {
  const t = String(text || '').trim();
  if (t.length <= max) return t;
  const cut = t.slice(0, max);
  const space = cut.lastIndexOf(' ');
  return (space > max * 0.6 ? cut.slice(0, space) : cut).trimEnd() + '…';
}

// An RFC 3339 time as the user's local date and time ("" for none).
export function formatTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

// A duration in milliseconds as "850 ms" or "2.4 s".
export function formatMs(ms) {
  if (typeof ms !== 'number') return '';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

// A JSON value for display, pretty-printed and whole.
export function prettyJson(v) {
  if (v === undefined) return '';
  try {
    return JSON.stringify(v, null, 2);
  } catch {
    return String(v);
  }
}
