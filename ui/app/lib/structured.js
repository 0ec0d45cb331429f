// Structured answers (structured_data events) in the shapes the views draw. The agent loop
// passes the model's data on untouched, so besides the documented shapes this accepts the
// reference's flatter ones. Anything unusable gives null, and the view shows the raw JSON.
//   table:    {headers:[{id,label}], rows:[{id, data:{col: value}}]}   (documented)
//             [{col: value}, ...] | {rows:[{...}]} | {headers:["a"], rows:[[1]]} | {tableData: ...}
//   plotData: {type:"bar|line|pie", data:{labels:[...], datasets:[{label, data:[numbers]}]}}
//             (documented) | {type, labels, datasets} | [one of these, ...] | {plotData: [...]}

function isObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function headersFromRows(rows) {
  const ids = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!ids.includes(k)) ids.push(k);
  return ids.map((id) => ({ id, label: id }));
}

// -> {headers:[{id,label}], rows:[{id, cells:{id: value}}]} or null.
export function normalizeTable(data) {
  if (isObject(data) && data.tableData !== undefined) return normalizeTable(data.tableData);
  if (Array.isArray(data)) {
    if (!data.every(isObject)) return null;
    return { headers: headersFromRows(data), rows: data.map((r, i) => ({ id: String(i), cells: r })) };
  }
  if (!isObject(data) || !Array.isArray(data.rows)) return null;
  let headers = Array.isArray(data.headers) ? data.headers : null;
  if (headers) {
    headers = headers.map((h) =>
      isObject(h) ? { id: String(h.id ?? h.label), label: String(h.label ?? h.id) } : { id: String(h), label: String(h) });
  }
  const rows = [];
  for (const [i, r] of data.rows.entries()) {
    if (Array.isArray(r)) {
      if (!headers) return null;
      const cells = {};
      headers.forEach((h, j) => (cells[h.id] = r[j]));
      rows.push({ id: String(i), cells });
    } else if (isObject(r)) {
      const cells = isObject(r.data) ? r.data : r;
      rows.push({ id: r.id !== undefined && isObject(r.data) ? String(r.id) : String(i), cells });
    } else {
      return null;
    }
  }
  if (!headers) headers = headersFromRows(rows.map((r) => r.cells));
  return { headers, rows };
}

const CHART_TYPES = new Set(['bar', 'line', 'pie', 'doughnut']);

function onePlot(p) {
  if (!isObject(p)) return null;
  const type = CHART_TYPES.has(p.type) ? p.type : 'bar';
  const d = isObject(p.data) ? p.data : p;
  if (!Array.isArray(d.datasets) || !Array.isArray(d.labels)) return null;
  const datasets = d.datasets
    .filter((s) => isObject(s) && Array.isArray(s.data))
    .map((s) => ({ label: String(s.label ?? ''), data: s.data.map((v) => (typeof v === 'number' ? v : Number(v))) }));
  if (!datasets.length) return null;
  return { type, title: typeof p.title === 'string' ? p.title : '', labels: d.labels.map(String), datasets };
}

// -> [{type, title, labels, datasets:[{label, data}]}] (empty when unusable).
export function normalizePlots(data) {
  if (isObject(data) && data.plotData !== undefined) return normalizePlots(data.plotData);
  const list = Array.isArray(data) ? data : [data];
  return list.map(onePlot).filter(Boolean);
}

// Sort key comparison for table cells: numbers as numbers, the rest as text; empty last.
export function compareCells(a, b) {
  const empty = (v) => v === null || v === undefined || v === '';
  if (empty(a) || empty(b)) return empty(a) === empty(b) ? 0 : empty(a) ? 1 : -1;
  const na = typeof a === 'number' ? a : Number(a);
  const nb = typeof b === 'number' ? b : Number(b);
  if (!Number.isNaN(na) && !Number.isNaN(nb) && String(a).trim() !== '' && String(b).trim() !== '') return na - nb;
  return cellText(a).localeCompare(cellText(b), undefined, { numeric: true, sensitivity: 'base' });
}

// What a table cell shows: objects as JSON, the rest as text.
export function cellText(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

// The answer text without the fenced ```json blocks that carry a structured answer (they are
// drawn as a table or chart instead); other code blocks stay.
export function stripStructuredBlocks(text) {
  return text.replace(/```json\s*\n([\s\S]*?)\n?```/g, (whole, body) => {
    try {
      const v = JSON.parse(body);
      if (isObject(v) && typeof v.responseType === 'string' && v.responseType !== 'text') return '';
    } catch {
      // not JSON: an ordinary code block
    }
    return whole;
  }).trim();
}
