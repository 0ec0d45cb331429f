// The UI's API client (ui/app/lib/api.js): tokens in memory, refresh before expiry, one refresh
// and retry on a 401, sign-out when the refresh fails, errors that say what the service said.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Api, ApiError, refreshDelay, tokenExpiry } from '../../../ui/app/lib/api.js';

const jwt = (claims) => ['{"alg":"RS256"}', JSON.stringify(claims)].map((s) => Buffer.from(s).toString('base64url')).join('.') + '.sig';
const json = (status, body) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

// A fake service: routes -> handler(request body, headers); records every call.
function fakeFetch(routes) {
  const calls = [];
  const fn = async (path, init) => {
    const body = init.body ? JSON.parse(init.body) : undefined;
    calls.push({ path, method: init.method, auth: init.headers.Authorization, body });
    const h = routes[`${init.method} ${path}`];
    if (!h) return json(404, { error: { code: 'not_found', message: `no route ${path}` } });
    return h(body, init.headers);
  };
  return { fn, calls };
}

function fakeTimers() {
  const timers = [];
  return {
    timers,
    setTimer: (f, ms) => {
      timers.push({ f, ms, live: true });
      return timers.length - 1;
    },
    clearTimer: (i) => (timers[i].live = false),
  };
}

test('the expiry of a token comes from its exp; the refresh comes a minute before it, or at 4/5 of a short life', () => {
  assert.equal(tokenExpiry(jwt({ exp: 1000 })), 1_000_000);
  assert.equal(tokenExpiry('not-a-jwt'), null);
  assert.equal(refreshDelay(3_600_000, 0), 3_540_000);
  assert.equal(refreshDelay(100_000, 0), 80_000);
  assert.equal(refreshDelay(0, 5), 0);
});

test('login keeps the tokens in memory and schedules the refresh; the refresh keeps the refresh token', async () => {
  const now = 1_700_000_000_000;
  const access1 = jwt({ exp: now / 1000 + 3600 });
  const access2 = jwt({ exp: now / 1000 + 7200 });
  const { fn, calls } = fakeFetch({
    'POST /api/auth/login': () => json(200, { access_token: access1, id_token: 'id', refresh_token: 'r1', expires_in: 3600 }),
    'POST /api/auth/refresh': (b) => (b.refresh_token === 'r1' ? json(200, { access_token: access2, expires_in: 3600 }) : json(401, {})),
    'GET /api/me': (_b, h) => json(200, { username: h.Authorization === `Bearer ${access2}` ? 'refreshed' : 'first' }),
  });
  const t = fakeTimers();
  const api = new Api({ fetchFn: fn, now: () => now, ...t });
  await api.login('alice', 'pw');
  assert.deepEqual(calls[0].body, { username: 'alice', password: 'pw' });
  assert.equal(calls[0].auth, undefined, 'no token is sent to sign in');
  assert.equal(t.timers.length, 1);
  assert.equal(t.timers[0].ms, 3_540_000);
  assert.equal((await api.me()).username, 'first');

  t.timers[0].f();
  await api.refreshing;
  assert.equal((await api.me()).username, 'refreshed');
  assert.equal(api.tokens.refresh, 'r1', 'the refresh token is kept when the refresh returns none');
  assert.equal(t.timers.length, 2, 'the next refresh is scheduled');

  api.signOut();
  assert.equal(api.tokens, null);
  assert.equal(t.timers[1].live, false, 'sign-out cancels the refresh');
  await assert.rejects(api.me(), (e) => e.status === 401);
});

test('a 401 refreshes once and retries once; concurrent 401s share one refresh', async () => {
  let refreshes = 0;
  let current = 'a1';
  const { fn } = fakeFetch({
    'POST /api/auth/login': () => json(200, { access_token: 'a1', refresh_token: 'r', expires_in: 3600 }),
    'POST /api/auth/refresh': async () => {
      refreshes++;
      await new Promise((r) => setTimeout(r, 5));
      current = 'a2';
      return json(200, { access_token: 'a2', expires_in: 3600 });
    },
    'GET /api/agents': (_b, h) => (h.Authorization === `Bearer ${current}` && current === 'a2' ? json(200, { agents: [] }) : json(401, { error: { code: 'unauthenticated', message: 'expired' } })),
  });
  const api = new Api({ fetchFn: fn, ...fakeTimers() });
  await api.login('u', 'p');
  const [a, b] = await Promise.all([api.agents(), api.agents()]);
  assert.deepEqual(a, { agents: [] });
  assert.deepEqual(b, { agents: [] });
  assert.equal(refreshes, 1);
});

test('a failed refresh signs out and says why', async () => {
  let reason = null;
  const { fn } = fakeFetch({
    'POST /api/auth/login': () => json(200, { access_token: 'a1', refresh_token: 'r', expires_in: 3600 }),
    'POST /api/auth/refresh': () => json(401, { error: { code: 'unauthenticated', message: 'refresh token expired' } }),
    'GET /api/agents': () => json(401, { error: { code: 'unauthenticated', message: 'expired' } }),
  });
  const api = new Api({ fetchFn: fn, onSignedOut: (r) => (reason = r), ...fakeTimers() });
  await api.login('u', 'p');
  await assert.rejects(api.agents(), (e) => e instanceof ApiError && e.message === 'refresh token expired');
  assert.equal(api.signedIn, false);
  assert.match(reason, /sign in again/);
});

test('errors carry the service\'s code and message; 403 is reported; an unreachable service says so', async () => {
  let forbidden = null;
  const { fn } = fakeFetch({
    'POST /api/auth/login': () => json(200, { access_token: 'a', refresh_token: 'r', expires_in: 60 }),
    'GET /api/agents': () => json(403, { error: { code: 'forbidden', message: 'group Reviewer' } }),
    'GET /api/chat/sessions': () => new Response('<html>bad gateway</html>', { status: 502, statusText: 'Bad Gateway' }),
  });
  const api = new Api({ fetchFn: fn, onForbidden: (e) => (forbidden = e), ...fakeTimers() });
  await assert.rejects(api.login('u', 'p').then(() => api.agents()), (e) => e.status === 403 && e.code === 'forbidden');
  assert.equal(forbidden.message, 'group Reviewer');
  await assert.rejects(api.sessions(), (e) => e.status === 502 && e.message === '502 Bad Gateway');
  const down = new Api({ fetchFn: async () => { throw new TypeError('fetch failed'); }, ...fakeTimers() });
  await assert.rejects(down.config(), (e) => e.status === 0 && /did not answer GET \/api\/config: fetch failed/.test(e.message));
});

test('a wrong password is a 401 with the service\'s message, and nothing is kept', async () => {
  const { fn } = fakeFetch({
    'POST /api/auth/login': () => json(401, { error: { code: 'unauthenticated', message: 'incorrect username or password' } }),
  });
  const api = new Api({ fetchFn: fn, ...fakeTimers() });
  await assert.rejects(api.login('u', 'bad'), (e) => e.status === 401 && e.message === 'incorrect username or password');
  assert.equal(api.signedIn, false);
});
