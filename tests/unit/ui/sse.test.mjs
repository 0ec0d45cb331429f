// The SSE reader of the chat (ui/app/lib/sse.js): line endings, comments, multi-line data,
// chunks split anywhere, ids, and data that is never cut.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readEvents } from '../../../ui/app/lib/sse.js';

function streamOf(chunks) {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(c) {
      for (const ch of chunks) c.enqueue(typeof ch === 'string' ? enc.encode(ch) : ch);
      c.close();
    },
  });
}

async function all(chunks) {
  const out = [];
  for await (const e of readEvents(streamOf(chunks))) out.push(e);
  return out;
}

test('events with ids, comments ignored, the last event without a blank line dropped', async () => {
  const got = await all([': keep-alive\n\nid: 1\ndata: {"seq":1}\n\nid: 2\ndata: {"seq":2}\n\ndata: unfinished\n']);
  assert.deepEqual(got, [
    { id: '1', event: 'message', data: '{"seq":1}' },
    { id: '2', event: 'message', data: '{"seq":2}' },
  ]);
});

test('CRLF, CR and LF line endings, also when a CRLF is split between chunks', async () => {
  const got = await all(['id: 7\r', '\ndata: a\r\rdata: b\r\n', '\r\n']);
  assert.deepEqual(got.map((e) => [e.id, e.data]), [['7', 'a'], ['7', 'b']]);
});

test('several data lines join with a newline; event names and a missing space after the colon', async () => {
  const got = await all(['event: update\ndata:one\ndata: two\n\n']);
  assert.deepEqual(got, [{ id: '', event: 'update', data: 'one\ntwo' }]);
});

test('a multi-byte character split across chunks and a long payload arrive whole', async () => {
  const bytes = new TextEncoder().encode('data: é€😀\n\n');
  const long = 'x'.repeat(250_000);
  const got = await all([bytes.slice(0, 8), bytes.slice(8), `data: ${long}\n\n`]);
  assert.equal(got[0].data, 'é€😀');
  assert.equal(got[1].data.length, 250_000);
});

test('a consumer that stops early cancels the stream', async () => {
  let cancelled = false;
  const body = new ReadableStream({
    pull(c) {
      c.enqueue(new TextEncoder().encode('data: x\n\n'));
    },
    cancel() {
      cancelled = true;
    },
  });
  for await (const e of readEvents(body)) {
    assert.equal(e.data, 'x');
    break;
  }
  assert.equal(cancelled, true);
});
