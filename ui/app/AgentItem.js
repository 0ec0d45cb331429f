// One agent in the panel: its checkbox (labelled with the agent's name), status badge, and the
// description shortened; the full description and the sample queries show on hover and focus,
// and Escape hides them again until the pointer or the focus leaves.
import { useState } from 'preact/hooks';
import { html } from './lib/html.js';
import { shorten } from './lib/format.js';
import { StatusBadge } from './StatusBadge.js';

export function AgentItem({ agent, checked, onToggle }) {
  const id = 'agent-' + agent.agent_id;
  const tipId = id + '-tip';
  const usable = agent.status === 'ready';
  const desc = agent.agent_description || '';
  const samples = agent.sample_queries || [];
  const [tipOff, setTipOff] = useState(false);
  const onKeyDown = (e) => {
    if (e.key === 'Escape') setTipOff(true);
  };
  const tipOn = () => setTipOff(false);
  return html`
    <li class=${'agent' + (usable ? '' : ' agent-unusable') + (tipOff ? ' tip-off' : '')}
        onKeyDown=${onKeyDown} onMouseLeave=${tipOn} onFocusOut=${tipOn}>
      <div class="agent-line">
        <input type="checkbox" id=${id} checked=${checked} disabled=${!usable && !checked}
               aria-describedby=${tipId}
               onChange=${(e) => onToggle(agent.agent_id, e.currentTarget.checked)} />
        <label for=${id}>${agent.agent_name}</label>
        <${StatusBadge} status=${agent.status} />
      </div>
      <p class="agent-desc" tabindex="0" aria-describedby=${tipId}>${shorten(desc, 150)}</p>
      <div class="tip" role="tooltip" id=${tipId}>
        <p>${desc}</p>
        ${!usable && agent.reason && html`<p class="tip-reason">${agent.status}: ${agent.reason}</p>`}
        ${samples.length > 0 && html`
          <p class="tip-title">Sample queries</p>
          <ul>${samples.map((q) => html`<li key=${q}>${q}</li>`)}</ul>`}
      </div>
    </li>`;
}
