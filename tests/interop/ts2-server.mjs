// Interop peer for our MCP client in both protocol eras: an MCP server built on the official
// TypeScript SDK v2 (@modelcontextprotocol/server 2.4.0 createMcpHandler + @modelcontextprotocol/node
// toNodeHandler) on plain node:http, bound to 127.0.0.1 only. One endpoint serves both eras:
// 2026-07-28 (server/discover, per-request _meta, Mcp-Method/Mcp-Name headers, MRTR) and the
// 2025 era through the SDK's stateless legacy fallback (initialize on every POST, no session).
//
//   node tests/interop/ts2-server.mjs [PORT]
//
// Prints `listening on http://127.0.0.1:PORT/mcp` as its first stdout line. Every POST is logged
// to stderr as one line, so the driving script can tell which era each request used:
//   request method=<json-rpc method> era=<modern|legacy> version=<MCP-Protocol-Version header or ->
//           mcp-method=<Mcp-Method header or -> mcp-name=<Mcp-Name header or -> params=<keys>
//
// Tools:
//   echo {message}          text = message
//   add {a, b}              text = String(a + b), structuredContent {sum}
//   confirm_add {a, b}      asks "confirm" (elicitation, MRTR in the modern era); text
//                           "confirmed: <sum>" or "not confirmed"
//   two_step                two rounds: elicits "name", then (with requestState) samples a
//                           greeting; text "<name>: <sampled text>" (modern era only)
//   region {region, query}  region carries x-mcp-header "Region": the SDK checks the client's
//                           Mcp-Param-Region header against the body; text "region=<region>"
//
// The SDK is loaded from the npm project scripts/install-deps.sh fills:
// $IDP_PEERS_DIR/peers-v2 (relative = to the repo root; default <repo>/build/peers).
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const peersRoot = path.resolve(repo, process.env.IDP_PEERS_DIR || path.join('build', 'peers'));
const peerRequire = createRequire(path.join(peersRoot, 'peers-v2', 'package.json'));
const importPeer = async (name) => import(peerRequire.resolve(name));

const { McpServer, createMcpHandler, fromJsonSchema, inputRequired, acceptedContent, inputResponse } =
  await importPeer('@modelcontextprotocol/server');
const { toNodeHandler, localhostHostValidation } = await importPeer('@modelcontextprotocol/node');

const args = process.argv.slice(2);
const unknown = args.filter((a) => !/^\d+$/.test(a));
if (unknown.length) {
  console.error(`ts2-server.mjs: unknown argument(s) ${unknown.join(' ')}`);
  console.error('usage: node ts2-server.mjs [PORT]');
  process.exit(2);
}
const port = Number(args[0] ?? process.env.PORT ?? 0);

const object = (properties, required = []) => fromJsonSchema({ type: 'object', properties, required });
const text = (t, extra = {}) => ({ content: [{ type: 'text', text: t }], ...extra });

function makeServer() {
  const server = new McpServer({ name: 'ts2-interop-server', version: '2.4.0' });
  server.registerTool(
    'echo',
    { description: 'Echoes the message', inputSchema: object({ message: { type: 'string' } }, ['message']) },
    async ({ message }) => text(message),
  );
  server.registerTool(
    'add',
    { description: 'Adds two numbers', inputSchema: object({ a: { type: 'number' }, b: { type: 'number' } }, ['a', 'b']) },
    async ({ a, b }) => text(String(a + b), { structuredContent: { sum: a + b } }),
  );
  server.registerTool(
    'confirm_add',
    {
      description: 'Adds two numbers after the user confirms (elicitation)',
      inputSchema: object({ a: { type: 'number' }, b: { type: 'number' } }, ['a', 'b']),
    },
    async ({ a, b }, ctx) => {
      const view = inputResponse(ctx.mcpReq.inputResponses, 'confirm');
      if (view.kind === 'missing') {
        return inputRequired({
          inputRequests: {
            confirm: inputRequired.elicit({
              message: `Add ${a} and ${b}?`,
              requestedSchema: { type: 'object', properties: { ok: { type: 'boolean', default: true } } },
            }),
          },
        });
      }
      const content = acceptedContent(ctx.mcpReq.inputResponses, 'confirm');
      return text(content && content.ok === true ? `confirmed: ${a + b}` : 'not confirmed');
    },
  );
  server.registerTool(
    'two_step',
    { description: 'Asks a name, then samples a greeting (two MRTR rounds)', inputSchema: object({}) },
    async (_args, ctx) => {
      const state = ctx.mcpReq.requestState();
      if (state === undefined) {
        const name = acceptedContent(ctx.mcpReq.inputResponses, 'name');
        if (!name || typeof name.name !== 'string') {
          return inputRequired({
            inputRequests: {
              name: inputRequired.elicit({
                message: 'Your name?',
                requestedSchema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
              }),
            },
          });
        }
        return inputRequired({
          inputRequests: {
            greeting: inputRequired.createMessage({
              messages: [{ role: 'user', content: { type: 'text', text: `Greet ${name.name}` } }],
              maxTokens: 50,
            }),
          },
          requestState: JSON.stringify({ name: name.name }),
        });
      }
      const { name } = JSON.parse(state);
      const sampled = inputResponse(ctx.mcpReq.inputResponses, 'greeting');
      if (sampled.kind !== 'sampling') return text(`${name}: no sample`, { isError: true });
      const c = sampled.result.content;
      return text(`${name}: ${Array.isArray(c) ? c.map((x) => x.text).join('') : c.text}`);
    },
  );
  server.registerTool(
    'region',
    {
      description: 'Region is mirrored into the Mcp-Param-Region header',
      inputSchema: object({ region: { type: 'string', 'x-mcp-header': 'Region' }, query: { type: 'string' } }, ['region']),
    },
    async ({ region }) => text(`region=${region}`),
  );
  return server;
}

const handler = toNodeHandler(createMcpHandler(() => makeServer(), { onerror: (e) => console.error(`onerror: ${e.message}`) }));
const validateHost = localhostHostValidation();

const httpServer = createServer((req, res) => {
  if (!validateHost(req, res)) return;
  if (req.method !== 'POST') {
    console.error(`request http=${req.method}`);
    handler(req, res);
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const raw = Buffer.concat(chunks).toString('utf8');
    let body;
    try {
      body = JSON.parse(raw);
    } catch {
      body = undefined;
    }
    const meta = body?.params?._meta ?? {};
    const modern = typeof meta['io.modelcontextprotocol/protocolVersion'] === 'string';
    const h = (n) => req.headers[n] ?? '-';
    const keys = body?.params ? Object.keys(body.params).sort().join(',') : '-';
    console.error(
      `request method=${body?.method ?? '-'} era=${modern ? 'modern' : 'legacy'} version=${h('mcp-protocol-version')} ` +
        `mcp-method=${h('mcp-method')} mcp-name=${h('mcp-name')} mcp-param-region=${h('mcp-param-region')} ` +
        `session=${h('mcp-session-id')} params=${keys}`,
    );
    if (body === undefined) {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } }));
      return;
    }
    handler(req, res, body);
  });
});
httpServer.listen(port, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${httpServer.address().port}/mcp`);
});
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    httpServer.close();
    process.exit(0);
  });
}
