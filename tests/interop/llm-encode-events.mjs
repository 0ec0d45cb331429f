// Encodes a set of event-stream messages with the AWS SDK's own encoder (@smithy/eventstream-codec)
// for run-llm-bedrock.sh: a ConverseStream answer as Bedrock sends it (every event type, the "p"
// padding, reasoning with its signature, tool input in fragments), an exception and an error
// message, one message with every header value type, an empty one, a large one and one with
// non-ASCII text. Writes the frames, back to back, to FRAMES and one JSON line per message to
// EXPECTED, in the form tests/fixtures/eventstream_dump.cc prints:
//   {"headers":{"name":{"type":"string","value":...}},"payload_base64":"..."}
//   node llm-encode-events.mjs FRAMES EXPECTED
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const peers = path.resolve(repo, process.env.IDP_PEERS_DIR || path.join('build', 'peers'));
const require = createRequire(path.join(peers, 'peers-llm', 'package.json'));
const { EventStreamCodec, Int64 } = require('@smithy/eventstream-codec');

const [framesFile, expectedFile] = process.argv.slice(2);
if (!framesFile || !expectedFile) {
  process.stderr.write('usage: node llm-encode-events.mjs FRAMES EXPECTED\n');
  process.exit(2);
}
const codec = new EventStreamCodec((b) => new TextDecoder().decode(b), (s) => new TextEncoder().encode(s));
const json = (o) => new TextEncoder().encode(JSON.stringify(o));
const str = (value) => ({ type: 'string', value });
const event = (type, payload) => ({
  headers: { ':event-type': str(type), ':content-type': str('application/json'), ':message-type': str('event') },
  body: json({ ...payload, p: 'abcdefghijklmnopqrstuvwxyzABCDEF'.slice(0, 1 + (type.length % 30)) }),
});

const messages = [
  event('messageStart', { role: 'assistant' }),
  event('contentBlockDelta', { contentBlockIndex: 0, delta: { reasoningContent: { text: 'The user asks about Paris.' } } }),
  event('contentBlockDelta', { contentBlockIndex: 0, delta: { reasoningContent: { signature: 'EqQBCkYIARgCIkD' } } }),
  event('contentBlockStop', { contentBlockIndex: 0 }),
  event('contentBlockDelta', { contentBlockIndex: 1, delta: { text: 'Let me check the weather in Paris, ' } }),
  event('contentBlockDelta', { contentBlockIndex: 1, delta: { text: 'Île-de-France — 🌦' } }),
  event('contentBlockStop', { contentBlockIndex: 1 }),
  event('contentBlockStart', { contentBlockIndex: 2, start: { toolUse: { toolUseId: 'tooluse_kZJMlvQmRJ6eAyJE5GIl7Q', name: 'get_weather' } } }),
  event('contentBlockDelta', { contentBlockIndex: 2, delta: { toolUse: { input: '{"city": "Pa' } } }),
  event('contentBlockDelta', { contentBlockIndex: 2, delta: { toolUse: { input: 'ris", "days": 3}' } } }),
  event('contentBlockStop', { contentBlockIndex: 2 }),
  event('messageStop', { stopReason: 'tool_use' }),
  event('metadata', { usage: { inputTokens: 421, outputTokens: 97, totalTokens: 518 }, metrics: { latencyMs: 1832 } }),
  {
    headers: { ':exception-type': str('throttlingException'), ':content-type': str('application/json'), ':message-type': str('exception') },
    body: json({ message: 'Too many requests, please wait before trying again.' }),
  },
  {
    headers: { ':error-code': str('InternalFailure'), ':error-message': str('An internal error occurred.'), ':message-type': str('error') },
    body: new Uint8Array(0),
  },
  {
    headers: {
      yes: { type: 'boolean', value: true },
      no: { type: 'boolean', value: false },
      tiny: { type: 'byte', value: -7 },
      small: { type: 'short', value: -12345 },
      medium: { type: 'integer', value: 2147483647 },
      large: { type: 'long', value: Int64.fromNumber(-9007199254740991) },
      blob: { type: 'binary', value: Uint8Array.from([0, 1, 2, 253, 254, 255]) },
      text: { type: 'string', value: 'héllo wörld' },
      when: { type: 'timestamp', value: new Date(1764892800123) },
      id: { type: 'uuid', value: '3a9f1c2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b' },
    },
    body: Uint8Array.from([0, 255, 10, 13]),
  },
  { headers: {}, body: new Uint8Array(0) },
  event('contentBlockDelta', { contentBlockIndex: 3, delta: { text: 'x'.repeat(200000) } }),
];

const frames = [];
const expected = [];
for (const m of messages) {
  frames.push(Buffer.from(codec.encode(m)));
  const headers = {};
  for (const [name, h] of Object.entries(m.headers)) {
    let value = h.value;
    if (h.type === 'long') value = h.value.toString();
    if (h.type === 'binary') value = Buffer.from(h.value).toString('base64');
    if (h.type === 'timestamp') value = h.value.getTime();
    headers[name] = { type: h.type, value };
  }
  expected.push(JSON.stringify({ headers, payload_base64: Buffer.from(m.body).toString('base64') }));
}
fs.writeFileSync(framesFile, Buffer.concat(frames));
fs.writeFileSync(expectedFile, expected.join('\n') + '\n');
