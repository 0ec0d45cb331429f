// One chat session as the chat view shows it: its messages, the running turn's live events,
// Stop, and following a turn that is still running (after a reload, or when the stream drops).
// Components read its fields and re-render on onChange; they never touch the stream.
import { readEvents } from './sse.js';
import { applyEvent, isTerminal, newTurn, turnFromMessage, finishRunningSteps } from './turn.js';

// Attempts to pick a dropped stream up again with GET .../events?after=N before giving up.
const RESUME_ATTEMPTS = 5;

let keys = 0;
const nextKey = () => 'm' + ++keys;

export class Conversation {
  // api: an Api (lib/api.js); onChange(): called after every visible change;
  // wait(ms): the pause between resume attempts (injectable for tests).
  constructor(api, onChange, { wait = (ms) => new Promise((r) => setTimeout(r, ms)) } = {}) {
    this.api = api;
    this.onChange = onChange;
    this.wait = wait;
    this.sessionId = null;
    this.title = '';
    this.agentIds = [];
    this.messages = [];
    this.running = false;
    this.loading = false;
    this.error = null; // an ApiError or Error the view shows
    this.controller = null; // aborts the running stream
    this.disposed = false;
  }

  changed() {
    if (!this.disposed) this.onChange();
  }

  dispose() {
    this.disposed = true;
    if (this.controller) this.controller.abort();
  }

  // Loads a stored session; follows its last turn when that is still running.
  async open(sessionId) {
    this.loading = true;
    this.error = null;
    this.changed();
    try {
      const s = await this.api.session(sessionId);
      if (this.disposed) return;
      this.sessionId = s.session_id;
      this.title = s.title || '';
      this.agentIds = s.agent_ids || [];
      this.messages = (s.messages || []).map((m) =>
        m.role === 'assistant'
          ? { key: m.message_id || nextKey(), role: 'assistant', turn: turnFromMessage(m), running: m.status === 'running' }
          : { key: m.message_id || nextKey(), role: 'user', text: m.text || '' });
      this.loading = false;
      this.changed();
      const last = this.messages[this.messages.length - 1];
      if (last && last.role === 'assistant' && last.running) {
        last.running = false;
        await this.follow(last.turn);
      }
    } catch (e) {
      this.loading = false;
      this.error = e;
      this.changed();
    }
  }

  // Sends a message (creating the session first when there is none) and streams the answer.
  async send(text, agentIds) {
    if (this.running) return;
    this.error = null;
    const turn = newTurn();
    this.messages.push({ key: nextKey(), role: 'user', text });
    this.messages.push({ key: nextKey(), role: 'assistant', turn });
    this.running = true;
    this.changed();
    this.controller = new AbortController();
    try {
      if (!this.sessionId) {
        const s = await this.api.createSession(agentIds);
        this.sessionId = s.session_id;
        this.title = s.title || text;
        this.agentIds = s.agent_ids || agentIds;
        this.changed();
      }
      const res = await this.api.postMessage(this.sessionId, text, agentIds, this.controller.signal);
      let ended = false;
      try {
        ended = await this.consume(res, turn);
      } catch (e) {
        if (e && e.name === 'AbortError') throw e;
        // The connection dropped mid-turn: the turn goes on at the service; pick it up below.
      }
      if (!ended) await this.resume(turn);
    } catch (e) {
      this.fail(turn, e);
    } finally {
      this.running = false;
      this.controller = null;
      this.changed();
    }
  }

  // Asks the service to cancel the running turn; the stream then ends with error "cancelled".
  async stop() {
    if (!this.running) return;
    if (!this.sessionId) {
      if (this.controller) this.controller.abort();
      return;
    }
    try {
      await this.api.cancel(this.sessionId);
    } catch (e) {
      // The service could not be asked: stop reading at least.
      this.error = e;
      if (this.controller) this.controller.abort();
      this.changed();
    }
  }

  // Follows a running turn from its last seen event to its end.
  async follow(turn) {
    this.running = true;
    this.controller = new AbortController();
    this.changed();
    try {
      await this.resume(turn);
    } finally {
      this.running = false;
      this.controller = null;
      this.changed();
    }
  }

  // Reconnects until the turn ends. A stream that brought new events resets the count of
  // failures, so a connection that keeps dropping but keeps delivering is followed to the end.
  async resume(turn) {
    let lastError = null;
    let failures = 0;
    while (failures < RESUME_ATTEMPTS && !this.disposed) {
      if (failures > 0) await this.wait(500 * failures);
      const seen = turn.lastSeq;
      try {
        const res = await this.api.followEvents(this.sessionId, turn.lastSeq, this.controller.signal);
        if (await this.consume(res, turn)) return;
        lastError = null;
      } catch (e) {
        if (e && e.name === 'AbortError') return this.fail(turn, e);
        if (e && e.status >= 400 && e.status < 500) return this.fail(turn, e);
        lastError = e;
      }
      failures = turn.lastSeq > seen ? 0 : failures + 1;
    }
    this.fail(turn, lastError || new Error('the connection to the service was lost before the answer ended'));
  }

  // Applies the events of one stream; true when the turn ended in it.
  async consume(response, turn) {
    for await (const e of readEvents(response.body)) {
      let ev;
      try {
        ev = JSON.parse(e.data);
      } catch {
        continue; // not an event of ours; the stream goes on
      }
      if (applyEvent(turn, ev)) this.changed();
      if (isTerminal(ev)) return true;
    }
    return false;
  }

  fail(turn, e) {
    if (turn.status !== 'running') return;
    const aborted = e && e.name === 'AbortError';
    turn.status = aborted ? 'cancelled' : 'interrupted';
    turn.error = {
      code: aborted ? 'cancelled' : e && e.code ? e.code : 'interrupted',
      message: aborted ? 'stopped' : (e && e.message) || 'the answer was interrupted',
    };
    finishRunningSteps(turn);
    this.changed();
  }
}
