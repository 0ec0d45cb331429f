// The service's API (docs/api.md) as the UI uses it, and the signed-in user's tokens.
// Tokens live in this object only (never localStorage or a cookie): a reload signs the user out.
// The access token is refreshed shortly before it expires; a 401 triggers one refresh and one
// retry; a failed refresh signs out. Not thread-safe in any sense that matters: one per page.

export class ApiError extends Error {
  // status: HTTP status (0 when the service could not be reached); code: the API's error code.
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

// Seconds before expiry at which the access token is refreshed (or a fifth of its lifetime
// when that is shorter, so short-lived tokens are refreshed too).
const REFRESH_MARGIN_S = 60;

// The `exp` claim of a JWT in milliseconds since the epoch, or null when it has none.
export function tokenExpiry(token) {
  try {
    const part = token.split('.')[1];
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
    const json = JSON.parse(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4)));
    return typeof json.exp === 'number' ? json.exp * 1000 : null;
  } catch {
    return null;
  }
}

// When to refresh a token that expires at `expiresAt` (ms), seen at `now` (ms).
export function refreshDelay(expiresAt, now) {
  const lifetime = Math.max(0, expiresAt - now);
  const margin = Math.min(REFRESH_MARGIN_S * 1000, lifetime / 5);
  return Math.max(0, lifetime - margin);
}

async function errorFrom(response) {
  let code = 'http_' + response.status;
  let message = `${response.status} ${response.statusText || ''}`.trim();
  try {
    const body = await response.json();
    if (body && body.error) {
      code = body.error.code || code;
      message = body.error.message || message;
    }
  } catch {
    // Not JSON (a proxy's page, say): the status line says enough.
  }
  return new ApiError(response.status, code, message);
}

export class Api {
  // fetchFn, now, setTimer and clearTimer are injectable for tests.
  // onSignedOut(reason) is called when the session ends by itself (refresh failed);
  // onForbidden(error) when the service refuses this user (403: the Reviewer group).
  constructor({
    fetchFn = (...a) => globalThis.fetch(...a),
    now = () => Date.now(),
    setTimer = (f, ms) => setTimeout(f, ms),
    clearTimer = (t) => clearTimeout(t),
    onSignedOut = () => {},
    onForbidden = () => {},
  } = {}) {
    this.fetchFn = fetchFn;
    this.now = now;
    this.setTimer = setTimer;
    this.clearTimer = clearTimer;
    this.onSignedOut = onSignedOut;
    this.onForbidden = onForbidden;
    this.tokens = null;
    this.timer = null;
    this.refreshing = null;
  }

  get signedIn() {
    return this.tokens !== null;
  }

  async login(username, password) {
    const res = await this.send('POST', '/api/auth/login', { username, password }, { auth: false });
    const body = await res.json();
    this.setTokens(body, null);
    return body;
  }

  // Refreshes the access token now; one refresh at a time (callers share it).
  refresh() {
    if (!this.tokens) return Promise.reject(new ApiError(401, 'unauthenticated', 'not signed in'));
    if (!this.refreshing) {
      const refreshToken = this.tokens.refresh;
      this.refreshing = (async () => {
        try {
          const res = await this.send('POST', '/api/auth/refresh', { refresh_token: refreshToken },
                                      { auth: false });
          const body = await res.json();
          if (this.tokens && this.tokens.refresh === refreshToken) this.setTokens(body, refreshToken);
        } catch (e) {
          if (this.tokens && this.tokens.refresh === refreshToken) {
            this.clear();
            this.onSignedOut('Your sign-in expired and could not be renewed; sign in again.');
          }
          throw e;
        } finally {
          this.refreshing = null;
        }
      })();
    }
    return this.refreshing;
  }

  signOut() {
    this.clear();
  }

  clear() {
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = null;
    this.tokens = null;
  }

  setTokens(body, previousRefresh) {
    if (!body || typeof body.access_token !== 'string') {
      throw new ApiError(0, 'bad_response', 'the service answered the sign-in without an access token');
    }
    const now = this.now();
    const fromJwt = tokenExpiry(body.access_token);
    const fromBody = typeof body.expires_in === 'number' ? now + body.expires_in * 1000 : null;
    // The earlier of the two: the service's expires_in may be longer than the token's exp.
    const candidates = [fromJwt, fromBody].filter((v) => v !== null);
    const expiresAt = candidates.length ? Math.min(...candidates) : now + 3600 * 1000;
    this.tokens = {
      access: body.access_token,
      id: body.id_token || null,
      refresh: body.refresh_token || previousRefresh,
      expiresAt,
    };
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = null;
    if (this.tokens.refresh) {
      this.timer = this.setTimer(() => {
        this.timer = null;
        this.refresh().catch(() => {});
      }, refreshDelay(expiresAt, now));
    }
  }

  // One HTTP exchange; throws ApiError for a non-2xx answer or an unreachable service.
  async send(method, path, body, { auth = true, signal, headers = {} } = {}) {
    const attempt = async () => {
      const h = { Accept: 'application/json', ...headers };
      if (body !== undefined) h['Content-Type'] = 'application/json';
      if (auth) {
        if (!this.tokens) throw new ApiError(401, 'unauthenticated', 'not signed in');
        h.Authorization = 'Bearer ' + this.tokens.access;
      }
      try {
        return await this.fetchFn(path, {
          method,
          headers: h,
          body: body === undefined ? undefined : JSON.stringify(body),
          signal,
          cache: 'no-store',
        });
      } catch (e) {
        if (e && e.name === 'AbortError') throw e;
        throw new ApiError(0, 'unreachable', `the service did not answer ${method} ${path}: ${e.message || e}`);
      }
    };
    let res = await attempt();
    if (res.status === 401 && auth && this.tokens && this.tokens.refresh) {
      await this.refresh();
      res = await attempt();
    }
    if (!res.ok) {
      const err = await errorFrom(res);
      if (res.status === 403 && auth) this.onForbidden(err);
      throw err;
    }
    return res;
  }

  async json(method, path, body, options) {
    const res = await this.send(method, path, body, options);
    if (res.status === 204) return null;
    return res.json();
  }

  config() {
    return this.json('GET', '/api/config', undefined, { auth: false });
  }
  me() {
    return this.json('GET', '/api/me');
  }
  agents() {
    return this.json('GET', '/api/agents');
  }
  refreshAgents() {
    return this.json('POST', '/api/agents/refresh', {});
  }
  sessions() {
    return this.json('GET', '/api/chat/sessions');
  }
  session(id) {
    return this.json('GET', '/api/chat/sessions/' + encodeURIComponent(id));
  }
  createSession(agentIds) {
    return this.json('POST', '/api/chat/sessions', agentIds.length ? { agent_ids: agentIds } : {});
  }
  deleteSession(id) {
    return this.json('DELETE', '/api/chat/sessions/' + encodeURIComponent(id));
  }
  cancel(id) {
    return this.json('POST', '/api/chat/sessions/' + encodeURIComponent(id) + '/cancel', {});
  }
  // The turn's event stream (a Response whose body is text/event-stream).
  postMessage(id, text, agentIds, signal) {
    const body = agentIds.length ? { text, agent_ids: agentIds } : { text };
    return this.send('POST', '/api/chat/sessions/' + encodeURIComponent(id) + '/messages', body, {
      signal,
      headers: { Accept: 'text/event-stream' },
    });
  }
  // The latest turn's events after seq `after` (stored ones, then live ones).
  followEvents(id, after, signal) {
    const q = '?after=' + encodeURIComponent(String(after));
    return this.send('GET', '/api/chat/sessions/' + encodeURIComponent(id) + '/events' + q, undefined, {
      signal,
      headers: { Accept: 'text/event-stream' },
    });
  }
}
