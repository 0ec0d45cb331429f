// Builds what the chat shows for one assistant turn from its events (docs/events.md): the
// answer text, the tool and sub-agent steps (nested under the sub-agent that made them), the
// structured data, and how the turn ended. The same code serves a live stream, a replay of a
// stored message and a resumed stream, so events already applied (by seq) are skipped.
// Nothing is cut: text and tool output stay whole.

export function newTurn() {
  return {
    status: 'running', // running | complete | error | cancelled | interrupted
    text: '', // the answer, streamed, replaced by final.text
    steps: [], // top-level steps in start order
    byCall: new Map(), // call_id -> step
    structured: [], // [{responseType, data}]
    error: null, // {code, message}
    lastSeq: 0,
    turnId: null,
    model: null,
    offline: false,
    usage: null,
    agentIds: [],
  };
}

function newStep(kind, ev) {
  return {
    kind, // tool | subagent
    callId: ev.call_id,
    agentId: ev.agent_id || '',
    tool: ev.tool || '',
    input: kind === 'tool' ? ev.input : ev.query,
    output: null,
    text: '', // a sub-agent's streamed words
    isError: false,
    errorCode: null,
    ms: null,
    status: 'running', // running | done | error
    task: null, // a tool run as an MCP task: {id, status, message} of its last tool_progress
    steps: [],
  };
}

// The running sub-agent step an event belongs to: named by parent_call_id, or else the one
// running sub-agent with the event's agent_id (for streams that do not name the parent).
function parentOf(turn, ev) {
  if (ev.parent_call_id) {
    const p = turn.byCall.get(ev.parent_call_id);
    if (p && p.kind === 'subagent') return p;
  }
  if (!ev.agent_id) return null;
  let found = null;
  for (const s of turn.byCall.values()) {
    if (s.kind === 'subagent' && s.status === 'running' && s.agentId === ev.agent_id) {
      if (found) return null; // two running sub-agents of one agent: ambiguous, keep it flat
      found = s;
    }
  }
  return found;
}

function attach(turn, step, ev) {
  const parent = parentOf(turn, ev);
  (parent ? parent.steps : turn.steps).push(step);
  turn.byCall.set(step.callId, step);
}

function endStep(step, ev) {
  step.isError = ev.is_error === true;
  step.errorCode = ev.error_code || null;
  step.ms = typeof ev.ms === 'number' ? ev.ms : null;
  step.status = step.isError ? 'error' : 'done';
}

// Applies one event; returns true when the turn changed.
export function applyEvent(turn, ev) {
  if (!ev || typeof ev !== 'object') return false;
  if (typeof ev.seq === 'number') {
    if (ev.seq <= turn.lastSeq) return false;
    turn.lastSeq = ev.seq;
  }
  switch (ev.type) {
    case 'turn_start':
      turn.turnId = ev.turn_id || turn.turnId;
      turn.model = ev.model || null;
      turn.offline = ev.offline === true;
      turn.agentIds = Array.isArray(ev.agent_ids) ? ev.agent_ids : [];
      turn.status = 'running';
      return true;
    case 'text_delta': {
      const text = typeof ev.text === 'string' ? ev.text : '';
      const parent = ev.agent_id || ev.parent_call_id ? parentOf(turn, ev) : null;
      if (parent) parent.text += text;
      else turn.text += text;
      return true;
    }
    case 'tool_start':
    case 'subagent_start': {
      const kind = ev.type === 'tool_start' ? 'tool' : 'subagent';
      const known = ev.call_id !== undefined && turn.byCall.get(ev.call_id);
      if (known) return false;
      attach(turn, newStep(kind, ev), ev);
      return true;
    }
    case 'tool_progress': {
      // A tool running as a task changed status (working, input_required, ...) or message.
      const step = turn.byCall.get(ev.call_id);
      if (!step || step.kind !== 'tool') return false;
      step.task = {
        id: typeof ev.task_id === 'string' ? ev.task_id : '',
        status: typeof ev.status === 'string' ? ev.status : '',
        message: typeof ev.message === 'string' ? ev.message : '',
      };
      return true;
    }
    case 'tool_end':
    case 'subagent_end': {
      let step = turn.byCall.get(ev.call_id);
      if (!step) {
        // An end without its start (a stream joined late): show it all the same.
        step = newStep(ev.type === 'tool_end' ? 'tool' : 'subagent', ev);
        attach(turn, step, ev);
      }
      if (ev.type === 'tool_end') {
        step.output = ev.output === undefined ? null : ev.output;
        if (ev.tool) step.tool = ev.tool;
      } else if (typeof ev.text === 'string' && ev.text && !step.text) {
        step.text = ev.text;
      }
      endStep(step, ev);
      return true;
    }
    case 'structured_data':
      turn.structured.push({ responseType: ev.responseType, data: ev.data });
      return true;
    case 'usage':
      turn.usage = { input: ev.input_tokens, output: ev.output_tokens };
      return true;
    case 'final':
      if (typeof ev.text === 'string' && ev.text !== '') turn.text = ev.text;
      turn.status = 'complete';
      finishRunningSteps(turn);
      return true;
    case 'error':
      turn.error = { code: ev.code || 'error', message: ev.message || 'the turn failed' };
      turn.status = ev.code === 'cancelled' ? 'cancelled' : 'error';
      finishRunningSteps(turn);
      return true;
    default:
      return false; // a newer event type: ignored, never fatal
  }
}

export function isTerminal(ev) {
  return ev && (ev.type === 'final' || ev.type === 'error');
}

// A turn from a stored assistant message (GET /api/chat/sessions/{id}): its events replayed,
// then the message's own text, status and structured data where the events lack them.
export function turnFromMessage(msg) {
  const turn = newTurn();
  for (const ev of msg.events || []) applyEvent(turn, ev);
  if (typeof msg.text === 'string' && msg.text.length > turn.text.length) turn.text = msg.text;
  if (msg.status && msg.status !== 'running') {
    if (turn.status === 'running') turn.status = msg.status;
  }
  if (msg.structured && msg.structured.responseType && turn.structured.length === 0 &&
      msg.structured.responseType !== 'text') {
    turn.structured.push({ responseType: msg.structured.responseType, data: msg.structured.data });
  }
  if (turn.status !== 'running') finishRunningSteps(turn);
  return turn;
}

// Marks steps still running as interrupted: the turn has ended without their end events.
export function finishRunningSteps(turn) {
  for (const s of turn.byCall.values()) if (s.status === 'running') s.status = 'interrupted';
}
