// Interop peer for our MCP client: an MCP server built on the official TypeScript SDK
// (@modelcontextprotocol/sdk 1.32.2, McpServer + StreamableHTTPServerTransport) on plain
// node:http, bound to 127.0.0.1 only.
//
//   node tests/interop/ts-server.mjs [PORT] [--stateless] [--json]
//
//   PORT         0 (default) picks a free port
//   --stateless  no sessions (sessionIdGenerator undefined): a fresh server and transport per POST;
//                GET and DELETE answer 405
//   --json       enableJsonResponse: requests are answered with one application/json body
//                (otherwise with an SSE stream)
//
// Prints `listening on http://127.0.0.1:PORT/mcp` as its first stdout line; diagnostics go to stderr.
//
// Tools:
//   echo {message}   text = message
//   add {a, b}       text = String(a + b), structuredContent {sum}
//   progress         3 notifications/progress 50 ms apart (only when the call has a progressToken)
//   log              2 notifications/message (level info)
//   slow {ms}        sleeps ms milliseconds (default 5000); honours the abort signal
//   t00 .. t29       filler, so the listing is long
//
// Where notifications can travel: with SSE responses they go on the request's own stream. In
// --json mode the SDK drops notifications that belong to a request (a JSON body holds only the
// response), so `log` sends its messages on the session's standalone GET stream instead (stateful
// --json); in stateless --json mode neither progress nor logs can reach the client.
//
// The SDK and zod are loaded from the npm project scripts/install-deps.sh fills:
// $IDP_PEERS_DIR/peers (relative = to the repo root; default <repo>/build/peers). It is also
// the TS SDK server of bench/server_throughput (with --json).
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
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
// (The package's exports map hides its package.json, so it is read from the file.)
const sdkVersion = JSON.parse(
  readFileSync(path.join(peersRoot, 'peers', 'node_modules', '@modelcontextprotocol', 'sdk', 'package.json'), 'utf8'),
).version;
const z = require('zod/v4');

const args = process.argv.slice(2);
const stateless = args.includes('--stateless');
const jsonResponses = args.includes('--json');
const unknown = args.filter((a) => a.startsWith('--') && a !== '--stateless' && a !== '--json');
if (unknown.length) {
  console.error(`ts-server.mjs: unknown option(s) ${unknown.join(' ')}`);
  console.error('usage: node ts-server.mjs [PORT] [--stateless] [--json]');
  process.exit(2);
}
const port = Number(args.find((a) => /^\d+$/.test(a)) ?? process.env.PORT ?? 0);
const MAX_BODY = 4 * 1024 * 1024;
const mode = `${stateless ? 'stateless' : 'stateful'}, ${jsonResponses ? 'json' : 'sse'} responses`;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function newMcpServer() {
  const server = new McpServer(
    { name: 'idp-interop-ts-server', version: sdkVersion },
    { capabilities: { logging: {} } },
  );
  server.registerTool(
    'echo',
    { description: 'Echoes the message', inputSchema: z.object({ message: z.string() }) },
    async ({ message }) => ({ content: [{ type: 'text', text: message }] }),
  );
  server.registerTool(
    'add',
    {
      title: 'Add',
      description: 'Adds two numbers',
      inputSchema: z.object({ a: z.number(), b: z.number() }),
      outputSchema: z.object({ sum: z.number() }),
    },
    async ({ a, b }) => {
      const sum = a + b;
      return { content: [{ type: 'text', text: String(sum) }], structuredContent: { sum } };
    },
  );
  server.registerTool(
    'progress',
    { description: 'Reports progress 1, 2, 3 of 3, 50 ms apart (when the call has a progressToken)' },
    async (extra) => {
      const progressToken = extra._meta?.progressToken;
      let sent = 0;
      if (progressToken !== undefined) {
        for (let i = 1; i <= 3; i++) {
          await extra.sendNotification({
            method: 'notifications/progress',
            params: { progressToken, progress: i, total: 3, message: `step ${i} of 3` },
          });
          sent++;
          if (i < 3) await sleep(50);
        }
      }
      return { content: [{ type: 'text', text: `sent ${sent} progress notifications` }] };
    },
  );
  server.registerTool(
    'log',
    { description: 'Sends two log messages (notifications/message, level info)' },
    async (extra) => {
      for (let i = 1; i <= 2; i++) {
        const params = { level: 'info', logger: 'ts-server', data: `log message ${i} of 2` };
        if (jsonResponses && !stateless) {
          // JSON responses carry no notifications: use the standalone GET stream.
          await server.sendLoggingMessage(params, extra.sessionId);
        } else {
          await extra.sendNotification({ method: 'notifications/message', params });
        }
        if (i < 2) await sleep(20);
      }
      return { content: [{ type: 'text', text: 'sent 2 log messages' }] };
    },
  );
  server.registerTool(
    'slow',
    {
      description: 'Sleeps for ms milliseconds (default 5000); stops when the call is cancelled',
      inputSchema: z.object({ ms: z.number().int().min(0).max(600000).optional() }),
    },
    async ({ ms = 5000 }, extra) => {
      const t0 = Date.now();
      const aborted = await new Promise((resolve) => {
        if (extra.signal.aborted) return resolve(true);
        const timer = setTimeout(() => resolve(false), ms);
        extra.signal.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            resolve(true);
          },
          { once: true },
        );
      });
      if (aborted) {
        console.error(`ts-server: slow (request ${extra.requestId}) aborted after ${Date.now() - t0} ms`);
        return { content: [{ type: 'text', text: 'cancelled' }], isError: true };
      }
      return { content: [{ type: 'text', text: `slept ${ms} ms` }] };
    },
  );
  for (let i = 0; i < 30; i++) {
    const name = `t${String(i).padStart(2, '0')}`;
    server.registerTool(name, { description: `Filler tool ${name}` }, async () => ({
      content: [{ type: 'text', text: name }],
    }));
  }
  return server;
}

/** session id -> transport (stateful mode) */
const sessions = new Map();

function sendJsonError(res, status, code, message) {
  const body = JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null });
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function handleStateless(req, res) {
  if (req.method !== 'POST') {
    res.writeHead(405, { Allow: 'POST', 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed (stateless server)' }, id: null }));
    return;
  }
  let parsed;
  try {
    parsed = JSON.parse(await readBody(req));
  } catch {
    return sendJsonError(res, 400, -32700, 'Parse error');
  }
  const server = newMcpServer();
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: undefined,
    enableJsonResponse: jsonResponses,
  });
  res.on('close', () => {
    transport.close().catch(() => {});
    server.close().catch(() => {});
  });
  await server.connect(transport);
  await transport.handleRequest(req, res, parsed);
}

async function handleStateful(req, res) {
  const sessionId = req.headers['mcp-session-id'];
  const existing = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;

  if (req.method !== 'POST') {
    // GET (standalone SSE stream) and DELETE (end the session) go to the session's transport.
    if (existing) return existing.handleRequest(req, res);
    return sendJsonError(res, sessionId ? 404 : 400, -32000, sessionId ? 'Session not found' : 'Missing session id');
  }

  let parsed;
  try {
    parsed = JSON.parse(await readBody(req));
  } catch {
    return sendJsonError(res, 400, -32700, 'Parse error');
  }
  if (existing) return existing.handleRequest(req, res, parsed);
  if (sessionId) return sendJsonError(res, 404, -32001, 'Session not found');
  if (!isInitializeRequest(parsed)) {
    return sendJsonError(res, 400, -32000, 'Bad Request: No valid session ID provided');
  }
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    enableJsonResponse: jsonResponses,
    onsessioninitialized: (sid) => {
      sessions.set(sid, transport);
    },
  });
  transport.onclose = () => {
    if (transport.sessionId) sessions.delete(transport.sessionId);
  };
  await newMcpServer().connect(transport);
  await transport.handleRequest(req, res, parsed);
}

async function handle(req, res) {
  const url = new URL(req.url, 'http://127.0.0.1');
  if (url.pathname !== '/mcp') return sendJsonError(res, 404, -32000, 'Not found');
  return stateless ? handleStateless(req, res) : handleStateful(req, res);
}

const httpServer = createServer((req, res) => {
  handle(req, res).catch((err) => {
    console.error('ts-server: request failed:', err);
    if (!res.headersSent) sendJsonError(res, 500, -32603, 'Internal error');
    else res.end();
  });
});

httpServer.listen(port, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${httpServer.address().port}/mcp`);
  console.error(`ts-server: @modelcontextprotocol/sdk ${sdkVersion}, node ${process.version}, ${mode}`);
});

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    for (const t of sessions.values()) t.close().catch(() => {});
    httpServer.close();
    process.exit(0);
  });
}
