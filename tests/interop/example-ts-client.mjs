// Interop: the official TypeScript SDK client (@modelcontextprotocol/sdk 1.32.2) calls each tool of
// idp-mcp-server with a bearer token, over HTTPS trusted through NODE_EXTRA_CA_CERTS. Prints one
// "PASS ..."/"FAIL ..." line per check; exit 1 when any failed.
//
//   PEERS_NODE_MODULES=<peers>/peers/node_modules MCP_TOKEN=... NODE_EXTRA_CA_CERTS=ca.pem \
//     node example-ts-client.mjs https://127.0.0.1:PORT/mcp
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const url = process.argv[2];
const sdkDir = path.join(process.env.PEERS_NODE_MODULES ?? '', '@modelcontextprotocol', 'sdk');
const sdk = (sub) => import(pathToFileURL(path.join(sdkDir, 'dist', 'esm', sub)).href);
const { Client } = await sdk('client/index.js');
const { StreamableHTTPClientTransport } = await sdk('client/streamableHttp.js');

let failures = 0;
let passes = 0;
const check = (ok, what, detail) => {
  if (ok) passes += 1;
  console.log(`${ok ? 'PASS' : 'FAIL'} ${what}${ok ? '' : `: ${JSON.stringify(detail)}`}`);
  if (!ok) failures += 1;
};
const watchdog = setTimeout(() => { console.log('FAIL gave up after 60 s'); process.exit(1); }, 60_000);

const transport = new StreamableHTTPClientTransport(new URL(url), {
  requestInit: { headers: { Authorization: `Bearer ${process.env.MCP_TOKEN}` } },
});
const client = new Client({ name: 'ts-sdk-interop', version: '1.0.0' });
await client.connect(transport);
check(client.getServerVersion()?.name === 'idp-mcp-server', 'initialize over HTTPS with a bearer token', client.getServerVersion());

const { tools } = await client.listTools();
const names = tools.map((t) => t.name).sort();
check(JSON.stringify(names) === JSON.stringify(['calculator', 'get_client_address', 'list_outbox', 'send_verification_email', 'summarize_document']),
  'tools/list names the five tools', names);
check(tools.every((t) => t.outputSchema), 'every tool declares an outputSchema', tools.map((t) => t.name));

const calc = await client.callTool({ name: 'calculator', arguments: { expression: '(12.5 + 7) * 3' } });
check(calc.content?.[0]?.text === '58.5' && calc.structuredContent?.result === 58.5, 'calculator', calc);
const bad = await client.callTool({ name: 'calculator', arguments: { expression: '1/0' } });
check(bad.isError === true && /division by zero at position 2/.test(bad.content?.[0]?.text), 'calculator 1/0 is a tool error that says where', bad);
const addr = await client.callTool({ name: 'get_client_address', arguments: { client_id: 'C-1002' } });
check(addr.structuredContent?.name === 'Alan Turing' && addr.structuredContent?.city === 'Wilmslow', 'get_client_address', addr);
const sql = await client.callTool({ name: 'get_client_address', arguments: { client_id: "C-1' OR 1=1 --" } });
check(sql.isError === true, 'a SQL-looking client_id is refused', sql);
const mail = await client.callTool({ name: 'send_verification_email', arguments: { email: 'ts.client@example.com', idempotency_key: 'ts-1' } });
check(mail.structuredContent?.status === 'queued' || mail.structuredContent?.status === 'sent', 'send_verification_email', mail);
const outbox = await client.callTool({ name: 'list_outbox', arguments: { limit: 5 } });
check(outbox.structuredContent?.messages?.some((m) => m.message_id === mail.structuredContent?.message_id), 'list_outbox lists the message', outbox);
await client.close();
clearTimeout(watchdog);
console.log(`${passes} passed, ${failures} failed`);
process.exit(failures ? 1 : 0);
