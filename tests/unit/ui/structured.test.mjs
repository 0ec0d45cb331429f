// Table and chart data in the documented and the reference's flatter shapes
// (ui/app/lib/structured.js), sorting, and the fenced blocks taken out of the answer text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareCells, normalizePlots, normalizeTable, stripStructuredBlocks } from '../../../ui/app/lib/structured.js';

test('the documented table shape', () => {
  const t = normalizeTable({ headers: [{ id: 'n', label: 'Name' }], rows: [{ id: 'r1', data: { n: 'x' } }] });
  assert.deepEqual(t, { headers: [{ id: 'n', label: 'Name' }], rows: [{ id: 'r1', cells: { n: 'x' } }] });
});

test('flatter table shapes: an array of objects, string headers with array rows, tableData', () => {
  assert.deepEqual(normalizeTable([{ a: 1 }, { a: 2, b: 3 }]).headers.map((h) => h.id), ['a', 'b']);
  const t = normalizeTable({ headers: ['a', 'b'], rows: [[1, 2]] });
  assert.deepEqual(t.rows[0].cells, { a: 1, b: 2 });
  assert.equal(normalizeTable({ tableData: [{ x: 1 }] }).rows.length, 1);
  assert.equal(normalizeTable('nope'), null);
  assert.equal(normalizeTable({ rows: [[1]] }), null, 'array rows need headers');
});

test('plots: the documented shape, a flat one, a list, plotData; unusable ones dropped', () => {
  const doc = normalizePlots({ type: 'line', data: { labels: ['a', 'b'], datasets: [{ label: 'S', data: [1, '2'] }] } });
  assert.deepEqual(doc, [{ type: 'line', title: '', labels: ['a', 'b'], datasets: [{ label: 'S', data: [1, 2] }] }]);
  assert.equal(normalizePlots({ type: 'pie', labels: ['a'], datasets: [{ data: [1] }] })[0].type, 'pie');
  assert.equal(normalizePlots({ plotData: [{ labels: ['a'], datasets: [{ data: [1] }] }, { nothing: 1 }] }).length, 1);
  assert.equal(normalizePlots({ type: 'weird', labels: ['a'], datasets: [{ data: [1] }] })[0].type, 'bar');
});

test('cells sort as numbers when both are numbers, else as text; empty last', () => {
  const v = [10, '9', 'b', '', 'A', null, 2.5];
  assert.deepEqual([...v].sort(compareCells), [2.5, '9', 10, 'A', 'b', '', null]);
});

test('fenced structured blocks leave the text; other code blocks stay', () => {
  const text = 'Here:\n\n```json\n{"responseType":"table","data":[]}\n```\n\n```json\n{"a":1}\n```';
  assert.equal(stripStructuredBlocks(text), 'Here:\n\n\n\n```json\n{"a":1}\n```');
});
