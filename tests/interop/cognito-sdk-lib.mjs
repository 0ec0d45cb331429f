// Shared by the AWS SDK interop peers (cognito-sdk.mjs, cognito-m2m.mjs): the Cognito client of
// the AWS JavaScript SDK v3 (from $IDP_PEERS_DIR/peers-aws) pointed at ENDPOINT (argv[2]; usage
// printed and exit 2 without it), and the "ok ..."/"FAIL ..." check lines they print.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const peersRoot = path.resolve(repo, process.env.IDP_PEERS_DIR || path.join('build', 'peers'));
const require = createRequire(path.join(peersRoot, 'peers-aws', 'package.json'));
export const cip = require('@aws-sdk/client-cognito-identity-provider');

export function cognitoClient(script) {
  const endpoint = process.argv[2];
  if (!endpoint) {
    console.error(`usage: node ${script} ENDPOINT`);
    process.exit(2);
  }
  return new cip.CognitoIdentityProviderClient({
    endpoint,
    region: 'us-east-1',
    // The admin operations are SigV4-signed; the local provider does not check them.
    credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' },
    maxAttempts: 1,
  });
}

let failures = 0;
export function failed() { return failures; }
export function check(cond, what, detail) {
  console.log(`${cond ? 'ok' : 'FAIL'} ${what}${cond || detail === undefined ? '' : `: ${detail}`}`);
  if (!cond) failures++;
}
// A Cognito error as the SDK raises it: its name parsed from __type, HTTP 400, a message.
export async function expectError(promise, name, what) {
  try {
    await promise;
    check(false, what, 'no error');
  } catch (e) {
    check(e.name === name && e.$metadata?.httpStatusCode === 400 && typeof e.message === 'string' && e.message.length > 0,
      what, `${e.name} ${e.$metadata?.httpStatusCode} ${e.message}`);
  }
}
