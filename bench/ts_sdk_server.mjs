// Reference peer for bench/server_throughput: the official TypeScript MCP SDK (1.32.2) serving
// the same `add` tool as our fixture server, stateful (one StreamableHTTPServerTransport per
// session, session ids from randomUUID) with plain JSON responses (enableJsonResponse: true),
// on plain node:http. Binds 127.0.0.1 only.
//
// Usage: node bench/ts_sdk_server.mjs [PORT]        (or PORT=... in the environment; 0 = any)
// Prints `listening on http://127.0.0.1:PORT/mcp` as its first stdout line.
//
// The SDK and zod are not installed next to this file but into the npm project that
// scripts/install-deps.sh fills: $IDP_PEERS_DIR/peers, where IDP_PEERS_DIR (relative = to
// the repo root) defaults to <repo>/build/peers, as for tests/interop/*.sh. ES-module
// resolution ignores NODE_PATH, so the packages are loaded with a require() anchored in that
// folder (the SDK's CommonJS build then loads the same CommonJS zod we use here).
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const peersRoot = path.resolve(repo, process.env.IDP_PEERS_DIR || path.join('build', 'peers'));
const require = createRequire(path.join(peersRoot, 'peers', 'package.json'));

const { McpServer } = require('@modelcontextprotocol/sdk/server/mcp.js');
const { StreamableHTTPServerTransport } = require('@modelcontextprotocol/sdk/server/streamableHttp.js');
const { isInitializeRequest } = require('@modelcontextprotocol/sdk/types.js');
const z = require('zod/v4');

const port = Number(process.argv[2] ?? process.env.PORT ?? 0);
const MAX_BODY = 4 * 1024 * 1024;

function newMcpServer() {
  const server = new McpServer({ name: 'ts-sdk-bench-server', version: '1.0.0' });
  server.registerTool(
    'add',
    {
      description: 'Adds two numbers',
      // additionalProperties: false, like our fixture's schema
      inputSchema: z.object({ a: z.number(), b: z.number() }).strict(),
      // no additionalProperties here, like our fixture's output schema
      outputSchema: z.looseObject({ sum: z.number() }),
    },
    async ({ a, b }) => {
      const sum = a + b;
      return { content: [{ type: 'text', text: String(sum) }], structuredContent: { sum } };
    },
  );
  return server;
}

/** session id -> transport */
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

async function handle(req, res) {
  const url = new URL(req.url, 'http://127.0.0.1');
  if (url.pathname !== '/mcp') return sendJsonError(res, 404, -32000, 'Not found');

  const sessionId = req.headers['mcp-session-id'];
  const existing = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;

  if (req.method !== 'POST') {
    // GET (standalone SSE stream) and DELETE (end session) go to the session's transport.
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
    enableJsonResponse: true,
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

const httpServer = createServer((req, res) => {
  handle(req, res).catch((err) => {
    console.error('request failed:', err);
    if (!res.headersSent) sendJsonError(res, 500, -32603, 'Internal error');
    else res.end();
  });
});
httpServer.keepAliveTimeout = 60_000;

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
