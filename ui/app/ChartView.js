// A plotData answer as a Chart.js chart (bar, line or pie) on a canvas, with its numbers in a
// table below for readers who cannot see the chart. Chart.js loads only when a chart is shown.
import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from './lib/html.js';

const COLORS = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#65a30d'];

function describe(plot) {
  const series = plot.datasets.map((d) => d.label).filter(Boolean).join(', ');
  return `${plot.type} chart${plot.title ? ' ' + plot.title : ''}${series ? ' of ' + series : ''}: ` +
    `${plot.labels.length} ${plot.labels.length === 1 ? 'point' : 'points'}`;
}

export function ChartView({ plot }) {
  const canvas = useRef(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    let chart = null;
    let gone = false;
    import('chart.js/auto').then(({ default: Chart }) => {
      if (gone || !canvas.current) return; // left the page before Chart.js arrived
      const round = plot.type === 'pie' || plot.type === 'doughnut';
      chart = new Chart(canvas.current, {
        type: plot.type,
        data: {
          labels: plot.labels,
          datasets: plot.datasets.map((d, i) => ({
            label: d.label,
            data: d.data,
            backgroundColor: round ? plot.labels.map((_, j) => COLORS[j % COLORS.length]) : COLORS[i % COLORS.length],
            borderColor: round ? '#ffffff' : COLORS[i % COLORS.length],
          })),
        },
        options: {
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          plugins: { title: { display: !!plot.title, text: plot.title } },
        },
      });
    }, (e) => setError(e));
    return () => {
      gone = true;
      if (chart) chart.destroy();
    };
  }, [plot]);
  return html`
    <figure class="chart">
      <div class="chart-box"><canvas ref=${canvas} role="img" aria-label=${describe(plot)}></canvas></div>
      ${error && html`<p class="error">The chart could not be drawn: ${error.message}</p>`}
      <details class="chart-data">
        <summary>Chart data</summary>
        <table class="data">
          <thead><tr><th scope="col">Label</th>${plot.datasets.map((d, i) => html`<th key=${i} scope="col">${d.label || 'Value'}</th>`)}</tr></thead>
          <tbody>${plot.labels.map((l, j) => html`
            <tr key=${j}><th scope="row">${l}</th>${plot.datasets.map((d, i) => html`<td key=${i}>${String(d.data[j] ?? '')}</td>`)}</tr>`)}</tbody>
        </table>
      </details>
    </figure>`;
}
