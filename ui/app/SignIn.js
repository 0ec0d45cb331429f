// The sign-in form: username and password go to POST /api/auth/login (the service signs in to
// the users' pool); the tokens stay in the Api object. Says clearly what went wrong.
import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from './lib/html.js';

function explain(e) {
  if (!e) return '';
  if (e.code === 'challenge') {
    return `The identity provider asks for more before you can sign in (${e.message}). ` +
      'Finish that step with your administrator, then sign in again.';
  }
  if (e.status === 401) return 'Incorrect username or password.';
  if (e.status === 0) return `The service cannot be reached: ${e.message}`;
  return `Sign-in failed: ${e.message}`;
}

export function SignIn({ api, config, configError, notice, onSignedIn }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const userRef = useRef(null);

  useEffect(() => userRef.current && userRef.current.focus(), []);

  const submit = async (e) => {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      await api.login(username.trim(), password);
      const me = await api.me();
      setPassword('');
      onSignedIn(me);
    } catch (err) {
      api.signOut();
      setError(err);
      setBusy(false);
    }
  };

  return html`
    <main id="main" class="signin">
      <form class="card signin-card" aria-labelledby="signin-title" onSubmit=${submit} novalidate>
        <h1 id="signin-title">Sign in to IDP Agents</h1>
        ${notice && html`<p class="notice" role="status">${notice}</p>`}
        ${configError && html`<p class="error" role="alert">
          The service's configuration could not be read: ${configError.message}</p>`}
        <div class="field">
          <label for="signin-username">Username</label>
          <input id="signin-username" ref=${userRef} name="username" autocomplete="username"
                 required value=${username} onInput=${(e) => setUsername(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="signin-password">Password</label>
          <input id="signin-password" name="password" type="password" autocomplete="current-password"
                 required value=${password} onInput=${(e) => setPassword(e.currentTarget.value)} />
        </div>
        ${error && html`<p class="error" role="alert">${explain(error)}</p>`}
        <button type="submit" class="primary" disabled=${busy || !username.trim() || !password}>
          ${busy ? 'Signing in…' : 'Sign in'}
        </button>
        ${config && html`<p class="muted small">Version ${config.version}${config.model && config.model.offline
          ? ' · answers come from the offline planner' : ''}</p>`}
      </form>
    </main>`;
}
