// Reads a text/event-stream response body (the chat's POST answer and the follow stream) as
// events. EventSource cannot POST or send an Authorization header, so the chat reads the fetch
// response body itself. Follows the WHATWG parsing rules: lines end with CRLF, LF or CR; a
// blank line dispatches; "data" lines join with "\n"; lines starting with ":" are comments
// (the service's keep-alives); a field without a colon has an empty value.

// Yields {id, event, data} for each dispatched event. `id` is the last id seen (as the spec's
// "last event ID"), `event` defaults to "message". Data is never cut, however long.
export async function* readEvents(body) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let data = [];
  let event = '';
  let lastId = '';
  let sawData = false;
  // A CR at the very end of the buffer may be the first half of a CRLF split across chunks.
  let pendingCr = false;
  let finished = false;

  const takeLine = (line) => {
    if (line === '') {
      if (sawData) {
        const out = { id: lastId, event: event || 'message', data: data.join('\n') };
        data = [];
        event = '';
        sawData = false;
        return out;
      }
      event = '';
      return null;
    }
    if (line.startsWith(':')) return null;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') {
      data.push(value);
      sawData = true;
    } else if (field === 'event') {
      event = value;
    } else if (field === 'id') {
      if (!value.includes('\0')) lastId = value;
    }
    return null;
  };

  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        finished = true;
        break;
      }
      let text = decoder.decode(value, { stream: true });
      if (pendingCr) {
        pendingCr = false;
        if (text.startsWith('\n')) text = text.slice(1);
      }
      buffer += text;
      let start = 0;
      for (let i = 0; i < buffer.length; i++) {
        const c = buffer[i];
        if (c !== '\n' && c !== '\r') continue;
        const out = takeLine(buffer.slice(start, i));
        if (c === '\r') {
          if (i + 1 < buffer.length) {
            if (buffer[i + 1] === '\n') i++;
          } else {
            pendingCr = true;
          }
        }
        start = i + 1;
        if (out) yield out;
      }
      buffer = buffer.slice(start);
    }
    // The stream ended; an event without its blank line is discarded, as the spec says.
  } finally {
    // The consumer stopped early (or reading failed): close the connection rather than leave it.
    if (!finished) reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}
