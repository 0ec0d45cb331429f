// The whole page: sign-in until signed in, then the top bar and the page the URL hash names
// (chat, history, agents status, help). Holds what several pages share: the service's config,
// the user, the agent list and the agents picked for the chat.
import { useCallback, useEffect, useState } from 'preact/hooks';
import { html } from './lib/html.js';
import { parseRoute, routeHash } from './lib/route.js';
import { SignIn } from './SignIn.js';
import { TopBar } from './TopBar.js';
import { Refused } from './Refused.js';
import { ChatPage } from './ChatPage.js';
import { HistoryPage } from './HistoryPage.js';
import { StatusPage } from './StatusPage.js';
import { HelpPage } from './HelpPage.js';

export function App({ api }) {
  const [config, setConfig] = useState(null);
  const [configError, setConfigError] = useState(null);
  const [user, setUser] = useState(null);
  const [refusal, setRefusal] = useState(null);
  const [notice, setNotice] = useState('');
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  const [agents, setAgents] = useState(null); // the GET /api/agents body
  const [agentsError, setAgentsError] = useState(null);
  const [agentsBusy, setAgentsBusy] = useState(false);
  const [selected, setSelected] = useState([]);

  useEffect(() => {
    const onHash = () => setRoute(parseRoute(location.hash));
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  useEffect(() => {
    api.config().then(setConfig, setConfigError);
  }, [api]);

  useEffect(() => {
    const names = { chat: 'Chat', history: 'History', status: 'Agents status', help: 'Custom MCP agents' };
    document.title = user ? `${names[route.page]} · IDP Agents` : 'Sign in · IDP Agents';
  }, [route.page, user]);

  const signOut = useCallback((reason = '') => {
    api.signOut();
    setUser(null);
    setRefusal(null);
    setAgents(null);
    setSelected([]);
    setNotice(reason);
  }, [api]);

  useEffect(() => {
    api.onSignedOut = (reason) => signOut(reason);
    api.onForbidden = (err) => setRefusal((r) => r || { groups: [], message: err.message });
  }, [api, signOut]);

  const loadAgents = useCallback(async (refresh = false) => {
    setAgentsBusy(true);
    setAgentsError(null);
    try {
      setAgents(refresh ? await api.refreshAgents() : await api.agents());
    } catch (e) {
      setAgentsError(e);
    } finally {
      setAgentsBusy(false);
    }
  }, [api]);

  const onSignedIn = useCallback(async (me) => {
    setNotice('');
    setUser(me);
    const groups = Array.isArray(me.groups) ? me.groups : [];
    if (groups.includes('Reviewer')) {
      setRefusal({ groups: ['Reviewer'], message: '' });
      return;
    }
    loadAgents(false);
  }, [loadAgents]);

  // Navigation that also updates the page state at once (replace: no new history entry).
  const navigate = useCallback((next, { replace = false } = {}) => {
    const hash = routeHash(next);
    if (replace) history.replaceState(null, '', hash);
    else if (location.hash !== hash) history.pushState(null, '', hash);
    setRoute(parseRoute(hash));
  }, []);

  if (!user) {
    return html`<${SignIn} api=${api} config=${config} configError=${configError}
                           notice=${notice} onSignedIn=${onSignedIn} />`;
  }
  const bar = html`<${TopBar} route=${route} user=${user} config=${config}
                              onSignOut=${() => signOut('You signed out.')} />`;
  if (refusal) {
    return html`${bar}<main id="main" class="page"><${Refused} refusal=${refusal} /></main>`;
  }
  let page;
  switch (route.page) {
    case 'history':
      page = html`<${HistoryPage} api=${api} navigate=${navigate} />`;
      break;
    case 'status':
      page = html`<${StatusPage} agents=${agents} error=${agentsError} busy=${agentsBusy}
                                 onRefresh=${() => loadAgents(true)} />`;
      break;
    case 'help':
      page = html`<${HelpPage} />`;
      break;
    default:
      page = html`<${ChatPage} api=${api} config=${config} sessionId=${route.sessionId}
                               navigate=${navigate} agents=${agents} agentsError=${agentsError}
                               agentsBusy=${agentsBusy} onRefreshAgents=${() => loadAgents(true)}
                               selected=${selected} setSelected=${setSelected} />`;
  }
  return html`${bar}<main id="main" class="page">${page}</main>`;
}
