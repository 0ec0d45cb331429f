// Interop peer for our MCP server in both protocol eras: the official TypeScript SDK v2 client
// (@modelcontextprotocol/client 2.4.0, StreamableHTTPClientTransport) connects to URL with
// version negotiation pinned to 2026-07-28 (`modern`: server/discover, no session) or left at
// the SDK's `legacy` mode (initialize, 2025-11-25 session), lists the tools and calls `add`.
//
//   node tests/interop/ts2-client.mjs URL modern|legacy
//
// Prints one line per check ("ok ..." / "FAIL ...") and exits 1 when one failed. The SDK comes
// from $IDP_PEERS_DIR/peers-v2 (scripts/install-deps.sh).
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const peersRoot = path.resolve(repo, process.env.IDP_PEERS_DIR || path.join('build', 'peers'));
const peerRequire = createRequire(path.join(peersRoot, 'peers-v2', 'package.json'));
const { Client, StreamableHTTPClientTransport } = await import(peerRequire.resolve('@modelcontextprotocol/client'));

const [url, era] = process.argv.slice(2);
if (!url || !['modern', 'legacy'].includes(era)) {
  console.error('usage: node ts2-client.mjs URL modern|legacy');
  process.exit(2);
}
let failed = 0;
const check = (cond, what, detail) => {
  console.log(`${cond ? 'ok' : 'FAIL'} [${era}] ${what}${cond || detail === undefined ? '' : `: ${detail}`}`);
  if (!cond) failed++;
};

const client = new Client({ name: 'ts2-interop-client', version: '2.4.0' },
  { versionNegotiation: { mode: era === 'modern' ? { pin: '2026-07-28' } : 'legacy' } });
const transport = new StreamableHTTPClientTransport(new URL(url));
try {
  await client.connect(transport);
  const version = client.getNegotiatedProtocolVersion();
  check(era === 'modern' ? version === '2026-07-28' : version === '2025-11-25', `negotiated ${version}`, version);
  check(era === 'modern' ? transport.sessionId === undefined : typeof transport.sessionId === 'string',
    era === 'modern' ? 'no session id (stateless)' : 'a session id', String(transport.sessionId));
  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name);
  check(names.includes('add') && names.includes('test_simple_text'), `tools/list: ${tools.length} tools`, names.join(','));
  const sum = await client.callTool({ name: 'add', arguments: { a: 2, b: 40 } });
  check(sum.content?.[0]?.text === '42' && sum.structuredContent?.sum === 42, 'tools/call add 2 + 40 = 42', JSON.stringify(sum));
  const bad = await client.callTool({ name: 'add', arguments: { a: 'two', b: 40 } });
  check(bad.isError === true, 'tools/call with a wrong argument type is isError', JSON.stringify(bad));
  await client.close();
} catch (e) {
  check(false, 'the session', e?.stack ?? String(e));
}
process.exit(failed ? 1 : 0);
