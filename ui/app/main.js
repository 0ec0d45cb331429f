// Entry point of the web UI: one Api (the tokens live in it, in memory only) and the App.
import { render } from 'preact';
import { html } from './lib/html.js';
import { Api } from './lib/api.js';
import { App } from './App.js';

const api = new Api();
render(html`<${App} api=${api} />`, document.getElementById('app'));
