// The other pages: "Custom MCP agents" help with a template that copies, and the agents status
// page (each agent's status, tools, last check). Also the narrow (phone) layout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chatPage, newPage, screenshot, signIn, useStack } from './harness.mjs';

const env = useStack();

test('the Custom MCP agents page has the secret format and a template that copies', async () => {
  const page = await newPage(env.browser);
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: env.stack.baseUrl });
  await signIn(page, env.stack);
  await page.getByRole('link', { name: 'Custom MCP agents' }).click();
  await page.getByRole('heading', { name: 'Custom MCP agents', level: 1 }).waitFor();
  const template = JSON.parse(await page.getByLabel('Secret template').innerText());
  assert.ok(Array.isArray(template) && template.length === 1, 'the template is a JSON array of one entry');
  for (const f of ['mcp_url', 'cognito_user_pool_id', 'cognito_client_id', 'cognito_username', 'cognito_password']) {
    assert.ok(f in template[0], `the template has ${f}`);
  }
  await page.getByRole('button', { name: 'Copy template' }).click();
  await page.getByText('Copied to the clipboard.').waitFor();
  assert.deepEqual(JSON.parse(await page.evaluate(() => navigator.clipboard.readText())), template);
  await screenshot(page, 'help');
  assert.deepEqual(page.problems, []);
});

test('the agents status page shows each agent with its status and tools', async () => {
  const page = await newPage(env.browser);
  await signIn(page, env.stack);
  await page.getByRole('link', { name: 'Agents status' }).click();
  const entry = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: env.stack.agent.name }) });
  await entry.waitFor();
  const text = await entry.innerText();
  assert.match(text, /ready/);
  assert.match(text, /Tools/);
  assert.match(text, new RegExp(env.stack.prompts.table.tool));
  assert.match(text, /Last check/);
  await page.getByRole('button', { name: 'Refresh' }).click();
  await page.getByRole('button', { name: 'Refresh' }).waitFor();
  await screenshot(page, 'status');
  assert.deepEqual(page.problems, []);
});

test('on a narrow screen the chat stacks and still works', async () => {
  const page = await chatPage(env, { width: 390, height: 844 });
  await page.getByLabel('Message').waitFor();
  await screenshot(page, 'narrow');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `no sideways scrolling (${overflow}px too wide)`);
});
