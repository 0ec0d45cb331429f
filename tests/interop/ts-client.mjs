// Interop: drive our MCP server with the official TypeScript SDK client (@modelcontextprotocol/sdk 1.32.2,
// Client + StreamableHTTPClientTransport) and assert what a real client sees.
//
//   PEERS_NODE_MODULES=<peers>/peers/node_modules node ts-client.mjs <url> [options]
//
// Options:
//   --page-size N   the server pages lists by N: listing tools must take several pages of <= N
//                   items (without it the whole list must come in one page)
//   --stateless     the server runs --stateless: checks a-d only, and no Mcp-Session-Id may be issued
//   --sse           the server runs --response-mode sse: checks a-f only, and every POST that carries
//                   a request must be answered with text/event-stream
//   --checks LIST   run only these checks (letters, e.g. "abcd"); default: all (a-j)
//
// One line per check ("PASS (x) ..." / "FAIL (x) ..."); exit status 1 when any check failed.
// IDP_TS_DEBUG=1 prints every HTTP exchange the transport makes; IDP_TS_WATCHDOG_S bounds the run (default 60; run-ts-client.sh sets 50).
import assert from 'node:assert/strict';
import path from 'node:path';
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';

// ---------------------------------------------------------------------------------------------
// Arguments and SDK loading

const argv = process.argv.slice(2);
const url = argv.find((a) => /^https?:\/\//.test(a));
const flag = (name) => argv.includes(name);
const option = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
if (!url) {
  console.error('usage: ts-client.mjs <url> [--page-size N] [--stateless] [--sse] [--checks LIST]');
  process.exit(2);
}
const pageSize = option('--page-size') ? Number(option('--page-size')) : undefined;
const stateless = flag('--stateless');
const sseOnly = flag('--sse');
let checks = option('--checks') ?? (stateless ? 'abcd' : sseOnly ? 'abcdef' : 'abcdefghij');
const enabled = (letter) => checks.includes(letter);

const nodeModules = process.env.PEERS_NODE_MODULES;
if (!nodeModules) {
  console.error('ts-client.mjs: set PEERS_NODE_MODULES to the peers node_modules (build/peers/peers/node_modules)');
  process.exit(2);
}
const sdkDir = path.join(nodeModules, '@modelcontextprotocol', 'sdk');
const sdkVersion = JSON.parse(fs.readFileSync(path.join(sdkDir, 'package.json'), 'utf8')).version;
// The package's "import" export condition maps "./*" to "./dist/esm/*".
const sdk = (sub) => import(pathToFileURL(path.join(sdkDir, 'dist', 'esm', sub)).href);
const { Client } = await sdk('client/index.js');
const { StreamableHTTPClientTransport } = await sdk('client/streamableHttp.js');
const { CreateMessageRequestSchema, LoggingMessageNotificationSchema } = await sdk('types.js');

const mode = stateless ? 'stateless' : sseOnly ? 'sse' : pageSize ? `page-size ${pageSize}` : 'default';
console.log(`ts-client: @modelcontextprotocol/sdk ${sdkVersion}, node ${process.version}, ${url} (${mode}; checks ${checks})`);

// The whole run is bounded (IDP_TS_WATCHDOG_S, default 60 s); a hung request must not hang ctest.
const watchdogS = Number(process.env.IDP_TS_WATCHDOG_S ?? 60);
const watchdog = setTimeout(() => {
  console.log(`FAIL ts-client: gave up after ${watchdogS} s (${passes} passed, ${failures} failed so far)`);
  process.exit(1);
}, watchdogS * 1000);
watchdog.unref();

// ---------------------------------------------------------------------------------------------
// HTTP tracing: the transport's fetch, so the checks can see statuses, headers and stream ends.

const debug = !!process.env.IDP_TS_DEBUG;
const http = []; // {method, rpc, lastEventId, sessionId, status, contentType, started, ended, error}

function describeBody(body) {
  try {
    const msg = JSON.parse(body);
    const one = (m) => (m.method ? `${m.method}${m.id !== undefined ? '#' + m.id : ''}` : `response#${m.id}`);
    return Array.isArray(msg) ? msg.map(one).join(',') : one(msg);
  } catch {
    return undefined;
  }
}

async function tracingFetch(input, init = {}) {
  const headers = new Headers(init.headers);
  const entry = {
    method: init.method ?? 'GET',
    rpc: typeof init.body === 'string' ? describeBody(init.body) : undefined,
    lastEventId: headers.get('last-event-id') ?? undefined,
    sessionId: headers.get('mcp-session-id') ?? undefined,
    started: Date.now(),
  };
  http.push(entry);
  const done = (extra) => {
    Object.assign(entry, extra, { ended: Date.now() });
    if (debug) {
      const { method, rpc, lastEventId, status, contentType, error } = entry;
      console.log(`  http ${method} ${rpc ?? ''}${lastEventId ? ` Last-Event-ID=${lastEventId}` : ''} -> ` +
        `${status ?? '-'} ${contentType ?? ''}${error ? ` error=${error}` : ''} (${entry.ended - entry.started} ms)`);
    }
  };
  let res;
  try {
    res = await fetch(input, init);
  } catch (e) {
    done({ error: String(e?.message ?? e) });
    throw e;
  }
  entry.status = res.status;
  entry.contentType = res.headers.get('content-type') ?? undefined;
  if (!res.body || !entry.contentType?.startsWith('text/event-stream')) {
    done({});
    return res;
  }
  // Pass the SSE body through unchanged, noting when it ends (server closed it, or it failed).
  // Also collect the SSE event ids, so a later Last-Event-ID can be tied to this stream.
  entry.eventIds = [];
  const decoder = new TextDecoder();
  let partial = '';
  const reader = res.body.getReader();
  const body = new ReadableStream({
    async pull(controller) {
      try {
        const { done: eof, value } = await reader.read();
        if (eof) {
          done({});
          controller.close();
        } else {
          const lines = (partial + decoder.decode(value, { stream: true })).split(/\r\n|\r|\n/);
          partial = lines.pop();
          for (const line of lines) {
            const m = /^id: ?(.*)$/.exec(line);
            if (m) entry.eventIds.push(m[1]);
          }
          controller.enqueue(value);
        }
      } catch (e) {
        done({ error: String(e?.message ?? e) });
        controller.error(e);
      }
    },
    cancel(reason) {
      done({ error: 'cancelled by the client' });
      return reader.cancel(reason);
    },
  });
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
}

// ---------------------------------------------------------------------------------------------
// Check runner

let failures = 0;
let passes = 0;

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function check(id, title, fn, { fatal = false, limitMs = 45_000, when = enabled(id[0]) } = {}) {
  if (!when) return;
  const t0 = Date.now();
  try {
    const detail = await withTimeout(Promise.resolve().then(fn), limitMs, `(${id})`);
    passes++;
    console.log(`PASS (${id}) ${title}${detail ? ` - ${detail}` : ''} [${Date.now() - t0} ms]`);
  } catch (e) {
    failures++;
    const msg = (e?.message ?? String(e)).split('\n').filter((l) => l.trim()).join('\n     ');
    console.log(`FAIL (${id}) ${title} [${Date.now() - t0} ms]\n     ${msg}`);
    if (fatal) finish();
  }
}

function finish() {
  console.log(`ts-client: ${passes} passed, ${failures} failed (${mode})`);
  process.exit(failures ? 1 : 0);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const textOf = (result) =>
  (result?.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join('\n');
const REQUEST_TIMEOUT = { timeout: 30_000 };

// ---------------------------------------------------------------------------------------------
// Client setup: sampling capability + fixed answer, log collection, resumable transport.

const SAMPLING_ANSWER = 'interop sampling answer 4242';
const samplingRequests = [];
const logMessages = [];

function makeTransport(opts = {}) {
  return new StreamableHTTPClientTransport(new URL(url), {
    fetch: tracingFetch,
    // Resumption (check h): the server's priming event carries retry:, which the SDK then uses as
    // the delay; these options only bound the attempts.
    reconnectionOptions: {
      initialReconnectionDelay: 200,
      maxReconnectionDelay: 2_000,
      reconnectionDelayGrowFactor: 1.5,
      maxRetries: 5,
    },
    ...opts,
  });
}

function makeClient() {
  return new Client({ name: 'idp-interop-ts-client', version: '1.0.0' }, { capabilities: { sampling: {} } });
}

const client = makeClient();
client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
  samplingRequests.push(request.params);
  return {
    model: 'interop-fixed-model',
    role: 'assistant',
    content: { type: 'text', text: SAMPLING_ANSWER },
    stopReason: 'endTurn',
  };
});
client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
  logMessages.push(notification.params);
});
const transportErrors = [];
const transport = makeTransport();
client.onerror = (e) => transportErrors.push(String(e?.message ?? e));

// ---------------------------------------------------------------------------------------------
// (a) connect

await check('a', 'connect; serverInfo.name is idp-mcp-conformance-server', async () => {
  await client.connect(transport, REQUEST_TIMEOUT);
  const info = client.getServerVersion();
  assert.equal(info?.name, 'idp-mcp-conformance-server', `serverInfo: ${JSON.stringify(info)}`);
  assert.ok(client.getServerCapabilities()?.tools, 'server does not declare the tools capability');
  if (stateless) {
    assert.equal(transport.sessionId, undefined, 'a --stateless server issued an Mcp-Session-Id');
  } else {
    assert.ok(typeof transport.sessionId === 'string' && transport.sessionId.length > 0, 'no Mcp-Session-Id issued');
  }
  return `${info.name} ${info.version}, protocol ${transport.protocolVersion}, session ${transport.sessionId ?? 'none'}`;
}, { fatal: true });

// (b) tools/list, following nextCursor

const EXPECTED_TOOLS = [
  'add', 'slow', 'test_simple_text', 'test_image_content', 'test_audio_content', 'test_embedded_resource',
  'test_multiple_content_types', 'test_tool_with_logging', 'test_tool_with_progress', 'test_error_handling',
  'test_sampling', 'test_elicitation', 'test_elicitation_sep1034_defaults', 'test_elicitation_sep1330_enums',
  'json_schema_2020_12_tool', 'test_reconnection',
];

await check('b', `tools/list includes add and test_simple_text${pageSize ? ` across pages of <= ${pageSize}` : ' in one page'}`, async () => {
  const names = [];
  const pages = [];
  let cursor;
  do {
    const page = await client.listTools(cursor ? { cursor } : {}, REQUEST_TIMEOUT);
    pages.push(page.tools.length);
    names.push(...page.tools.map((t) => t.name));
    cursor = page.nextCursor;
    assert.ok(pages.length < 100, 'more than 100 pages: the cursor does not advance');
  } while (cursor);
  assert.ok(names.includes('add'), `add missing from ${JSON.stringify(names)}`);
  assert.ok(names.includes('test_simple_text'), `test_simple_text missing from ${JSON.stringify(names)}`);
  const missing = EXPECTED_TOOLS.filter((n) => !names.includes(n));
  assert.deepEqual(missing, [], `fixture tools missing after following nextCursor: ${missing.join(', ')}`);
  const dups = names.filter((n, i) => names.indexOf(n) !== i);
  assert.deepEqual(dups, [], `tools listed twice: ${dups.join(', ')}`);
  if (pageSize) {
    assert.ok(pages.length >= 2, `expected several pages with --page-size ${pageSize}, got ${pages.length}`);
    assert.ok(pages.every((n) => n <= pageSize), `a page exceeds ${pageSize} items: ${JSON.stringify(pages)}`);
    assert.equal(pages.at(-1) > 0 || names.length % pageSize === 0, true, 'empty last page');
  } else {
    assert.equal(pages.length, 1, `expected one page, got ${JSON.stringify(pages)}`);
  }
  const add = (await client.listTools({}, REQUEST_TIMEOUT)).tools.find((t) => t.name === 'add');
  if (!pageSize) assert.ok(add?.outputSchema, 'add has no outputSchema');
  return `${names.length} tools in ${pages.length} page(s) ${JSON.stringify(pages)}`;
});

// (c) add 2 + 3

await check('c1', 'tools/call add {a:2,b:3} -> structuredContent.sum == 5', async () => {
  const r = await client.callTool({ name: 'add', arguments: { a: 2, b: 3 } }, undefined, REQUEST_TIMEOUT);
  assert.notEqual(r.isError, true, `isError: ${JSON.stringify(r)}`);
  assert.equal(r.structuredContent?.sum, 5, `result: ${JSON.stringify(r)}`);
  return JSON.stringify(r.structuredContent);
});
await check('c2', 'tools/call add {a:2,b:3} -> text "5"', async () => {
  const r = await client.callTool({ name: 'add', arguments: { a: 2, b: 3 } }, undefined, REQUEST_TIMEOUT);
  assert.equal(r.content?.[0]?.type, 'text', `result: ${JSON.stringify(r)}`);
  assert.equal(r.content[0].text, '5', `text content is ${JSON.stringify(r.content[0].text)}, expected "5"`);
  return JSON.stringify(r.content);
});

// (d) add with a bad argument

await check('d', 'tools/call add {a:"x",b:3} -> isError true, text names argument a', async () => {
  const r = await client.callTool({ name: 'add', arguments: { a: 'x', b: 3 } }, undefined, REQUEST_TIMEOUT);
  assert.equal(r.isError, true, `result: ${JSON.stringify(r)}`);
  const text = textOf(r);
  assert.match(text, /(^|[^A-Za-z0-9_])a([^A-Za-z0-9_]|$)/, `error text does not mention argument a: ${JSON.stringify(text)}`);
  return JSON.stringify(text);
});

// (e) progress

await check('e', 'tools/call test_tool_with_progress -> >= 3 progress notifications ending at 100', async () => {
  const progress = [];
  const r = await client.callTool({ name: 'test_tool_with_progress', arguments: {} }, undefined, {
    ...REQUEST_TIMEOUT,
    onprogress: (p) => progress.push(p),
  });
  assert.notEqual(r.isError, true, `result: ${JSON.stringify(r)}`);
  const values = progress.map((p) => p.progress);
  assert.ok(progress.length >= 3, `only ${progress.length} progress notification(s): ${JSON.stringify(progress)}`);
  assert.equal(values.at(-1), 100, `last progress is ${values.at(-1)}: ${JSON.stringify(progress)}`);
  assert.ok(values.every((v, i) => i === 0 || v > values[i - 1]), `progress does not increase: ${JSON.stringify(values)}`);
  return `progress ${JSON.stringify(values)}, total ${progress.at(-1).total}`;
});

// (f) logging

await check('f', 'tools/call test_tool_with_logging -> 3 notifications/message', async () => {
  logMessages.length = 0;
  const r = await client.callTool({ name: 'test_tool_with_logging', arguments: {} }, undefined, REQUEST_TIMEOUT);
  assert.notEqual(r.isError, true, `result: ${JSON.stringify(r)}`);
  assert.equal(logMessages.length, 3, `received ${logMessages.length} log message(s): ${JSON.stringify(logMessages)}`);
  return logMessages.map((m) => `${m.level}:${JSON.stringify(m.data)}`).join(', ');
});

// --sse: the server must stream every response

await check('sse', 'every POST carrying a request was answered with text/event-stream', async () => {
  const requests = http.filter((h) => h.method === 'POST' && /#/.test(h.rpc ?? '') && !h.rpc.startsWith('response#'));
  assert.ok(requests.length > 0, 'no request POSTs seen');
  const other = requests.filter((h) => h.contentType?.split(';')[0].trim() !== 'text/event-stream');
  assert.deepEqual(other.map((h) => `${h.rpc}: ${h.status} ${h.contentType}`), [], 'answered without SSE');
  return `${requests.length} request POSTs, all SSE`;
}, { when: sseOnly });

// (g) cancellation

await check('g', 'abort slow {ms:20000} after 300 ms -> rejects quickly, server stops, session still usable', async () => {
  const controller = new AbortController();
  const progress = [];
  const firstSlow = http.length;
  const t0 = Date.now();
  const call = client.callTool({ name: 'slow', arguments: { ms: 20000 } }, undefined, {
    signal: controller.signal,
    timeout: 60_000,
    onprogress: (p) => progress.push(p),
  });
  const outcome = call.then(
    (r) => ({ resolved: r, at: Date.now() }),
    (e) => ({ rejected: e, at: Date.now() }),
  );
  await sleep(300);
  const abortedAt = Date.now();
  controller.abort('interop test cancels the call');
  const o = await withTimeout(outcome, 5_000, 'the aborted callTool promise');
  assert.ok(o.rejected, `callTool resolved despite the abort: ${JSON.stringify(o.resolved)}`);
  const rejectMs = o.at - abortedAt;
  assert.ok(rejectMs < 5_000, `rejected ${rejectMs} ms after the abort`);

  // The SDK sent notifications/cancelled, and the server ended the call's stream (it did not run 20 s).
  await sleep(200);
  const cancelledPost = http.slice(firstSlow).find((h) => h.method === 'POST' && h.rpc?.startsWith('notifications/cancelled'));
  assert.ok(cancelledPost, 'the SDK sent no notifications/cancelled');
  assert.ok([200, 202].includes(cancelledPost.status), `notifications/cancelled answered ${cancelledPost.status}`);
  const slowPost = http.slice(firstSlow).find((h) => h.method === 'POST' && h.rpc?.startsWith('tools/call'));
  assert.ok(slowPost, 'no tools/call POST seen');
  for (let i = 0; i < 50 && slowPost.ended === undefined; i++) await sleep(100);
  assert.ok(slowPost.ended !== undefined,
    `the server still streams the cancelled call ${Date.now() - abortedAt} ms after the abort ` +
    `(status ${slowPost.status}, ${slowPost.contentType})`);
  const streamMs = slowPost.ended - abortedAt;

  // Same session still works.
  await client.ping(REQUEST_TIMEOUT);
  const r = await client.callTool({ name: 'add', arguments: { a: 1, b: 1 } }, undefined, REQUEST_TIMEOUT);
  assert.equal(r.structuredContent?.sum, 2, `add after cancel: ${JSON.stringify(r)}`);
  return `${progress.length} progress before abort; rejected after ${rejectMs} ms; ` +
    `server ended the stream ${streamMs} ms after the abort; call took ${o.at - t0} ms; ping + add OK`;
});

// (h) resumption after the server closes the SSE stream mid-call

await check('h', 'tools/call test_reconnection -> resumed with GET + Last-Event-ID, "Reconnection test completed"', async () => {
  const first = http.length;
  const r = await client.callTool({ name: 'test_reconnection', arguments: {} }, undefined, REQUEST_TIMEOUT);
  const text = textOf(r);
  assert.match(text, /Reconnection test completed/, `result: ${JSON.stringify(r)}`);
  const post = http.slice(first).find((h) => h.method === 'POST' && h.rpc?.startsWith('tools/call'));
  assert.ok(post, 'no tools/call POST seen');
  assert.equal(post.contentType?.split(';')[0], 'text/event-stream', `the call was answered with ${post.contentType}`);
  assert.ok(post.eventIds?.length > 0, 'the POST stream carried no event id (no priming event), so it cannot be resumed');
  // A resumption GET of this call's stream (not of some other stream the SDK is resuming).
  const resumes = http.slice(first).filter((h) => h.method === 'GET' && post.eventIds.includes(h.lastEventId));
  assert.ok(resumes.length >= 1,
    `the result arrived without a GET + Last-Event-ID (one of ${JSON.stringify(post.eventIds)}) resumption`);
  return `POST stream ids ${JSON.stringify(post.eventIds)}; resumed with GET Last-Event-ID ` +
    resumes.map((h) => `${h.lastEventId} -> ${h.status}`).join(', ');
});

// (i) sampling

await check('i', 'tools/call test_sampling -> server asks sampling/createMessage, result has our answer', async () => {
  samplingRequests.length = 0;
  const r = await client.callTool({ name: 'test_sampling', arguments: { prompt: 'What is 2+2?' } }, undefined, REQUEST_TIMEOUT);
  assert.equal(samplingRequests.length, 1, `${samplingRequests.length} sampling/createMessage request(s)`);
  const sent = JSON.stringify(samplingRequests[0].messages);
  assert.ok(sent.includes('What is 2+2?'), `the prompt is not in the sampling request: ${sent}`);
  assert.notEqual(r.isError, true, `result: ${JSON.stringify(r)}`);
  assert.ok(textOf(r).includes(SAMPLING_ANSWER), `result text lacks the sampling answer: ${JSON.stringify(r)}`);
  return JSON.stringify(textOf(r));
});

// (j) session termination

await check('j', 'terminateSession() (DELETE), then a request with the old session id fails with 404', async () => {
  const oldSid = transport.sessionId;
  assert.ok(oldSid, 'no session to terminate');
  const first = http.length;
  await transport.terminateSession();
  const del = http.slice(first).find((h) => h.method === 'DELETE');
  assert.ok(del, 'the SDK sent no DELETE');
  assert.ok(del.status >= 200 && del.status < 300, `DELETE answered ${del.status}`);
  assert.equal(transport.sessionId, undefined, 'the transport kept the session id');

  const staleTransport = makeTransport({ sessionId: oldSid });
  const stale = makeClient();
  stale.onerror = () => {};
  await stale.connect(staleTransport); // a preset session id: no initialize
  staleTransport.setProtocolVersion(transport.protocolVersion ?? '2025-11-25');
  let error;
  try {
    await stale.ping(REQUEST_TIMEOUT);
  } catch (e) {
    error = e;
  }
  await stale.close().catch(() => {});
  assert.ok(error, 'ping with the terminated session id succeeded');
  const post = http.slice(first).find((h) => h.method === 'POST' && h.sessionId === oldSid);
  assert.equal(post?.status, 404, `the server answered ${post?.status} for the terminated session (expected 404)`);
  assert.equal(error.code, 404, `the SDK error: ${error.message}`);
  return `DELETE ${del.status}; then ${error.message.slice(0, 120)}`;
});

await client.close().catch(() => {});
if (debug && transportErrors.length) console.log(`  transport errors: ${JSON.stringify(transportErrors)}`);
finish();
