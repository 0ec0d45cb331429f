// agents-peer.mjs: the peer agent framework of the agent loop's comparison (run-agents-peer.sh)
// and benchmark (bench/agent_turn): the OpenAI Agents SDK for JavaScript (@openai/agents) with its
// Streamable HTTP MCP client and a chat-completions model at a custom base URL, answering a
// question with one MCP server's tools, as our `idp-agents ask --agent` does.
//
//   node agents-peer.mjs --base-url URL --mcp-url URL --question TEXT [--turns N | --seconds S]
//
// One turn (default): prints {"final": "...", "tool_calls": [{"name","arguments"}...]} on stdout.
// --turns N / --seconds S: runs turns one after another (one MCP connection, as a long-lived
// service would) and prints {"turns": N, "seconds": S, "per_s": N/S}. Tracing is off (it would
// try to reach the OpenAI platform). Needs <peers>/peers-agents/node_modules (NODE_PATH or the
// --modules option).
import { createRequire } from 'node:module';
import path from 'node:path';

const args = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const m = /^--([a-z-]+)$/.exec(argv[i]);
  if (!m || argv[i + 1] === undefined) {
    process.stderr.write(`usage: node agents-peer.mjs --modules DIR --base-url URL --mcp-url URL --question TEXT [--turns N | --seconds S]\n`);
    process.exit(2);
  }
  args[m[1]] = argv[i + 1];
}
for (const k of ['modules', 'base-url', 'mcp-url', 'question']) {
  if (!args[k]) {
    process.stderr.write(`agents-peer: --${k} is required\n`);
    process.exit(2);
  }
}
const require = createRequire(path.join(path.resolve(args.modules), 'noop.js'));
const { Agent, run, MCPServerStreamableHttp, OpenAIChatCompletionsModel, setTracingDisabled } =
  require('@openai/agents');
const { default: OpenAI } = await import(require.resolve('openai'));

setTracingDisabled(true);
const client = new OpenAI({ baseURL: args['base-url'], apiKey: 'not-used-by-the-fake' });
const server = new MCPServerStreamableHttp({ url: args['mcp-url'], name: 'peer', cacheToolsList: true });
await server.connect();
const agent = new Agent({
  name: 'Peer',
  instructions: 'Answer the question with the tools.',
  mcpServers: [server],
  model: new OpenAIChatCompletionsModel(client, 'fake-model'),
});

async function turn() {
  const result = await run(agent, args.question, { maxTurns: 10 });
  const calls = [];
  for (const item of result.newItems) {
    const raw = item.rawItem;
    if (item.type === 'tool_call_item' && raw?.type === 'function_call') {
      calls.push({ name: raw.name, arguments: JSON.parse(raw.arguments || '{}') });
    }
  }
  return { final: result.finalOutput, tool_calls: calls };
}

try {
  if (args.turns || args.seconds) {
    const limit = Number(args.turns || Infinity);
    const until = args.seconds ? performance.now() + Number(args.seconds) * 1000 : Infinity;
    const start = performance.now();
    let n = 0;
    while (n < limit && performance.now() < until) {
      const r = await turn();
      if (r.tool_calls.length === 0) throw new Error(`a turn made no tool call: ${JSON.stringify(r)}`);
      n++;
    }
    const seconds = (performance.now() - start) / 1000;
    console.log(JSON.stringify({ turns: n, seconds, per_s: n / seconds }));
  } else {
    console.log(JSON.stringify(await turn()));
  }
} finally {
  await server.close();
}
