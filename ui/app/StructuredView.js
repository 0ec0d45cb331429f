// A structured answer (structured_data event): a table, or one chart per plot; anything it
// cannot draw is shown as JSON rather than dropped.
import { html } from './lib/html.js';
import { normalizePlots, normalizeTable } from './lib/structured.js';
import { prettyJson } from './lib/format.js';
import { TableView } from './TableView.js';
import { ChartView } from './ChartView.js';

export function StructuredView({ item }) {
  if (item.responseType === 'table') {
    const table = normalizeTable(item.data);
    if (table) return html`<${TableView} table=${table} />`;
  } else if (item.responseType === 'plotData') {
    const plots = normalizePlots(item.data);
    if (plots.length) return html`${plots.map((p, i) => html`<${ChartView} key=${i} plot=${p} />`)}`;
  } else if (item.responseType === 'text') {
    return null; // the answer text already says it
  }
  return html`
    <figure class="structured-raw">
      <figcaption class="muted small">Data (${item.responseType || 'unknown type'})</figcaption>
      <pre class="out">${prettyJson(item.data)}</pre>
    </figure>`;
}
