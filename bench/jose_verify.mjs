// Reference verifier for bench/jwt_verify: `jose`'s jwtVerify on the token that bench-jwt-verify
// signed, with that run's public JWKS, under the system Node (Node 20 on the machine this was
// written on).
//
// Usage: node bench/jose_verify.mjs <token-file> <jwks-file> <issuer-file> [seconds]
//
// Imports the JWKS with createLocalJWKSet (no network; jose imports each key once and keeps it),
// then runs
//
//   await jwtVerify(token, jwks, { issuer, algorithms: ['RS256'] })
//
// one call at a time (each awaited before the next, as a server verifies one request's token),
// first for a 0.5 s warm-up, then for [seconds] (default 3; fractions allowed). Every result is
// checked (sub present, token_use "access", client_id as in the first result) so that jose does
// the same work as our verifier's Cognito rules; a rejected or wrong result exits with status 1.
// On success prints one line to stdout:
//
//   per_s=N wall_per_s=W calls=C seconds=S node=vX.Y.Z jose=A.B.C
//
// per_s counts calls per second of the process's CPU time (user + system, all threads: jose's
// WebCrypto verify runs on libuv's thread pool), as bench-jwt-verify counts its own per second of
// its thread's CPU time; wall_per_s per second of wall-clock time.
//
// jose is not installed next to this file but by scripts/install-deps.sh into
// $IDP_PEERS_DIR/peers-aws (IDP_PEERS_DIR relative = to the repo root, default <repo>/build/peers).
// jose 6 is ESM only: it is imported from dist/webapi/index.js by file URL.
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

const WARMUP_S = 0.5;

function fail(message) {
  console.error(`jose_verify: ${message}`);
  process.exit(1);
}

const [tokenFile, jwksFile, issuerFile, secondsArg] = process.argv.slice(2);
if (!tokenFile || !jwksFile || !issuerFile) {
  fail('usage: node bench/jose_verify.mjs <token-file> <jwks-file> <issuer-file> [seconds]');
}
const seconds = secondsArg === undefined ? 3 : Number(secondsArg);
if (!Number.isFinite(seconds) || seconds <= 0) fail(`seconds must be a positive number, got '${secondsArg}'`);

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const peersRoot = path.resolve(repo, process.env.IDP_PEERS_DIR || path.join('build', 'peers'));
const joseDir = path.join(peersRoot, 'peers-aws', 'node_modules', 'jose');
const joseEntry = path.join(joseDir, 'dist', 'webapi', 'index.js');
if (!fs.existsSync(joseEntry)) fail(`jose not found at ${joseEntry}: run scripts/install-deps.sh`);
const joseVersion = JSON.parse(fs.readFileSync(path.join(joseDir, 'package.json'), 'utf8')).version;
const { createLocalJWKSet, jwtVerify } = await import(pathToFileURL(joseEntry).href);

const token = fs.readFileSync(tokenFile, 'utf8').trim();
const issuer = fs.readFileSync(issuerFile, 'utf8').trim();
let jwksJson;
try {
  jwksJson = JSON.parse(fs.readFileSync(jwksFile, 'utf8'));
} catch (e) {
  fail(`${jwksFile} is not JSON: ${e.message}`);
}
const jwks = createLocalJWKSet(jwksJson);
const options = { issuer, algorithms: ['RS256'] };

let clientId;
async function verifyOnce() {
  const { payload } = await jwtVerify(token, jwks, options);
  if (typeof payload.sub !== 'string' || payload.token_use !== 'access' ||
      typeof payload.client_id !== 'string' || (clientId !== undefined && payload.client_id !== clientId)) {
    fail(`unexpected claims: ${JSON.stringify(payload)}`);
  }
  clientId = payload.client_id;
}

async function runFor(s) {
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const until = start + s * 1000;
  let calls = 0;
  let now;
  do {
    for (let i = 0; i < 16; i++) await verifyOnce();
    calls += 16;
    now = performance.now();
  } while (now < until);
  const cpu = process.cpuUsage(cpuStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const wallSeconds = (now - start) / 1000;
  return { calls, wallSeconds, perCpu: calls / cpuSeconds, perWall: calls / wallSeconds };
}

try {
  await verifyOnce();
  await runFor(WARMUP_S);
  const r = await runFor(seconds);
  console.log(`per_s=${r.perCpu.toFixed(0)} wall_per_s=${r.perWall.toFixed(0)} calls=${r.calls} ` +
    `seconds=${r.wallSeconds.toFixed(3)} node=${process.version} jose=${joseVersion}`);
} catch (e) {
  fail(`jwtVerify rejected the token: ${e.code || ''} ${e.message}`);
}
