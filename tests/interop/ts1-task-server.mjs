// Interop peer for our client's 2025-11-25 tasks: an MCP server on the official TypeScript SDK
// 1.32.2 with its own experimental task runtime (McpServer with an InMemoryTaskStore,
// server.experimental.tasks.registerToolTask), stateful sessions over StreamableHTTPServerTransport
// on node:http, bound to 127.0.0.1.
//
//   node tests/interop/ts1-task-server.mjs [PORT]
//
// Prints `listening on http://127.0.0.1:PORT/mcp` first; stderr gets one line per request
// (`request method=... session=yes|no params=...`) and `task <id> cancelled` when the SDK
// reports a task cancelled.
//
// Tools:
//   digest {text, ms=1000}  a task (taskSupport "required"): statusMessage "digesting, N of 4"
//                           every ms/4, then text "digest: <W> words"
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
const { InMemoryTaskStore, InMemoryTaskMessageQueue } = require('@modelcontextprotocol/sdk/experimental/tasks/stores/in-memory.js');
const { isInitializeRequest } = require('@modelcontextprotocol/sdk/types.js');
const z = require('zod/v4');

const port = Number(process.argv[2] ?? 0);
const taskStore = new InMemoryTaskStore();
const sleep = (ms) => new Promise((wake) => setTimeout(wake, ms));

function makeServer() {
  const server = new McpServer(
    { name: 'ts1-task-server', version: '1.32.2' },
    { capabilities: { tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } } }, taskStore,
      taskMessageQueue: new InMemoryTaskMessageQueue() },
  );
  server.experimental.tasks.registerToolTask(
    'digest',
    {
      description: 'Counts the words of a text, slowly (a task)',
      inputSchema: { text: z.string(), ms: z.number().default(1000) },
      execution: { taskSupport: 'required' },
    },
    {
      async createTask({ text, ms }, { taskStore: store, taskRequestedTtl }) {
        const task = await store.createTask({ ttl: taskRequestedTtl, pollInterval: 100 });
        (async () => {
          for (let i = 1; i <= 4; i += 1) {
            await sleep(ms / 4);
            const now = await store.getTask(task.taskId);
            if (!now || now.status !== 'working') {
              console.error(`task ${task.taskId} ${now?.status ?? 'gone'}`);
              return;
            }
            if (i < 4) await store.updateTaskStatus(task.taskId, 'working', `digesting, ${i} of 4`);
          }
          const words = text.split(/\s+/).filter(Boolean).length;
          await store.storeTaskResult(task.taskId, 'completed', { content: [{ type: 'text', text: `digest: ${words} words` }] });
        })().catch((e) => console.error(`task ${task.taskId} failed: ${e.message}`));
        return { task };
      },
      async getTask(_args, { taskId, taskStore: store }) {
        return store.getTask(taskId);
      },
      async getTaskResult(_args, { taskId, taskStore: store }) {
        return store.getTaskResult(taskId);
      },
    },
  );
  return server;
}

const sessions = new Map();
const httpServer = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    const raw = Buffer.concat(chunks).toString('utf8');
    let body;
    if (raw) {
      try {
        body = JSON.parse(raw);
      } catch {
        res.writeHead(400).end();
        return;
      }
    }
    const sid = req.headers['mcp-session-id'];
    if (req.method === 'POST') {
      const keys = body?.params ? Object.keys(body.params).sort().join(',') : '-';
      console.error(`request method=${body?.method ?? '-'} session=${sid ? 'yes' : 'no'} params=${keys}`);
    }
    let transport = sid ? sessions.get(sid) : undefined;
    if (!transport) {
      if (req.method !== 'POST' || !isInitializeRequest(body)) {
        res.writeHead(sid ? 404 : 400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32000, message: 'no session' } }));
        return;
      }
      transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => sessions.set(id, transport),
      });
      transport.onclose = () => transport.sessionId && sessions.delete(transport.sessionId);
      await makeServer().connect(transport);
    }
    await transport.handleRequest(req, res, body);
  });
});
httpServer.listen(port, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${httpServer.address().port}/mcp`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
