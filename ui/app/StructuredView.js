// A structured answer (structured_data event): a table, or one chart per plot; anything it
// cannot draw is shown as JSON rather than dropped.
import { useMemo } from 'preact/hooks';
import { html } from './lib/html.js';
import { normalizePlots, normalizeTable } from './lib/structured.js';
import { prettyJson } from './lib/format.js';
import { TableView } from './TableView.js';
import { ChartView } from './ChartView.js';

export function StructuredView({ item }) {
  // Once per item: a chart is drawn again only when its data really changes.
  const shaped = useMemo(() => (item.responseType === 'table' ? normalizeTable(item.data)
    : item.responseType === 'plotData' ? normalizePlots(item.data) : null), [item]);
  if (item.responseType === 'table') {
    if (shaped) return html`<${TableView} table=${shaped} />`;
  } else if (item.responseType === 'plotData') {
    if (shaped.length) return html`${shaped.map((p, i) => html`<${ChartView} key=${i} plot=${p} />`)}`;
  } else if (item.responseType === 'text') {
    return null; // the answer text already says it
  }
  return html`
    <figure class="structured-raw">
      <figcaption class="muted small">Data (${item.responseType || 'unknown type'})</figcaption>
      <pre class="out">${prettyJson(item.data)}</pre>
    </figure>`;
}
