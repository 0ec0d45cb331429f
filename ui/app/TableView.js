// A table answer: sortable by any column (click its header; again to reverse) and paged.
import { useState } from 'preact/hooks';
import { html } from './lib/html.js';
import { cellText, compareCells } from './lib/structured.js';

const PAGE_SIZE = 10;

export function TableView({ table }) {
  const [sort, setSort] = useState(null); // {id, dir: 1 | -1}
  const [page, setPage] = useState(0);
  const rows = sort
    ? [...table.rows].sort((a, b) => sort.dir * compareCells(a.cells[sort.id], b.cells[sort.id]))
    : table.rows;
  const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE));
  const current = Math.min(page, pages - 1);
  const shown = rows.slice(current * PAGE_SIZE, (current + 1) * PAGE_SIZE);
  const sortBy = (id) => {
    setSort(sort && sort.id === id ? { id, dir: -sort.dir } : { id, dir: 1 });
    setPage(0);
  };
  const first = rows.length ? current * PAGE_SIZE + 1 : 0;
  const last = current * PAGE_SIZE + shown.length;
  return html`
    <div class="table-wrap">
      <table class="data">
        <caption class="muted small">${rows.length} row${rows.length === 1 ? '' : 's'}${pages > 1 ? `, showing ${first}–${last}` : ''}</caption>
        <thead>
          <tr>
            ${table.headers.map((h) => {
              const dir = sort && sort.id === h.id ? sort.dir : 0;
              return html`
                <th key=${h.id} scope="col" aria-sort=${dir === 1 ? 'ascending' : dir === -1 ? 'descending' : 'none'}>
                  <button type="button" class="sort" onClick=${() => sortBy(h.id)}>
                    ${h.label}<span aria-hidden="true" class="sort-mark">${dir === 1 ? ' ▲' : dir === -1 ? ' ▼' : ''}</span>
                  </button>
                </th>`;
            })}
          </tr>
        </thead>
        <tbody>
          ${shown.map((r) => html`
            <tr key=${r.id}>${table.headers.map((h) => html`<td key=${h.id}>${cellText(r.cells[h.id])}</td>`)}</tr>`)}
        </tbody>
      </table>
      ${pages > 1 && html`
        <nav class="pager" aria-label="Table pages">
          <button type="button" onClick=${() => setPage(current - 1)} disabled=${current === 0}>Previous page</button>
          <span>Page ${current + 1} of ${pages}</span>
          <button type="button" onClick=${() => setPage(current + 1)} disabled=${current >= pages - 1}>Next page</button>
        </nav>`}
    </div>`;
}
