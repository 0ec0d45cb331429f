// How the chat builds a turn from its events (ui/app/lib/turn.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyEvent, newTurn, turnFromMessage } from '../../../ui/app/lib/turn.js';

function play(events) {
  const t = newTurn();
  events.forEach((e, i) => applyEvent(t, { seq: i + 1, ...e }));
  return t;
}

test('text streams in; final replaces it; tool steps carry input, output, time and error state', () => {
  const t = play([
    { type: 'turn_start', turn_id: 't1', agent_ids: ['a'], model: 'offline', offline: true },
    { type: 'tool_start', call_id: 'c1', agent_id: 'a', tool: 'add', input: { a: 1 } },
    { type: 'tool_end', call_id: 'c1', agent_id: 'a', tool: 'add', is_error: true, output: { content: [{ type: 'text', text: 'boom' }] }, ms: 12, error_code: 'timeout' },
    { type: 'text_delta', text: 'Hel' },
    { type: 'text_delta', text: 'lo' },
  ]);
  assert.equal(t.text, 'Hello');
  assert.equal(t.status, 'running');
  assert.equal(t.offline, true);
  const [s] = t.steps;
  assert.deepEqual([s.tool, s.input, s.ms, s.isError, s.errorCode, s.status], ['add', { a: 1 }, 12, true, 'timeout', 'error']);
  applyEvent(t, { seq: 6, type: 'final', text: 'Hello, world' });
  assert.equal(t.text, 'Hello, world');
  assert.equal(t.status, 'complete');
});

test('sub-agent steps nest their tools and words, by parent_call_id or by agent id', () => {
  const t = play([
    { type: 'subagent_start', call_id: 's1', agent_id: 'crm', query: 'address?' },
    { type: 'tool_start', call_id: 'c1', agent_id: 'crm', tool: 'get', input: {}, parent_call_id: 's1' },
    { type: 'subagent_start', call_id: 's2', agent_id: 'calc', query: '2+2' },
    { type: 'tool_start', call_id: 'c2', agent_id: 'calc', tool: 'add', input: {} },
    { type: 'text_delta', text: 'four', agent_id: 'calc' },
    { type: 'tool_end', call_id: 'c2', agent_id: 'calc', tool: 'add', is_error: false, output: {}, ms: 1 },
    { type: 'subagent_end', call_id: 's2', agent_id: 'calc', is_error: false, ms: 5, text: 'four' },
    { type: 'text_delta', text: 'The answer' },
  ]);
  assert.deepEqual(t.steps.map((s) => s.callId), ['s1', 's2']);
  assert.deepEqual(t.steps[0].steps.map((s) => s.callId), ['c1']);
  assert.deepEqual(t.steps[1].steps.map((s) => s.callId), ['c2']);
  assert.equal(t.steps[1].text, 'four');
  assert.equal(t.steps[1].status, 'done');
  assert.equal(t.text, 'The answer');
});

test('events already applied (a resumed stream) are skipped by seq', () => {
  const t = newTurn();
  applyEvent(t, { seq: 1, type: 'text_delta', text: 'a' });
  applyEvent(t, { seq: 2, type: 'text_delta', text: 'b' });
  applyEvent(t, { seq: 2, type: 'text_delta', text: 'b' });
  applyEvent(t, { seq: 1, type: 'text_delta', text: 'a' });
  applyEvent(t, { seq: 3, type: 'text_delta', text: 'c' });
  assert.equal(t.text, 'abc');
  assert.equal(t.lastSeq, 3);
});

test('an error ends the turn; cancelled is its own state; running steps are interrupted', () => {
  const t = play([
    { type: 'tool_start', call_id: 'c1', agent_id: 'a', tool: 'slow', input: {} },
    { type: 'error', code: 'cancelled', message: 'stopped by the user' },
  ]);
  assert.equal(t.status, 'cancelled');
  assert.deepEqual(t.error, { code: 'cancelled', message: 'stopped by the user' });
  assert.equal(t.steps[0].status, 'interrupted');
  assert.equal(play([{ type: 'error', code: 'model_error', message: 'x' }]).status, 'error');
});

test('structured data and usage are kept; an unknown event type is ignored', () => {
  const t = play([
    { type: 'structured_data', responseType: 'table', data: [{ a: 1 }] },
    { type: 'usage', input_tokens: 5, output_tokens: 7 },
    { type: 'something_new', x: 1 },
  ]);
  assert.deepEqual(t.structured, [{ responseType: 'table', data: [{ a: 1 }] }]);
  assert.deepEqual(t.usage, { input: 5, output: 7 });
});

test('a stored message: its events replayed, its own text and status where the events lack them', () => {
  const t = turnFromMessage({
    role: 'assistant', status: 'interrupted', text: 'partial answer',
    events: [{ seq: 4, type: 'tool_start', call_id: 'c', agent_id: 'a', tool: 'x', input: {} }],
  });
  assert.equal(t.status, 'interrupted');
  assert.equal(t.text, 'partial answer');
  assert.equal(t.steps[0].status, 'interrupted');
  assert.equal(t.lastSeq, 4);
  const running = turnFromMessage({ role: 'assistant', status: 'running', text: '', events: [{ seq: 9, type: 'turn_start' }] });
  assert.equal(running.status, 'running');
  const withStructured = turnFromMessage({ status: 'complete', text: 't', events: [], structured: { responseType: 'plotData', data: {} } });
  assert.equal(withStructured.structured.length, 1);
});

test('tool_progress keeps the last task status and message of its running tool step', () => {
  const t = play([
    { type: 'tool_start', call_id: 'c1', agent_id: 'docs', tool: 'summarize_document', input: { text: 'x' } },
    { type: 'tool_progress', call_id: 'c1', agent_id: 'docs', tool: 'summarize_document', task_id: 'tk-1', status: 'working', message: '' },
    { type: 'tool_progress', call_id: 'c1', agent_id: 'docs', tool: 'summarize_document', task_id: 'tk-1', status: 'working', message: 'read 40%' },
    { type: 'tool_progress', call_id: 'nope', agent_id: 'docs', tool: 'summarize_document', task_id: 'tk-2', status: 'working' },
  ]);
  assert.deepEqual(t.steps[0].task, { id: 'tk-1', status: 'working', message: 'read 40%' });
  assert.equal(t.steps.length, 1);
  assert.equal(t.steps[0].status, 'running');
  applyEvent(t, { seq: 5, type: 'tool_end', call_id: 'c1', agent_id: 'docs', tool: 'summarize_document', is_error: false, output: {}, ms: 20000 });
  assert.equal(t.steps[0].status, 'done');
});
