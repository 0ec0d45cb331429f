// Interop peer for tasks on our MCP server: the official TypeScript SDK v2 client
// (@modelcontextprotocol/client 2.4.0) with the tasks package that v2 uses for them
// (@modelcontextprotocol/ext-tasks 0.2.2, createTaskSessionFromClient), in either generation:
//
//   node tests/interop/ts2-tasks.mjs URL legacy   2025-11-25 session: params.task, tasks/get,
//                                                 tasks/result, tasks/cancel
//   node tests/interop/ts2-tasks.mjs URL modern   2026-07-28: the io.modelcontextprotocol/tasks
//                                                 extension (tasks/get with the outcome inlined,
//                                                 tasks/update for the tool's questions)
//
// The 2026-07-28 task methods need a raw dispatch (ext-tasks' documented requirement: the SDK
// Client cannot send them); this script's is a plain fetch with the 2026-07-28 headers.
// Against mcp-conformance-server's task tools: slow_compute runs as a task to completion with
// progress in its statusMessage, failing_job completes with isError, a long slow_compute is
// cancelled, and (modern) confirm_delete's question reaches the application's input handler.
// Prints one line per check ("ok ..." / "FAIL ...") and exits 1 when one failed.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const peersRoot = path.resolve(repo, process.env.IDP_PEERS_DIR || path.join('build', 'peers'));
const peerRequire = createRequire(path.join(peersRoot, 'peers-v2', 'package.json'));
const { Client, StreamableHTTPClientTransport } = await import(peerRequire.resolve('@modelcontextprotocol/client'));
// ext-tasks exports ESM entry points only (no "require" condition to resolve through).
const extTasks = path.join(peersRoot, 'peers-v2', 'node_modules', '@modelcontextprotocol', 'ext-tasks', 'dist', 'client', 'index.js');
const { createTaskSessionFromClient, createApplicationInputHandler } = await import(pathToFileURL(extTasks).href);

const [url, era] = process.argv.slice(2);
if (!url || !['modern', 'legacy'].includes(era)) {
  console.error('usage: node ts2-tasks.mjs URL modern|legacy');
  process.exit(2);
}
let failed = 0;
const check = (cond, what, detail) => {
  console.log(`${cond ? 'ok' : 'FAIL'} [${era}] ${what}${cond || detail === undefined ? '' : `: ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`}`);
  if (!cond) failed++;
};
const text = (result) => result?.content?.[0]?.text ?? '';

const clientInfo = { name: 'ts2-tasks-interop', version: '2.4.0' };
const capabilities = { elicitation: {} };
const client = new Client(clientInfo, {
  capabilities,
  versionNegotiation: { mode: era === 'modern' ? { pin: '2026-07-28' } : 'legacy' },
});
const transport = new StreamableHTTPClientTransport(new URL(url));

// One 2026-07-28 JSON-RPC request over HTTP, for ext-tasks' rawDispatch.
let nextId = 1;
async function rawDispatch(request, options = {}) {
  const id = `raw-${nextId++}`;
  const params = request.params ?? {};
  const name = request.method === 'tools/call' ? params.name : params.taskId;
  const headers = {
    'Content-Type': 'application/json',
    Accept: 'application/json, text/event-stream',
    'MCP-Protocol-Version': '2026-07-28',
    'Mcp-Method': request.method,
    ...(typeof name === 'string' ? { 'Mcp-Name': name } : {}),
  };
  const res = await fetch(url, {
    method: 'POST', headers, signal: options.signal,
    body: JSON.stringify({ jsonrpc: '2.0', id, method: request.method, params }),
  });
  const body = await res.text();
  let message;
  if ((res.headers.get('content-type') ?? '').includes('text/event-stream')) {
    for (const line of body.split(/\r?\n/)) {
      if (!line.startsWith('data:')) continue;
      try {
        const m = JSON.parse(line.slice(5).trim());
        if (m.id === id) message = m;
      } catch { /* not JSON: a priming event */ }
    }
  } else {
    message = JSON.parse(body);
  }
  if (!message) throw new Error(`no answer to ${request.method} (HTTP ${res.status}): ${body.slice(0, 300)}`);
  return message.error ? { kind: 'error', error: message.error } : { kind: 'result', result: message.result };
}

const questions = [];
const onInputRequest = createApplicationInputHandler({
  elicitation: async (request) => {
    questions.push(request);
    return { action: 'accept', content: { confirm: true } };
  },
  sampling: async () => { throw new Error('no sampling here'); },
  roots: async () => ({ roots: [] }),
});

try {
  await client.connect(transport);
  const version = client.getNegotiatedProtocolVersion();
  check(era === 'modern' ? version === '2026-07-28' : version === '2025-11-25', `negotiated ${version}`, version);
  const session = createTaskSessionFromClient(client, {
    endpointId: 'idp-mcp-conformance-server',
    onInputRequest,
    ...(era === 'modern'
      ? { rawDispatch, v2RequestFraming: { protocolVersion: '2026-07-28', clientInfo, clientCapabilities: capabilities } }
      : {}),
  });

  // 1. A task to completion, watching its updates.
  const run = await session.callTool('slow_compute', { seconds: 2, label: 'ts2' }, { task: { preference: 'require' } });
  check(run.kind === 'task', 'slow_compute runs as a task', run.kind);
  const statuses = [];
  const messages = [];
  const { outcome } = await run.settle({
    onEvent: (e) => {
      if (e.type !== 'task') return;
      statuses.push(e.task.status);
      if (e.task.statusMessage) messages.push(e.task.statusMessage);
    },
  });
  check(outcome.status === 'completed' && text(outcome.result).includes('Computed ts2'),
    'slow_compute completed with its result', outcome);
  check(statuses.includes('working'), 'the task was seen working', statuses);
  check(messages.some((m) => m.includes('computing ts2')), 'progress reached the statusMessage', messages);

  // 2. A tool error is a completed task with isError.
  const failing = await session.callTool('failing_job', {}, { task: { preference: 'require' } });
  const failed_ = await failing.settle();
  check(failing.kind === 'task' && failed_.outcome.status === 'completed' && failed_.outcome.result?.isError === true,
    'failing_job completed with isError', failed_.outcome);

  // 3. Cancelling a running task.
  const long = await session.callTool('slow_compute', { seconds: 60, label: 'ts2-cancel' }, { task: { preference: 'require' } });
  check(long.kind === 'task', 'a long slow_compute runs as a task', long.kind);
  await long.cancel();
  const cancelled = await long.settle();
  check(cancelled.outcome.status === 'cancelled', 'cancel settles it as cancelled', cancelled.outcome);

  // 4. 2026-07-28: a task's question goes to the application and its answer back (tasks/update).
  if (era === 'modern') {
    const del = await session.callTool('confirm_delete', { filename: 'ts2.txt' });
    const asked = await del.settle();
    check(del.kind === 'task' && asked.outcome.status === 'completed' && text(asked.outcome.result) === 'Deleted ts2.txt',
      'confirm_delete asked through tasks/update and completed', asked.outcome);
    check(questions.length === 1 && questions[0].kind === 'elicitation', 'one elicitation reached the handler', questions.length);
  }
  await session.close();
} catch (e) {
  check(false, 'no exception', e?.stack ?? String(e));
} finally {
  await client.close().catch(() => {});
}
process.exit(failed ? 1 : 0);
