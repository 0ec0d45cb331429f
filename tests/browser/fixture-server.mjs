// The MCP server behind the browser tests' agent: tools whose answers the UI must draw in each
// of its ways. Built on the official TypeScript SDK (@modelcontextprotocol/sdk, McpServer +
// StreamableHTTPServerTransport, stateful so notifications/cancelled reaches the running call),
// on node:http bound to 127.0.0.1 only. No authentication: the stack's secret names it with
// {"auth": {"type": "none"}}, which the service allows for loopback servers only.
//
//   node tests/browser/fixture-server.mjs [PORT]      (0, the default: any free port)
//
// Prints `listening on http://127.0.0.1:PORT/mcp` as its first stdout line.
//
// Tools:
//   echo_text {text}     text = the text, whole (the page must show it as text, never as HTML)
//   list_invoices        structuredContent {invoices: 23 rows} (a table: sorting and 3 pages)
//   monthly_sales        structuredContent {sales: {January: 12, ...}} (a labelled series: a chart)
//   slow_report          runs until cancelled (10 minutes at most): Stop must end it
//
// The SDK comes from the npm project scripts/install-deps.sh fills: $IDP_PEERS_DIR/peers
// (default <repo>/build/peers).
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const peersRoot = path.resolve(repo, process.env.IDP_PEERS_DIR || path.join('build', 'peers'));
const require = createRequire(path.join(peersRoot, 'peers', 'package.json'));
const { McpServer } = require('@modelcontextprotocol/sdk/server/mcp.js');
const { StreamableHTTPServerTransport } = require('@modelcontextprotocol/sdk/server/streamableHttp.js');
const { isInitializeRequest } = require('@modelcontextprotocol/sdk/types.js');
const z = require('zod/v4');

const port = Number(process.argv[2] ?? 0);
const MAX_BODY = 1024 * 1024;
// How long slow_report runs when nobody cancels it (the scale test shortens it).
const SLOW_LIMIT_MS = Number(process.env.FIXTURE_SLOW_LIMIT_MS || 10 * 60 * 1000);

const CLIENTS = ['Acme Corp', 'Globex', 'Initech', 'Umbrella', 'Hooli', 'Stark Industries', 'Wayne Enterprises'];
const INVOICES = Array.from({ length: 23 }, (_, i) => ({
  invoice: `INV-${String(1001 + i)}`,
  client: CLIENTS[(i * 5) % CLIENTS.length],
  amount: ((i * 7919) % 5000) + 100,
  due: `2026-${String((i % 12) + 1).padStart(2, '0')}-${String(((i * 3) % 27) + 1).padStart(2, '0')}`,
}));
const SALES = { January: 12, February: 19, March: 7, April: 15, May: 22, June: 18 };

function newServer() {
  const server = new McpServer({ name: 'idp-browser-fixture', version: '1.0.0' });
  server.registerTool(
    'echo_text',
    {
      description: 'Echo a text back exactly as given.',
      inputSchema: z.object({ text: z.string().max(100000) }),
    },
    async ({ text }) => ({ content: [{ type: 'text', text }] }),
  );
  server.registerTool(
    'list_invoices',
    { description: 'List the open invoices (invoice number, client, amount, due date).' },
    async () => ({
      content: [{ type: 'text', text: JSON.stringify({ invoices: INVOICES }) }],
      structuredContent: { invoices: INVOICES },
    }),
  );
  server.registerTool(
    'monthly_sales',
    { description: 'Monthly sales figures (units sold per month, January to June).' },
    async () => ({
      content: [{ type: 'text', text: JSON.stringify({ sales: SALES }) }],
      structuredContent: { sales: SALES },
    }),
  );
  server.registerTool(
    'slow_report',
    { description: 'Run the slow report; it keeps running until it is cancelled.' },
    async (extra) => {
      const cancelled = await new Promise((resolve) => {
        if (extra.signal.aborted) return resolve(true);
        const timer = setTimeout(() => resolve(false), SLOW_LIMIT_MS);
        extra.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve(true);
        }, { once: true });
      });
      console.error(`fixture-server: slow_report ${cancelled ? 'cancelled' : 'ran out'}`);
      return { content: [{ type: 'text', text: cancelled ? 'cancelled' : 'the report ran for 10 minutes' }] };
    },
  );
  return server;
}

function sendJsonError(res, status, code, message) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const c of req) {
    size += c.length;
    if (size > MAX_BODY) throw new Error('body over 1 MiB');
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const sessions = new Map();

async function handle(req, res) {
  const url = new URL(req.url, 'http://127.0.0.1');
  if (url.pathname !== '/mcp') return sendJsonError(res, 404, -32000, 'Not found');
  const sid = req.headers['mcp-session-id'];
  const existing = typeof sid === 'string' ? sessions.get(sid) : undefined;
  if (req.method !== 'POST') {
    if (existing) return existing.handleRequest(req, res);
    return sendJsonError(res, sid ? 404 : 400, -32000, sid ? 'Session not found' : 'Missing session id');
  }
  let parsed;
  try {
    parsed = JSON.parse(await readBody(req));
  } catch (e) {
    return sendJsonError(res, 400, -32700, `Parse error: ${e.message}`);
  }
  if (existing) return existing.handleRequest(req, res, parsed);
  if (sid) return sendJsonError(res, 404, -32001, 'Session not found');
  if (!isInitializeRequest(parsed)) return sendJsonError(res, 400, -32000, 'Bad Request: No valid session ID provided');
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    onsessioninitialized: (id) => sessions.set(id, transport),
  });
  transport.onclose = () => transport.sessionId && sessions.delete(transport.sessionId);
  await newServer().connect(transport);
  await transport.handleRequest(req, res, parsed);
}

const httpServer = createServer((req, res) => {
  handle(req, res).catch((err) => {
    console.error('fixture-server: request failed:', err);
    if (!res.headersSent) sendJsonError(res, 500, -32603, 'Internal error');
    else res.end();
  });
});
httpServer.listen(port, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${httpServer.address().port}/mcp`);
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    for (const t of sessions.values()) t.close().catch(() => {});
    httpServer.close();
    process.exit(0);
  });
}
