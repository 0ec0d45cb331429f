// Captures the requests the AWS JavaScript SDK v3 signs, for the SigV4 cross-check
// (run-sigv4-vs-aws-sdk.sh): a capture server on 127.0.0.1 answers like the services would, and
// the SDK sends to it (1) Secrets Manager GetSecretValue, (2) Bedrock Runtime Converse for a
// model id containing ':' (sent as %3A, signed double-encoded as %253A), each with and without
// a session token. Prints one JSON line per request:
//   {"method","path","query","headers":[[name,value]...],"body_base64","region","service",
//    "access_key_id","secret_access_key","session_token","amz_date","authorization"}
// where `headers` are the signed ones except x-amz-date and x-amz-security-token (the signer
// adds those itself). Packages come from $IDP_PEERS_DIR/peers-aws.
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const peersRoot = path.resolve(repo, process.env.IDP_PEERS_DIR || path.join('build', 'peers'));
const require = createRequire(path.join(peersRoot, 'peers-aws', 'package.json'));
const sm = require('@aws-sdk/client-secrets-manager');
const br = require('@aws-sdk/client-bedrock-runtime');
// Bedrock Runtime defaults to HTTP/2; the capture server speaks HTTP/1.1, as our client does.
const { NodeHttpHandler } = require('@smithy/node-http-handler');

const captured = [];
const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const auth = req.headers.authorization ?? '';
    const signed = (/SignedHeaders=([^,]+)/.exec(auth)?.[1] ?? '').split(';');
    const headers = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i].toLowerCase();
      if (signed.includes(name) && name !== 'x-amz-date' && name !== 'x-amz-security-token') {
        headers.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
      }
    }
    const [p, q = ''] = req.url.split(/\?(.*)/s);
    captured.push({ method: req.method, path: p, query: q, headers, body_base64: body.toString('base64'),
      amz_date: req.headers['x-amz-date'], authorization: auth, session_token: req.headers['x-amz-security-token'] ?? '' });
    if (req.url.startsWith('/model/')) {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({
        output: { message: { role: 'assistant', content: [{ text: 'ok' }] } }, stopReason: 'end_turn',
        usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 }, metrics: { latencyMs: 1 } }));
    } else {
      res.writeHead(200, { 'Content-Type': 'application/x-amz-json-1.1' }).end(JSON.stringify({
        ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:x', Name: 'x', VersionId: 'v1',
        SecretString: '[]', VersionStages: ['AWSCURRENT'], CreatedDate: 1.7e9 }));
    }
  });
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const endpoint = `http://127.0.0.1:${server.address().port}`;
const keys = { accessKeyId: 'AKIDCROSSCHECK', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYCROSSKEY' };
const runs = [];
for (const credentials of [keys, { ...keys, sessionToken: 'IQoJb3JpZ2luX2VjEXAMPLE//session+token=' }]) {
  for (const region of ['us-east-1', 'eu-west-3']) {
    const s = new sm.SecretsManagerClient({ region, endpoint, credentials, maxAttempts: 1 });
    await s.send(new sm.GetSecretValueCommand({ SecretId: 'stack/external-mcp-agents/credentials' }));
    runs.push({ region, service: 'secretsmanager', credentials });
    const b = new br.BedrockRuntimeClient({ region, endpoint, credentials, maxAttempts: 1,
      requestHandler: new NodeHttpHandler() });
    await b.send(new br.ConverseCommand({
      modelId: 'us.anthropic.claude-3-5-sonnet-20240620-v1:0',
      messages: [{ role: 'user', content: [{ text: 'What is 2 + 40? Use the tool "add".' }] }],
      inferenceConfig: { maxTokens: 64 } }));
    runs.push({ region, service: 'bedrock', credentials });
  }
}
server.close();
if (captured.length !== runs.length) {
  console.error(`captured ${captured.length} requests, expected ${runs.length}`);
  process.exit(1);
}
captured.forEach((c, i) => {
  const r = runs[i];
  console.log(JSON.stringify({ ...c, region: r.region, service: r.service, access_key_id: r.credentials.accessKeyId,
    secret_access_key: r.credentials.secretAccessKey, session_token: r.credentials.sessionToken ?? '' }));
});
