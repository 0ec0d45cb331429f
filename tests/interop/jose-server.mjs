// Interop peer for our identity provider: an MCP server built on the official TypeScript SDK
// (@modelcontextprotocol/sdk 1.32.2, stateless Streamable HTTP, JSON responses) that accepts
// only Cognito access tokens it validated with the npm `jose` library (createRemoteJWKSet +
// jwtVerify: RS256, exact issuer, token_use "access", client_id allow-list), as a TypeScript
// MCP server protected by Cognito would. Bound to 127.0.0.1.
//
//   node tests/interop/jose-server.mjs --issuer URL --client-id ID [--port P]
//
// Prints `listening on http://127.0.0.1:PORT/mcp` first. Tool: whoami -> the verified claims.
// Unauthenticated or invalid tokens get 401 with a WWW-Authenticate challenge naming jose's
// error code. Packages come from $IDP_PEERS_DIR/{peers,peers-aws} (scripts/install-deps.sh).
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const peersRoot = path.resolve(repo, process.env.IDP_PEERS_DIR || path.join('build', 'peers'));
const require = createRequire(path.join(peersRoot, 'peers', 'package.json'));
const { McpServer } = require('@modelcontextprotocol/sdk/server/mcp.js');
const { StreamableHTTPServerTransport } = require('@modelcontextprotocol/sdk/server/streamableHttp.js');
const jose = await import(pathToFileURL(path.join(peersRoot, 'peers-aws', 'node_modules', 'jose', 'dist', 'webapi', 'index.js')));

function option(name) {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}
const issuer = option('--issuer');
const clientId = option('--client-id');
const port = Number(option('--port') ?? 0);
if (!issuer || !clientId) {
  console.error('usage: node jose-server.mjs --issuer URL --client-id ID [--port P]');
  process.exit(2);
}
const jwks = jose.createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`));

async function verify(req) {
  const h = req.headers.authorization ?? '';
  if (!h.startsWith('Bearer ')) return { error: 'missing' };
  try {
    const { payload } = await jose.jwtVerify(h.slice(7), jwks, { issuer, algorithms: ['RS256'] });
    if (payload.token_use !== 'access') return { error: 'not an access token' };
    if (payload.client_id !== clientId) return { error: 'client_id not allowed' };
    return { payload };
  } catch (e) {
    return { error: e.code ?? String(e) };
  }
}

const http = createServer(async (req, res) => {
  if (req.url !== '/mcp') {
    res.writeHead(404).end();
    return;
  }
  const v = await verify(req);
  if (v.error) {
    const detail = v.error === 'missing' ? '' : `, error="invalid_token", error_description="${v.error}"`;
    res.writeHead(401, { 'WWW-Authenticate': `Bearer realm="jose-server"${detail}` }).end();
    return;
  }
  const server = new McpServer({ name: 'jose-protected-ts-server', version: '1.0.0' });
  server.registerTool('whoami', { description: 'The verified token claims' }, async () => ({
    content: [{ type: 'text', text: JSON.stringify(v.payload) }],
  }));
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  res.on('close', () => {
    transport.close();
    server.close();
  });
  await server.connect(transport);
  let body = '';
  for await (const chunk of req) body += chunk;
  await transport.handleRequest(req, res, body ? JSON.parse(body) : undefined);
});
http.listen(port, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${http.address().port}/mcp`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => http.close(() => process.exit(0)));
