// Interop peer for our client's tasks: an MCP server on the official TypeScript SDK v2
// (@modelcontextprotocol/server 2.4.0, createMcpHandler + @modelcontextprotocol/node) whose one
// tool runs as a task, in both protocol eras, on plain node:http bound to 127.0.0.1.
//
// The SDK 2.4.0 has no task runtime: its wire schemas know the 2025-11-25 task vocabulary
// (tasks/get, tasks/result, tasks/list, tasks/cancel, execution.taskSupport, CreateTaskResult),
// but McpServer does not create or run tasks and its typed handler surface leaves the task
// methods out. So this script keeps the tasks itself (a Map, shared by the per-request servers of
// the stateless handler) and registers the task methods with the low-level Server's custom
// handler form. What goes over the wire is the SDK's:
//   2025-11-25  capabilities.tasks.requests.tools.call, execution.taskSupport "required",
//               tools/call with params.task -> {task: Task}, tasks/get -> Task, tasks/result
//               (waits for the end) -> the CallToolResult, tasks/cancel -> Task, tasks/list
//   2026-07-28  capabilities.extensions["io.modelcontextprotocol/tasks"], tools/call with the
//               extension in _meta clientCapabilities -> {resultType:"task", taskId, ...},
//               tasks/get -> DetailedTask with the result inline, tasks/cancel -> {} ack
//
//   node tests/interop/ts2-task-server.mjs [PORT]
//
// Prints `listening on http://127.0.0.1:PORT/mcp` first. stderr gets one line per request
// (`request method=... era=... mcp-name=... params=...`) and one per task event
// (`task <id> created|completed|cancelled era=<v1|v2>`).
//
// Tools:
//   summarize {text, seconds=2}  a task: statusMessage "summarizing, N of M" every 250 ms for
//                                `seconds`, then text "summary: <first sentence> (<W> words)"
//   echo {message}               an ordinary tool
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const peersRoot = path.resolve(repo, process.env.IDP_PEERS_DIR || path.join('build', 'peers'));
const peerRequire = createRequire(path.join(peersRoot, 'peers-v2', 'package.json'));
const importPeer = async (name) => import(peerRequire.resolve(name));

const { Server, createMcpHandler, ProtocolError } = await importPeer('@modelcontextprotocol/server');
const { toNodeHandler, localhostHostValidation } = await importPeer('@modelcontextprotocol/node');
const { z } = await importPeer('zod');

const args = process.argv.slice(2);
if (args.some((a) => !/^\d+$/.test(a))) {
  console.error('usage: node ts2-task-server.mjs [PORT]');
  process.exit(2);
}
const port = Number(args[0] ?? 0);

const EXT = 'io.modelcontextprotocol/tasks';
const POLL_MS = 200;
const TTL_MS = 60_000;
const tasks = new Map(); // taskId -> {id, era, status, message, created, updated, result, done, timer}
let made = 0;

const text = (t) => ({ content: [{ type: 'text', text: t }] });
const isModern = (params) => typeof params?._meta?.['io.modelcontextprotocol/protocolVersion'] === 'string';
const declaresExtension = (params) =>
  params?._meta?.['io.modelcontextprotocol/clientCapabilities']?.extensions?.[EXT] !== undefined;
const terminal = (s) => s === 'completed' || s === 'failed' || s === 'cancelled';

function shown(t) {
  const base = {
    taskId: t.id,
    status: t.status,
    ...(t.message ? { statusMessage: t.message } : {}),
    createdAt: t.created,
    lastUpdatedAt: t.updated,
  };
  if (t.era === 'v1') return { ...base, ttl: TTL_MS, pollInterval: POLL_MS };
  return {
    ...base,
    ttlMs: TTL_MS,
    pollIntervalMs: POLL_MS,
    ...(t.status === 'completed' ? { result: t.result } : {}),
  };
}

function settle(t, status, message) {
  t.status = status;
  t.message = message;
  t.updated = new Date().toISOString();
  clearInterval(t.timer);
  console.error(`task ${t.id} ${status} era=${t.era}`);
  for (const wake of t.waiters) wake();
  t.waiters = [];
}

function startTask(era, { text: body = '', seconds = 2 }) {
  const now = new Date().toISOString();
  const t = { id: `ts2-task-${++made}`, era, status: 'working', message: 'queued', created: now, updated: now, waiters: [] };
  tasks.set(t.id, t);
  console.error(`task ${t.id} created era=${era}`);
  const steps = Math.max(1, Math.round(Number(seconds) * 4));
  let step = 0;
  t.timer = setInterval(() => {
    step += 1;
    if (step < steps) {
      t.message = `summarizing, ${step} of ${steps}`;
      t.updated = new Date().toISOString();
      return;
    }
    const words = String(body).split(/\s+/).filter(Boolean).length;
    const first = String(body).split(/(?<=[.!?])\s/)[0] ?? '';
    t.result = text(`summary: ${first} (${words} words)`);
    settle(t, 'completed', '');
  }, 250);
  return t;
}

function find(params) {
  const t = tasks.get(params?.taskId);
  if (!t) throw new ProtocolError(-32602, `no such task: ${params?.taskId}`);
  return t;
}

const TaskParams = z.object({ taskId: z.string() }).passthrough();
const AnyParams = z.object({}).passthrough();

// Server checks every tools/call result against CallToolResult, and a CreateTaskResult is none
// ("content is required when the body carries 'task'"): this one check is skipped, through the
// SDK's own hook for it (Protocol._wrapHandler), for tools/call only.
class TaskServer extends Server {
  _wrapHandler(method, handler) {
    return method === 'tools/call' ? handler : super._wrapHandler(method, handler);
  }
}

function makeServer() {
  const server = new TaskServer(
    { name: 'ts2-task-server', version: '2.4.0' },
    {
      capabilities: {
        tools: {},
        tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } },
        extensions: { [EXT]: {} },
      },
    },
  );
  server.setRequestHandler('tools/list', async () => ({
    tools: [
      {
        name: 'summarize',
        description: 'Summarizes a text (slowly, as a task)',
        inputSchema: { type: 'object', properties: { text: { type: 'string' }, seconds: { type: 'number' } }, required: ['text'] },
        execution: { taskSupport: 'required' },
      },
      {
        name: 'echo',
        description: 'Echoes the message',
        inputSchema: { type: 'object', properties: { message: { type: 'string' } }, required: ['message'] },
      },
    ],
  }));
  server.setRequestHandler("tools/call", async (request, ctx) => {
    const { name, arguments: a = {} } = request.params;
    if (name === 'echo') return text(String(a.message ?? ''));
    if (name !== 'summarize') throw new ProtocolError(-32602, `unknown tool ${name}`);
    // The SDK hands a 2026-07-28 request's _meta envelope over as ctx.mcpReq.envelope.
    const envelope = { _meta: { ...(ctx.mcpReq.envelope ?? {}), ...(request.params._meta ?? {}) } };
    const modern = isModern(envelope);
    if (modern && declaresExtension(envelope)) {
      return { resultType: 'task', ...shown(startTask('v2', a)) };
    }
    if (!modern && request.params.task !== undefined) {
      return { task: shown(startTask('v1', a)) };
    }
    throw new ProtocolError(-32601, 'summarize runs only as a task (execution.taskSupport "required")');
  });
  server.setRequestHandler('tasks/get', { params: TaskParams }, async (params) => shown(find(params)));
  server.setRequestHandler('tasks/result', { params: TaskParams }, async (params) => {
    const t = find(params);
    if (!terminal(t.status)) await new Promise((wake) => t.waiters.push(wake));
    if (t.status !== 'completed') throw new ProtocolError(-32603, `task ${t.id} ${t.status}`);
    return { ...t.result, _meta: { 'io.modelcontextprotocol/related-task': { taskId: t.id } } };
  });
  server.setRequestHandler('tasks/list', { params: AnyParams }, async () => ({
    tasks: [...tasks.values()].filter((t) => t.era === 'v1').map(shown),
  }));
  server.setRequestHandler('tasks/cancel', { params: TaskParams }, async (params) => {
    const t = find(params);
    if (!terminal(t.status)) settle(t, 'cancelled', 'cancelled by the client');
    else if (t.era === 'v1') throw new ProtocolError(-32602, `task ${t.id} already ${t.status}`);
    return t.era === 'v1' ? shown(t) : {};
  });
  return server;
}

const handler = toNodeHandler(createMcpHandler(() => makeServer(), { onerror: (e) => console.error(`onerror: ${e.message}`) }));
const validateHost = localhostHostValidation();

const httpServer = createServer((req, res) => {
  if (!validateHost(req, res)) return;
  if (req.method !== 'POST') {
    handler(req, res);
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } }));
      return;
    }
    const h = (n) => req.headers[n] ?? '-';
    const keys = body?.params ? Object.keys(body.params).sort().join(',') : '-';
    console.error(
      `request method=${body?.method ?? '-'} era=${isModern(body?.params) ? 'modern' : 'legacy'} ` +
        `mcp-name=${h('mcp-name')} ext=${declaresExtension(body?.params) ? 'yes' : 'no'} params=${keys}`,
    );
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
