// A tool call or a sub-agent call as a collapsible step: what was asked (input), what came
// back (output, whole), how long it took and whether it failed; while a tool that runs as a
// task works, its last status and message (tool_progress). A sub-agent's own steps and
// words are nested inside it. Tool output is shown as text, never as HTML.
import { html } from './lib/html.js';
import { formatMs, prettyJson } from './lib/format.js';
import { Markdown } from './Markdown.js';

// The parts of a tool result: each content block, then structuredContent.
function outputParts(output) {
  if (output === null || output === undefined) return html`<p class="muted">No output.</p>`;
  const parts = [];
  const content = Array.isArray(output.content) ? output.content : null;
  if (content) {
    content.forEach((c, i) => {
      if (c && c.type === 'text') parts.push(html`<pre key=${'t' + i} class="out">${c.text}</pre>`);
      else if (c && c.type === 'image') parts.push(html`<p key=${'i' + i} class="muted">[image, ${c.mimeType || 'unknown type'}]</p>`);
      else parts.push(html`<pre key=${'o' + i} class="out">${prettyJson(c)}</pre>`);
    });
  }
  if (output.structuredContent !== undefined) {
    parts.push(html`<p key="sc-l" class="step-label">Structured content</p><pre key="sc" class="out">${prettyJson(output.structuredContent)}</pre>`);
  }
  if (!content && output.structuredContent === undefined) parts.push(html`<pre key="raw" class="out">${prettyJson(output)}</pre>`);
  return parts;
}

function stateWord(step) {
  if (step.status === 'running') return 'running';
  if (step.status === 'interrupted') return 'interrupted';
  if (step.isError) return step.errorCode ? `error (${step.errorCode})` : 'error';
  return 'done';
}

// A running task's last status, as the server words it: "working: 40% read".
function taskLine(task) {
  const status = task.status ? task.status.replace('_', ' ') : 'working';
  return task.message ? `${status}: ${task.message}` : status;
}

export function Step({ step, names }) {
  const agent = names.get(step.agentId) || step.agentId;
  const isTool = step.kind === 'tool';
  const state = stateWord(step);
  return html`
    <details class=${`step step-${step.kind} step-${step.status}${step.isError ? ' step-error' : ''}`}>
      <summary>
        <span class="step-kind">${isTool ? 'Tool' : 'Agent'}</span>
        <span class="step-name">${isTool ? step.tool : agent}</span>
        ${isTool && agent && html`<span class="muted small">${agent}</span>`}
        <span class=${'step-state state-' + step.status}>${state}</span>
        ${step.ms !== null && html`<span class="muted small step-time">${formatMs(step.ms)}</span>`}
        ${isTool && step.task && step.status === 'running' && html`
          <span class="muted small step-progress" role="status" aria-label="task progress">${taskLine(step.task)}</span>`}
      </summary>
      <div class="step-body">
        <p class="step-label">${isTool ? 'Input' : 'Question'}</p>
        <pre class="out">${isTool ? prettyJson(step.input ?? {}) : String(step.input ?? '')}</pre>
        ${step.steps.length > 0 && html`
          <div class="steps nested">${step.steps.map((s) => html`<${Step} key=${s.callId} step=${s} names=${names} />`)}</div>`}
        ${isTool
          ? html`<p class="step-label">${step.isError ? 'Error output' : 'Output'}</p>${outputParts(step.output)}`
          : step.text && html`<p class="step-label">Answer</p><${Markdown} text=${step.text} />`}
      </div>
    </details>`;
}
