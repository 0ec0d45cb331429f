// What the vendors' own SDKs assemble from an answer, for run-llm-openai.sh and
// run-llm-bedrock.sh to compare with our models:
//   node llm-sdk-answer.mjs openai  BASE_URL MODEL QUESTION [TOOLS_JSON]
//        the openai SDK's stream helper: chat.completions.stream(...).finalChatCompletion()
//   node llm-sdk-answer.mjs bedrock ENDPOINT MODEL_ID QUESTION [TOOLS_JSON]
//        the AWS SDK's ConverseStreamCommand, its events accumulated as its docs show
//        (credentials and region from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_REGION)
// TOOLS_JSON: [{"name","description","input_schema"}]. Prints one JSON object:
//   {"text","tool_calls":[{"id","name","input"}],"finish_reason","usage":{"input","output"}}
// (bedrock adds "reasoning" and "signature").
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const peers = path.resolve(repo, process.env.IDP_PEERS_DIR || path.join('build', 'peers'));
const require = createRequire(path.join(peers, 'peers-llm', 'package.json'));

const [kind, endpoint, model, question, toolsJson] = process.argv.slice(2);
if (!['openai', 'bedrock'].includes(kind) || !question) {
  process.stderr.write('usage: node llm-sdk-answer.mjs openai|bedrock URL MODEL QUESTION [TOOLS_JSON]\n');
  process.exit(2);
}
const tools = toolsJson ? JSON.parse(toolsJson) : [];

async function openai() {
  const { default: OpenAI } = require('openai');
  const client = new OpenAI({ baseURL: endpoint, apiKey: process.env.OPENAI_API_KEY || 'none', maxRetries: 0 });
  const stream = client.chat.completions.stream({
    model,
    messages: [{ role: 'user', content: question }],
    ...(tools.length ? {
      tools: tools.map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.input_schema } })),
    } : {}),
    stream_options: { include_usage: true },
  });
  const done = await stream.finalChatCompletion();
  const choice = done.choices[0];
  return {
    text: choice.message.content ?? '',
    tool_calls: (choice.message.tool_calls ?? []).map((c) => ({ id: c.id, name: c.function.name, input: JSON.parse(c.function.arguments || '{}') })),
    finish_reason: choice.finish_reason,
    usage: { input: done.usage?.prompt_tokens ?? 0, output: done.usage?.completion_tokens ?? 0 },
  };
}

async function bedrock() {
  const br = require('@aws-sdk/client-bedrock-runtime');
  const { NodeHttpHandler } = require('@smithy/node-http-handler');
  // HTTP/1.1 like the fake (the SDK's default for this service is HTTP/2).
  const client = new br.BedrockRuntimeClient({ endpoint, maxAttempts: 1, requestHandler: new NodeHttpHandler() });
  const out = await client.send(new br.ConverseStreamCommand({
    modelId: model,
    messages: [{ role: 'user', content: [{ text: question }] }],
    ...(tools.length ? {
      toolConfig: { tools: tools.map((t) => ({ toolSpec: { name: t.name, description: t.description, inputSchema: { json: t.input_schema } } })) },
    } : {}),
  }));
  const blocks = new Map();
  let stopReason = '';
  let usage = { input: 0, output: 0 };
  const block = (i) => {
    if (!blocks.has(i)) blocks.set(i, { text: '', reasoning: '', signature: '', input: '', tool: null });
    return blocks.get(i);
  };
  for await (const ev of out.stream) {
    if (ev.contentBlockStart?.start?.toolUse) block(ev.contentBlockStart.contentBlockIndex).tool = ev.contentBlockStart.start.toolUse;
    const d = ev.contentBlockDelta;
    if (d) {
      const b = block(d.contentBlockIndex);
      if (d.delta.text !== undefined) b.text += d.delta.text;
      if (d.delta.toolUse) b.input += d.delta.toolUse.input ?? '';
      if (d.delta.reasoningContent?.text) b.reasoning += d.delta.reasoningContent.text;
      if (d.delta.reasoningContent?.signature) b.signature += d.delta.reasoningContent.signature;
    }
    if (ev.messageStop) stopReason = ev.messageStop.stopReason;
    if (ev.metadata?.usage) usage = { input: ev.metadata.usage.inputTokens, output: ev.metadata.usage.outputTokens };
  }
  const ordered = [...blocks.entries()].sort((a, b) => a[0] - b[0]).map(([, b]) => b);
  return {
    text: ordered.map((b) => b.text).join(''),
    reasoning: ordered.map((b) => b.reasoning).join(''),
    signature: ordered.map((b) => b.signature).join(''),
    tool_calls: ordered.filter((b) => b.tool).map((b) => ({ id: b.tool.toolUseId, name: b.tool.name, input: JSON.parse(b.input || '{}') })),
    finish_reason: stopReason,
    usage,
  };
}

try {
  process.stdout.write(JSON.stringify(await (kind === 'openai' ? openai() : bedrock())) + '\n');
} catch (e) {
  process.stderr.write(`${kind} SDK: ${e.name}: ${e.message}\n`);
  process.exit(1);
}
