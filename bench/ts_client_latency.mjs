// Reference peer for bench/client_latency: the sequential tools/call loop of
// bench/client_latency_client.cc, written with the official TypeScript MCP SDK (1.32.2):
// `Client` + `StreamableHTTPClientTransport`, default options.
//
// Usage: node bench/ts_client_latency.mjs <url> <seconds> [<warm-up seconds>]
//
// Connects, calls the `add` tool with {a: 2, b: 3} over and over, one call in flight, first for
// a warm-up (default 1 s, not measured; 0 = none), then for <seconds>. Every result must have
// structuredContent.sum === 5 and no isError; a failed or wrong call exits with status 1. On
// success prints one line to stdout:
//
//   calls=N seconds=S calls_per_s=R p50_us=.. p99_us=..
//
// Note: unlike our client in the benchmark (ClientOptions.listen = false), the SDK's transport
// opens the standalone GET SSE stream after initialization on its own; it stays idle here.
//
// The SDK is not installed next to this file but into the npm project that
// scripts/install-deps.sh fills: $IDP_PEERS_DIR/peers (IDP_PEERS_DIR relative = to the repo
// root, default <repo>/build/peers), loaded with a require() anchored in that folder, as in
// tests/interop/ts-server.mjs --json.
import { createRequire } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const peersRoot = path.resolve(repo, process.env.IDP_PEERS_DIR || path.join('build', 'peers'));
const require = createRequire(path.join(peersRoot, 'peers', 'package.json'));

const { Client } = require('@modelcontextprotocol/sdk/client/index.js');
const { StreamableHTTPClientTransport } = require('@modelcontextprotocol/sdk/client/streamableHttp.js');

function fail(message) {
  console.error(`ts_client_latency: ${message}`);
  process.exit(1);
}

const [url, secondsArg, warmupArg] = process.argv.slice(2);
const seconds = Number(secondsArg);
const warmupSeconds = warmupArg === undefined ? 1 : Number(warmupArg);
if (!url || !(seconds > 0) || !(warmupSeconds >= 0)) {
  console.error('usage: node bench/ts_client_latency.mjs <url> <seconds> [<warm-up seconds>]');
  process.exit(2);
}

function checkResult(r, n) {
  const ok = r && !r.isError && r.structuredContent && r.structuredContent.sum === 5;
  if (!ok) fail(`call ${n}: wrong result: ${JSON.stringify(r)}`);
}

function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}

const client = new Client({ name: 'bench-ts-client-latency', version: '1.0.0' });
const transport = new StreamableHTTPClientTransport(new URL(url));
try {
  await client.connect(transport);
} catch (e) {
  fail(`connect: ${e && e.stack ? e.stack : e}`);
}

const params = { name: 'add', arguments: { a: 2, b: 3 } };
async function call(n) {
  let r;
  try {
    r = await client.callTool(params);
  } catch (e) {
    fail(`call ${n}: ${e && e.stack ? e.stack : e}`);
  }
  checkResult(r, n);
}

// warm-up
let warm = 0;
const warmupEnd = performance.now() + warmupSeconds * 1000;
while (performance.now() < warmupEnd) await call(`warm-up ${++warm}`);

// measured run
const latencies = [];
const start = performance.now();
const end = start + seconds * 1000;
let now = start;
while (now < end) {
  const t0 = now;
  await call(latencies.length + 1);
  now = performance.now();
  latencies.push((now - t0) * 1000); // microseconds
}
const elapsed = (now - start) / 1000;

try {
  await transport.terminateSession();
} catch {
  // the session end is not measured; a server may refuse DELETE
}
await client.close();

latencies.sort((a, b) => a - b);
const n = latencies.length;
console.log(
  `calls=${n} seconds=${elapsed.toFixed(3)} calls_per_s=${(elapsed > 0 ? n / elapsed : 0).toFixed(0)} ` +
    `p50_us=${percentile(latencies, 50).toFixed(0)} p99_us=${percentile(latencies, 99).toFixed(0)}`,
);
process.exit(0);
