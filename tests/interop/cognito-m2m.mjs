// Interop peer: the AWS JavaScript SDK v3 (@aws-sdk/client-cognito-identity-provider) sets up
// machine-to-machine OAuth on a Cognito-compatible endpoint (our `idp-agents local-cognito`), as
// the Cognito guide does it: a user pool, a resource server with two custom scopes
// (CreateResourceServer, checked with DescribeResourceServer and ListResourceServers), and two app
// clients with a secret allowed the client_credentials flow (GenerateSecret, AllowedOAuthFlows,
// AllowedOAuthScopes, AllowedOAuthFlowsUserPoolClient): one allowed both scopes, one only the
// first. It also checks that Cognito's refusals reach the SDK with their names (a
// client_credentials client without a secret, an unknown scope, a duplicate resource server).
//
//   node tests/interop/cognito-m2m.mjs ENDPOINT
//
// Prints one line per check ("ok ..." or "FAIL ...") and, last, a JSON line
// {"pool", "identifier", "full": {"id", "secret"}, "read": {"id", "secret"}} for the calling
// script; exits 1 on a failed check. Packages come from $IDP_PEERS_DIR/peers-aws.
import { check, cip, cognitoClient, expectError, failed } from './cognito-sdk-lib.mjs';

const client = cognitoClient('cognito-m2m.mjs');

const identifier = 'https://mcp.example.com';
const pool = (await client.send(new cip.CreateUserPoolCommand({ PoolName: 'm2m-pool' }))).UserPool;
const rs = (await client.send(new cip.CreateResourceServerCommand({
  UserPoolId: pool.Id, Identifier: identifier, Name: 'Example MCP server',
  Scopes: [
    { ScopeName: 'tools.read', ScopeDescription: 'list and call read-only tools' },
    { ScopeName: 'mail.send', ScopeDescription: 'send verification e-mails' },
  ],
}))).ResourceServer;
check(rs.Identifier === identifier && rs.Scopes.length === 2 && rs.Scopes[1].ScopeName === 'mail.send',
  'CreateResourceServer returns the server with its scopes', JSON.stringify(rs));
const described = (await client.send(new cip.DescribeResourceServerCommand({
  UserPoolId: pool.Id, Identifier: identifier }))).ResourceServer;
check(described.Name === 'Example MCP server' && described.Scopes[0].ScopeDescription.startsWith('list'),
  'DescribeResourceServer returns it', JSON.stringify(described));
const listed = await client.send(new cip.ListResourceServersCommand({ UserPoolId: pool.Id, MaxResults: 10 }));
check(listed.ResourceServers.length === 1 && listed.ResourceServers[0].Identifier === identifier,
  'ListResourceServers lists it', JSON.stringify(listed.ResourceServers));
await expectError(client.send(new cip.CreateResourceServerCommand({
  UserPoolId: pool.Id, Identifier: identifier, Name: 'again' })), 'InvalidParameterException',
'a second resource server with the same identifier is an InvalidParameterException');

const read = `${identifier}/tools.read`, send = `${identifier}/mail.send`;
async function m2mClient(name, scopes) {
  return (await client.send(new cip.CreateUserPoolClientCommand({
    UserPoolId: pool.Id, ClientName: name, GenerateSecret: true,
    AllowedOAuthFlows: ['client_credentials'], AllowedOAuthScopes: scopes,
    AllowedOAuthFlowsUserPoolClient: true,
  }))).UserPoolClient;
}
const full = await m2mClient('m2m-full', [read, send]);
check(typeof full.ClientSecret === 'string' && full.ClientSecret.length > 20 &&
  full.AllowedOAuthFlows?.[0] === 'client_credentials' && full.AllowedOAuthScopes?.length === 2 &&
  full.AllowedOAuthFlowsUserPoolClient === true,
'CreateUserPoolClient with GenerateSecret and the client_credentials flow returns the secret and the OAuth settings');
const readOnly = await m2mClient('m2m-read', [read]);
const again = (await client.send(new cip.DescribeUserPoolClientCommand({
  UserPoolId: pool.Id, ClientId: full.ClientId }))).UserPoolClient;
check(again.ClientSecret === full.ClientSecret && again.AllowedOAuthScopes.includes(send),
  'DescribeUserPoolClient returns the same client');

await expectError(client.send(new cip.CreateUserPoolClientCommand({
  UserPoolId: pool.Id, ClientName: 'no-secret', AllowedOAuthFlows: ['client_credentials'],
  AllowedOAuthScopes: [read], AllowedOAuthFlowsUserPoolClient: true,
})), 'InvalidOAuthFlowException', 'client_credentials without a secret is an InvalidOAuthFlowException');
await expectError(m2mClient('bad-scope', [`${identifier}/nope`]), 'ScopeDoesNotExistException',
  'an unknown scope is a ScopeDoesNotExistException');

console.log(JSON.stringify({
  pool: pool.Id, identifier,
  full: { id: full.ClientId, secret: full.ClientSecret },
  read: { id: readOnly.ClientId, secret: readOnly.ClientSecret },
}));
process.exit(failed() ? 1 : 0);
