// A chat session's state (ui/app/lib/conversation.js) against a fake API that streams events:
// a new session, a turn streamed to its end, a dropped stream resumed after the last seq, a
// running turn followed on open, Stop, and a refused message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Conversation } from '../../../ui/app/lib/conversation.js';
import { ApiError } from '../../../ui/app/lib/api.js';

// A text/event-stream response of these events; end: false makes the connection fail after them.
const sse = (events, { end = true } = {}) => {
  const text = events.map((e) => `id: ${e.seq}\ndata: ${JSON.stringify(e)}\n\n`).join('');
  let sent = false;
  return new Response(new ReadableStream({
    pull(c) {
      if (!sent) {
        sent = true;
        c.enqueue(new TextEncoder().encode(': keep-alive\n\n' + text));
      } else if (end) {
        c.close();
      } else {
        c.error(new TypeError('network error'));
      }
    },
  }), { headers: { 'Content-Type': 'text/event-stream' } });
};

function fakeApi(overrides) {
  const calls = [];
  const api = {
    calls,
    createSession: async (ids) => (calls.push(['create', ids]), { session_id: 's1', title: '', agent_ids: ids }),
    postMessage: async (id, text, ids) => (calls.push(['post', id, text, ids]), sse([])),
    followEvents: async (id, after) => (calls.push(['follow', id, after]), sse([])),
    cancel: async (id) => (calls.push(['cancel', id]), { cancelled: true }),
    session: async () => ({}),
    ...overrides,
  };
  return api;
}

const noWait = { wait: async () => {} };

test('the first message creates the session and the turn streams to its end', async () => {
  const api = fakeApi({
    postMessage: async (id, text, ids) => (api.calls.push(['post', id, text, ids]), sse([
      { seq: 1, type: 'turn_start', turn_id: 't' },
      { seq: 2, type: 'tool_start', call_id: 'c', agent_id: 'a', tool: 'echo', input: { text: 'hi' } },
      { seq: 3, type: 'tool_end', call_id: 'c', agent_id: 'a', tool: 'echo', is_error: false, output: {}, ms: 2 },
      { seq: 4, type: 'text_delta', text: 'hi' },
      { seq: 5, type: 'final', text: 'hi there' },
    ])),
  });
  let changes = 0;
  const conv = new Conversation(api, () => changes++, noWait);
  await conv.send('say hi', ['a']);
  assert.deepEqual(api.calls, [['create', ['a']], ['post', 's1', 'say hi', ['a']]]);
  assert.equal(conv.sessionId, 's1');
  assert.equal(conv.running, false);
  assert.deepEqual(conv.messages.map((m) => m.role), ['user', 'assistant']);
  const turn = conv.messages[1].turn;
  assert.equal(turn.status, 'complete');
  assert.equal(turn.text, 'hi there');
  assert.equal(turn.steps[0].tool, 'echo');
  assert.ok(changes >= 5);
});

test('a stream that drops is resumed after the last event it delivered', async () => {
  const api = fakeApi({
    postMessage: async () => sse([{ seq: 1, type: 'turn_start' }, { seq: 2, type: 'text_delta', text: 'ab' }], { end: false }),
    followEvents: async (id, after) => (api.calls.push(['follow', id, after]), sse([
      { seq: 3, type: 'text_delta', text: 'c' },
      { seq: 4, type: 'final', text: '' },
    ])),
  });
  const conv = new Conversation(api, () => {}, noWait);
  await conv.send('q', []);
  assert.deepEqual(api.calls.filter((c) => c[0] === 'follow'), [['follow', 's1', 2]]);
  assert.equal(conv.messages[1].turn.text, 'abc');
  assert.equal(conv.messages[1].turn.status, 'complete');
});

test('a connection that keeps dropping but keeps delivering is followed to the end', async () => {
  // Every stream brings one event and drops: ten drops, more than the five failed tries allowed.
  const api = fakeApi({
    postMessage: async () => sse([{ seq: 1, type: 'turn_start' }], { end: false }),
    followEvents: async (id, after) => {
      api.calls.push(['follow', id, after]);
      const seq = after + 1;
      return seq <= 10 ? sse([{ seq, type: 'text_delta', text: String(seq % 10) }], { end: false })
                       : sse([{ seq, type: 'final', text: '' }]);
    },
  });
  const conv = new Conversation(api, () => {}, noWait);
  await conv.send('q', []);
  assert.equal(api.calls.filter((c) => c[0] === 'follow').length, 10);
  assert.equal(conv.messages[1].turn.text, '234567890');
  assert.equal(conv.messages[1].turn.status, 'complete');
});

test('a stream that cannot be picked up again ends the turn as interrupted, saying why', async () => {
  const api = fakeApi({
    postMessage: async () => sse([{ seq: 1, type: 'turn_start' }], { end: false }),
    followEvents: async () => { throw new ApiError(0, 'unreachable', 'the service did not answer'); },
  });
  const conv = new Conversation(api, () => {}, noWait);
  await conv.send('q', []);
  const turn = conv.messages[1].turn;
  assert.equal(turn.status, 'interrupted');
  assert.equal(turn.error.message, 'the service did not answer');
});

test('opening a session whose last turn runs follows it from its last stored event', async () => {
  const api = fakeApi({
    session: async () => ({
      session_id: 's9', title: 'slow', agent_ids: ['a'],
      messages: [
        { message_id: 'm1', role: 'user', text: 'run the slow report' },
        { message_id: 'm2', role: 'assistant', status: 'running', text: '', events: [
          { seq: 1, type: 'turn_start' },
          { seq: 2, type: 'tool_start', call_id: 'c', agent_id: 'a', tool: 'slow', input: {} }] },
      ],
    }),
    followEvents: async (id, after) => (api.calls.push(['follow', id, after]), sse([
      { seq: 3, type: 'tool_end', call_id: 'c', agent_id: 'a', tool: 'slow', is_error: true, output: {}, ms: 9, error_code: 'cancelled' },
      { seq: 4, type: 'error', code: 'cancelled', message: 'cancelled' },
    ])),
  });
  const conv = new Conversation(api, () => {}, noWait);
  await conv.open('s9');
  assert.deepEqual(api.calls, [['follow', 's9', 2]]);
  assert.equal(conv.title, 'slow');
  assert.deepEqual(conv.agentIds, ['a']);
  const turn = conv.messages[1].turn;
  assert.equal(turn.status, 'cancelled');
  assert.equal(turn.steps[0].status, 'error');
  assert.equal(conv.running, false);
});

test('Stop asks the service to cancel the running turn', async () => {
  let release;
  const api = fakeApi({
    postMessage: async () => new Response(new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode('id: 1\ndata: {"seq":1,"type":"turn_start"}\n\n'));
        release = () => {
          c.enqueue(new TextEncoder().encode('id: 2\ndata: {"seq":2,"type":"error","code":"cancelled","message":"stopped"}\n\n'));
          c.close();
        };
      },
    })),
    cancel: async (id) => {
      api.calls.push(['cancel', id]);
      release();
      return { cancelled: true };
    },
  });
  let started;
  const turnStarted = new Promise((r) => (started = r));
  const conv = new Conversation(api, () => conv.messages[1]?.turn.lastSeq === 1 && started(), noWait);
  const sending = conv.send('slow', []);
  await turnStarted;
  assert.equal(conv.running, true);
  await conv.stop();
  await sending;
  assert.deepEqual(api.calls.at(-1), ['cancel', 's1']);
  assert.equal(conv.messages[1].turn.status, 'cancelled');
});

test('a refused message (409: a turn still runs) is shown on the turn, and sending works again', async () => {
  const api = fakeApi({
    postMessage: async () => { throw new ApiError(409, 'conflict', 'a turn of this session is still running'); },
  });
  const conv = new Conversation(api, () => {}, noWait);
  await conv.send('again', []);
  const turn = conv.messages[1].turn;
  assert.equal(turn.status, 'interrupted');
  assert.equal(turn.error.message, 'a turn of this session is still running');
  assert.equal(conv.running, false);
});
