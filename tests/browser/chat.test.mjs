// The chat: pick an agent, see its description and sample queries, ask a sample query, see the
// tool step and the answer; a table answer is a sortable, paged table and a plot a chart; after
// a reload the session is in the history, opens again and can be deleted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  answerEnded, ask, conversation, lastAnswer, newPage, screenshot, signIn, toolStep, useStack,
} from './harness.mjs';

// One page for the whole file: the tests follow one user's session from the first question on.
let stack;
let page;
useStack(async (env) => {
  stack = env.stack;
  page = await newPage(env.browser);
  await signIn(page, stack);
});

test('the agents panel: a checkbox per agent with its status; description and sample queries on focus', async () => {
  const box = page.getByRole('checkbox', { name: stack.agent.name });
  await box.check();
  assert.equal(await box.isChecked(), true);
  const item = page.getByRole('listitem').filter({ has: box });
  assert.match(await item.innerText(), /ready/);
  // The full description and the sample queries show when the description has the focus.
  const tip = item.getByRole('tooltip');
  await box.blur();
  await page.mouse.move(0, 0);
  await tip.waitFor({ state: 'hidden' });
  await item.locator('.agent-desc').hover();
  await tip.waitFor({ state: 'visible' });
  await page.mouse.move(0, 0);
  await tip.waitFor({ state: 'hidden' });
  await item.locator('.agent-desc').focus();
  await tip.waitFor({ state: 'visible' });
  assert.match(await tip.innerText(), /Sample queries/);
  assert.match(await tip.innerText(), new RegExp(escape(stack.prompts.sample.text)));
  await screenshot(page, 'agents-panel');
  await page.keyboard.press('Escape');
  await tip.waitFor({ state: 'hidden' });

  await page.getByRole('button', { name: 'Select none' }).click();
  assert.equal(await box.isChecked(), false);
  await page.getByRole('button', { name: 'Select all' }).click();
  assert.equal(await box.isChecked(), true);
  await page.getByRole('button', { name: 'Select none' }).click();
  await box.check();
});

test('a sample query: the chip fills the box; the tool step and the answer stream into the log', async () => {
  await page.getByRole('group', { name: 'Sample queries' }).getByRole('button', { name: stack.prompts.sample.text }).click();
  assert.equal(await page.getByLabel('Message').inputValue(), stack.prompts.sample.text);
  // Shift+Enter adds a line; Enter sends.
  await page.getByLabel('Message').press('End');
  await page.getByLabel('Message').press('Shift+Enter');
  assert.equal(await page.getByLabel('Message').inputValue(), stack.prompts.sample.text + '\n');
  await page.getByLabel('Message').press('Enter');
  assert.equal(await answerEnded(page), 'complete');

  const answer = lastAnswer(page);
  assert.match(await answer.innerText(), new RegExp(escape(stack.prompts.sample.answer)));
  const step = toolStep(answer, stack.prompts.sample.tool);
  await step.locator('summary').click();
  const body = await step.innerText();
  assert.match(body, /Input/);
  assert.match(body, /Output/);
  assert.match(body, /done/);
  assert.match(body, /\d+(\.\d)? m?s/, 'the step shows how long the call took');
  assert.match(await conversation(page).innerText(), new RegExp(escape(stack.prompts.sample.text)));
  await screenshot(page, 'chat');
  assert.deepEqual(page.problems, []);
});

test('a table answer is a table: sortable by column, paged', async () => {
  await ask(page, stack.prompts.table.text);
  assert.equal(await answerEnded(page), 'complete');
  const table = lastAnswer(page).locator('table.data').first();
  await table.waitFor();
  const bodyRows = table.locator('tbody tr');
  assert.equal(await bodyRows.count(), 10, 'ten rows a page');
  await lastAnswer(page).getByText('Page 1 of 3').waitFor();

  const header = table.locator('thead th').first();
  const firstCell = () => table.locator('tbody tr').first().locator('td').first().innerText();
  await header.getByRole('button').click();
  assert.equal(await header.getAttribute('aria-sort'), 'ascending');
  const asc = await firstCell();
  await header.getByRole('button').click();
  assert.equal(await header.getAttribute('aria-sort'), 'descending');
  const desc = await firstCell();
  assert.notEqual(asc, desc);
  assert.ok(asc.localeCompare(desc, undefined, { numeric: true }) < 0, `${asc} sorts before ${desc}`);

  await lastAnswer(page).getByRole('button', { name: 'Next page' }).click();
  await lastAnswer(page).getByText('Page 2 of 3').waitFor();
  await screenshot(page, 'table');
});

test('a plot answer is a chart', async () => {
  await ask(page, stack.prompts.plot.text);
  assert.equal(await answerEnded(page), 'complete');
  const chart = lastAnswer(page).getByRole('img', { name: /chart/ });
  await chart.waitFor();
  assert.equal(await chart.evaluate((el) => el.tagName), 'CANVAS');
  // Chart.js has drawn on it: some pixels are not transparent.
  const painted = await chart.evaluate((c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n++;
    return n;
  });
  assert.ok(painted > 100, `the chart has ${painted} painted pixels`);
  await screenshot(page, 'chart');
  assert.deepEqual(page.problems, []);
});

test('after a reload the session is in the history; it opens again and can be deleted', async () => {
  const url = page.url();
  assert.match(url, /#\/chat\/.+/, 'the session is in the URL');
  await page.reload();
  // The tokens were in memory only: the reload asks to sign in again, then comes back to it.
  await signIn(page, stack);
  await conversation(page).getByText(stack.prompts.table.text).waitFor();

  await page.getByRole('link', { name: 'History' }).click();
  const list = page.getByRole('list', { name: 'My sessions' });
  const link = list.getByRole('link', { name: stack.prompts.sample.text });
  await link.waitFor();
  await screenshot(page, 'history');
  await link.click();
  await conversation(page).getByText(stack.prompts.plot.text).waitFor();
  const answers = conversation(page).getByRole('article', { name: 'Answer' });
  assert.equal(await answers.count(), 3);
  await toolStep(answers.first(), stack.prompts.sample.tool).waitFor();

  // New chat leaves the session: an empty conversation at #/chat.
  await page.getByRole('button', { name: 'New chat' }).click();
  await page.getByRole('heading', { name: 'New chat', level: 1 }).waitFor();
  assert.equal(await answers.count(), 0);
  assert.match(page.url(), /#\/chat$/);

  await page.getByRole('link', { name: 'History' }).click();
  await list.getByRole('button', { name: `Delete ${stack.prompts.sample.text}` }).click();
  await page.getByRole('button', { name: 'Yes, delete' }).click();
  await link.waitFor({ state: 'detached' });
  await page.getByRole('status').filter({ hasText: 'Deleted' }).waitFor({ state: 'attached' });
  assert.deepEqual(page.problems, []);
});

function escape(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
