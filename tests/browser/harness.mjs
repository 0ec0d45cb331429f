// The browser tests' harness: starts the real stack on 127.0.0.1 — the local identity provider
// (`idp-agents local-cognito`), the MCP server the test agent points at (fixture-server.mjs) and
// the service (`idp-agents serve`, which serves the UI from <build>/share/idp-agents/ui) — waits
// until it answers, and stops every process it started by its pid. Also launches Debian's
// Chromium through playwright-core (no browser download) and saves screenshots.
//
// A test file does:
//   const env = useStack();                      // before(): start the stack and Chromium;
//                                                // after(): close and stop them
//   const page = await newPage(env.browser);     // a fresh context: no cookies, no storage
//   await signIn(page, env.stack, 'user');       // or 'reviewer'
//   ... env.stack.agent.name, env.stack.prompts.table.text ...
//   await screenshot(page, 'chat');              // -> $IDP_ARTIFACTS_DIR/chat.png
//
// Environment (ctest sets the first three; tests/browser/CMakeLists.txt):
//   IDP_BIN_DIR        where idp-agents is (default <repo>/build/bin)
//   IDP_PEERS_DIR      the npm projects of scripts/install-deps.sh (default <repo>/build/peers):
//                      browser/ (playwright-core) and peers/ (the MCP SDK of the fixture server)
//   IDP_ARTIFACTS_DIR  screenshots and the stack's logs (default <repo>/build/browser-artifacts)
//   IDP_CHROMIUM       the browser (default /usr/bin/chromium, Debian's package)
//   IDP_UI_BASE_URL    use a stack that is already running at this URL instead of starting one;
//                      IDP_UI_STACK then names a JSON file with the rest of the Stack
//                      ({users, agent, prompts}); nothing is started or stopped.
//
// What the stack must give the tests (the Stack object):
//   baseUrl           http://127.0.0.1:PORT (the UI at /, the API under /api)
//   users.user        {username, password} of a user who may use the agents
//   users.reviewer    {username, password} of a user in the group Reviewer
//   agent             {id, name} of a ready agent whose sample queries include prompts.sample
//   prompts.*         {text, tool}: questions the stack answers with that tool:
//     sample   the answer contains `answer`          table   a table of more than 10 rows
//     plot     a chart                                slow    a tool that runs until Stop
//     html     a tool result holding markup that must stay text (`payload`)
import { after, before } from 'node:test';
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');
export const BIN_DIR = path.resolve(process.env.IDP_BIN_DIR || path.join(REPO, 'build', 'bin'));
export const PEERS_DIR = path.resolve(process.env.IDP_PEERS_DIR || path.join(REPO, 'build', 'peers'));
export const ARTIFACTS_DIR = path.resolve(process.env.IDP_ARTIFACTS_DIR || path.join(REPO, 'build', 'browser-artifacts'));
export const CHROMIUM = process.env.IDP_CHROMIUM || '/usr/bin/chromium';

// The flags that work on this kind of machine (as root, headless, no GPU, nothing phoning home).
// playwright-core adds --headless and a new empty --user-data-dir of its own for every launch.
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// How long one start-up step may take before the harness gives up and says which one hung.
const STEP_TIMEOUT_MS = 60_000;

const USERS = {
  user: { username: 'alice', password: 'Browser-Test-1!', email: 'alice@example.com' },
  reviewer: { username: 'rita', password: 'Browser-Test-2!', email: 'rita@example.com', group: 'Reviewer' },
};
const AGENT = {
  id: 'fixture_tools',
  name: 'Fixture Tools',
  description: 'Test tools for the web UI: echoes text, lists invoices, reports monthly sales and runs a slow report.',
};
const HTML_PAYLOAD = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';
const PROMPTS = {
  sample: { text: 'Echo the text "hello from the sample query"', tool: 'echo_text', answer: 'hello from the sample query' },
  table: { text: 'List the invoices', tool: 'list_invoices', rows: 23 },
  plot: { text: 'Plot the monthly sales as a bar chart', tool: 'monthly_sales' },
  slow: { text: 'Run the slow report', tool: 'slow_report' },
  // In backticks: the payload holds double quotes, which would end a "quoted" text early.
  html: { text: `Echo the text \`${HTML_PAYLOAD}\``, tool: 'echo_text', payload: HTML_PAYLOAD },
};

// playwright-core from <peers>/browser (installed by scripts/install-deps.sh, not in the tree).
export function loadPlaywright() {
  const req = createRequire(path.join(PEERS_DIR, 'browser', 'package.json'));
  try {
    return req('playwright-core');
  } catch (e) {
    throw new Error(`playwright-core is not installed in ${PEERS_DIR}/browser: run scripts/install-deps.sh --no-apt (${e.message})`);
  }
}

export async function launchBrowser() {
  const { chromium } = loadPlaywright();
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

// A page in a fresh context. Collects console errors and page errors in page.problems, so a
// test can assert that nothing broke (a Content-Security-Policy violation is a console error).
export async function newPage(browser, { width = 1280, height = 860 } = {}) {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  page.problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error') page.problems.push(`console: ${m.text()} (${m.location().url || 'no url'})`);
  });
  page.on('pageerror', (e) => page.problems.push(`page error: ${e.message}`));
  page.on('dialog', (d) => {
    page.problems.push(`dialog: ${d.type()} ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  return page;
}

export async function screenshot(page, name) {
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  const file = path.join(ARTIFACTS_DIR, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

// Opens the UI and signs in as stack.users[who]; resolves once the signed-in page shows.
export async function signIn(page, stack, who = 'user') {
  const u = stack.users[who];
  if (!page.url().startsWith(stack.baseUrl)) await page.goto(stack.baseUrl + '/');
  await page.getByLabel('Username').fill(u.username);
  await page.getByLabel('Password').fill(u.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

// ------------------------------------------------------------------------------------------
// Processes
// ------------------------------------------------------------------------------------------

// A child process whose output goes to a log file under the artifacts dir and is kept in
// memory, so the harness can wait for a line and a failure can show what the process said.
class Proc {
  constructor(name, cmd, args, opts = {}) {
    this.name = name;
    this.out = '';
    this.waiters = [];
    this.exited = null;
    this.log = createWriteStream(path.join(opts.logDir, `${name}.log`));
    this.child = spawn(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...(opts.env || {}) }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.pid = this.child.pid;
    const take = (chunk) => {
      const s = chunk.toString('utf8');
      this.out += s;
      this.log.write(s);
      for (const w of [...this.waiters]) w();
    };
    this.child.stdout.on('data', take);
    this.child.stderr.on('data', take);
    this.child.on('exit', (code, signal) => {
      this.exited = { code, signal };
      for (const w of [...this.waiters]) w();
    });
    this.child.on('error', (e) => {
      this.exited = { code: null, signal: null, error: e };
      for (const w of [...this.waiters]) w();
    });
  }

  // The first match of `re` in the output; fails when the process exits first or the step
  // takes longer than STEP_TIMEOUT_MS.
  waitFor(re, what) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const m = this.out.match(re);
        if (m) return done(() => resolve(m[1] ?? m[0]));
        if (this.exited) {
          const how = this.exited.error ? this.exited.error.message : `exit ${this.exited.code ?? this.exited.signal}`;
          return done(() => reject(new Error(`${this.name} (${how}) before ${what}; its output:\n${this.out.slice(-4000)}`)));
        }
      };
      const timer = setTimeout(() => done(() => reject(new Error(
        `${this.name} did not print ${what} within ${STEP_TIMEOUT_MS / 1000} s; its output:\n${this.out.slice(-4000)}`))), STEP_TIMEOUT_MS);
      const done = (f) => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
        f();
      };
      this.waiters.push(check);
      check();
    });
  }

  // SIGTERM by pid, SIGKILL when it has not exited after a grace period.
  async stop() {
    if (this.exited) return this.log.end();
    const gone = new Promise((r) => this.child.once('exit', r));
    try {
      process.kill(this.pid, 'SIGTERM');
    } catch {
      return this.log.end();
    }
    const timer = setTimeout(() => {
      try {
        process.kill(this.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 5000);
    await gone;
    clearTimeout(timer);
    this.log.end();
  }
}

// Runs a command to its end; {code, out}.
function run(cmd, args) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    child.on('error', (e) => resolve({ code: -1, out: e.message }));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

// True when this build's idp-agents has the `serve` command (the browser tests need it).
export async function serviceAvailable() {
  const r = await run(path.join(BIN_DIR, 'idp-agents'), ['serve', '--help']);
  return r.code === 0;
}

// Waits until `url` answers 200 (the service's /readyz once the registry has read the secret).
async function waitReady(url, proc) {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  let last = '';
  while (Date.now() < deadline) {
    if (proc.exited) throw new Error(`${proc.name} exited before ${url} was ready; its output:\n${proc.out.slice(-4000)}`);
    try {
      const r = await fetch(url);
      if (r.status === 200) return;
      last = `${r.status} ${await r.text()}`;
    } catch (e) {
      last = e.message;
    }
    // Poll again once the process has said something more, or after a short while.
    await new Promise((resolve) => {
      const t = setTimeout(resolve, 100);
      proc.waiters.push(function w() {
        clearTimeout(t);
        proc.waiters = proc.waiters.filter((x) => x !== w);
        resolve();
      });
    });
  }
  throw new Error(`${url} was not ready within ${STEP_TIMEOUT_MS / 1000} s (last answer: ${last})`);
}

// One call of the Cognito JSON API (local identity provider).
async function cognito(endpoint, op, body) {
  const r = await fetch(endpoint + '/', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': `AWSCognitoIdentityProviderService.${op}` },
    body: JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`local identity provider: ${op} answered ${r.status}: ${text}`);
  return text ? JSON.parse(text) : {};
}

// The users' pool: an app client for USER_PASSWORD_AUTH and refresh, a user, and a Reviewer.
async function setUpPool(endpoint) {
  const pool = (await cognito(endpoint, 'CreateUserPool', { PoolName: 'browser-tests' })).UserPool.Id;
  const client = (await cognito(endpoint, 'CreateUserPoolClient', {
    UserPoolId: pool, ClientName: 'web-ui', ExplicitAuthFlows: ['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
  })).UserPoolClient.ClientId;
  for (const u of Object.values(USERS)) {
    await cognito(endpoint, 'AdminCreateUser', {
      UserPoolId: pool, Username: u.username, TemporaryPassword: 'Temp-0rary!x', MessageAction: 'SUPPRESS',
      UserAttributes: [{ Name: 'email', Value: u.email }],
    });
    await cognito(endpoint, 'AdminSetUserPassword', { UserPoolId: pool, Username: u.username, Password: u.password, Permanent: true });
    if (u.group) {
      await cognito(endpoint, 'CreateGroup', { UserPoolId: pool, GroupName: u.group }).catch((e) => {
        if (!/GroupExists/.test(e.message)) throw e;
      });
      await cognito(endpoint, 'AdminAddUserToGroup', { UserPoolId: pool, Username: u.username, GroupName: u.group });
    }
  }
  return { pool, client };
}

async function externalStack() {
  const file = process.env.IDP_UI_STACK;
  if (!file) throw new Error('IDP_UI_BASE_URL is set but IDP_UI_STACK (the JSON file describing that stack) is not');
  const desc = JSON.parse(await readFile(file, 'utf8'));
  return { baseUrl: process.env.IDP_UI_BASE_URL.replace(/\/$/, ''), ...desc, stop: async () => {} };
}

// Starts the stack (or describes the running one, see IDP_UI_BASE_URL) and returns the Stack.
export async function startStack() {
  if (process.env.IDP_UI_BASE_URL) return externalStack();
  const agents = path.join(BIN_DIR, 'idp-agents');
  if (!(await serviceAvailable())) {
    throw new Error(`${agents} has no 'serve' command: build it (cmake --build build) first`);
  }
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'idp-browser-'));
  const logDir = path.join(ARTIFACTS_DIR, 'logs', path.basename(dir));
  await mkdir(logDir, { recursive: true });
  const procs = [];
  const stop = async () => {
    for (const p of procs.reverse()) await p.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const idp = new Proc('local-cognito', agents, ['local-cognito', '--port', '0', '--data', path.join(dir, 'cognito')], { logDir });
    procs.push(idp);
    const idpUrl = await idp.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/, 'its URL');
    const { pool, client } = await setUpPool(idpUrl);

    const mcp = new Proc('fixture-server', process.execPath, [path.join(HERE, 'fixture-server.mjs'), '0'],
                         { logDir, env: { IDP_PEERS_DIR: PEERS_DIR } });
    procs.push(mcp);
    const mcpUrl = await mcp.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+\/mcp)/, 'its URL');

    const secret = path.join(dir, 'agents.json');
    await writeFile(secret, JSON.stringify([{
      mcp_url: mcpUrl,
      agent_id: AGENT.id,
      agent_name: AGENT.name,
      agent_description: AGENT.description,
      auth: { type: 'none' },
      sample_queries: [PROMPTS.sample.text, PROMPTS.table.text, PROMPTS.plot.text],
    }], null, 2));
    await chmod(secret, 0o600);

    // The service: the users' pool of the local identity provider, the secret above, its store
    // in the temporary dir, the offline planner whatever IDP_MODEL says (the prompts are written
    // for it); it prints `listening on http://127.0.0.1:PORT` once it listens.
    const serve = new Proc('serve', agents, [
      'serve', '--listen', '127.0.0.1:0', '--model', 'offline', '--secret', `file://${secret}`,
      '--cognito-endpoint', idpUrl, '--user-pool-id', pool, '--user-client-id', client,
      '--data', path.join(dir, 'serve'),
    ], { logDir });
    procs.push(serve);
    const baseUrl = await serve.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/, 'its URL');
    await waitReady(baseUrl + '/readyz', serve);
    return {
      baseUrl,
      users: USERS,
      agent: { id: AGENT.id, name: AGENT.name },
      prompts: PROMPTS,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

// ------------------------------------------------------------------------------------------
// Test-file set-up and page helpers shared by the test files
// ------------------------------------------------------------------------------------------

// Registers before/after hooks of the calling test file: one stack and one browser for all its
// tests, then setup(env) if given. Returns {stack, browser}, filled once before() has run.
export function useStack(setup) {
  const env = { stack: null, browser: null };
  before(async () => {
    env.stack = await startStack();
    env.browser = await launchBrowser();
    if (setup) await setup(env);
  });
  after(async () => {
    await env.browser?.close();
    await env.stack?.stop();
  });
  return env;
}

// A new page, signed in as the user, with the stack's agent picked.
export async function chatPage(env, options) {
  const page = await newPage(env.browser, options);
  await signIn(page, env.stack);
  await page.getByRole('checkbox', { name: env.stack.agent.name }).check();
  return page;
}

export function conversation(page) {
  return page.getByRole('log', { name: 'Conversation' });
}

// The newest answer in the conversation.
export function lastAnswer(page) {
  return conversation(page).getByRole('article', { name: 'Answer' }).last();
}

// Types a message into the box and sends it with the Send button.
export async function ask(page, text) {
  await page.getByLabel('Message').fill(text);
  await page.getByRole('button', { name: 'Send' }).click();
}

// Waits until the newest answer has ended; returns how it ended (complete, error, cancelled...).
export async function answerEnded(page) {
  const answer = lastAnswer(page);
  await answer.and(page.locator(':not([data-status="running"])')).waitFor();
  return answer.getAttribute('data-status');
}

// The collapsible step of a tool call in an answer.
export function toolStep(answer, tool) {
  return answer.locator('details.step-tool').filter({ has: answer.page().locator('summary .step-name', { hasText: tool }) });
}
