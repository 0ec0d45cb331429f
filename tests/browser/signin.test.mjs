// Sign-in: a wrong password is refused with a clear message; the right one opens the chat;
// Sign out forgets the tokens; a Reviewer is told the account may not use the agents.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newPage, screenshot, signIn, useStack } from './harness.mjs';

const env = useStack();

test('a wrong password is refused, the right one signs in, Sign out signs out', async () => {
  const page = await newPage(env.browser);
  await page.goto(env.stack.baseUrl + '/');
  await screenshot(page, 'signin');
  await page.getByLabel('Username').fill(env.stack.users.user.username);
  await page.getByLabel('Password').fill(env.stack.users.user.password + 'x');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'Incorrect username or password' }).waitFor();

  await page.getByLabel('Password').fill(env.stack.users.user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('checkbox', { name: env.stack.agent.name }).waitFor();
  assert.match(await page.getByRole('banner').innerText(), new RegExp(env.stack.users.user.username));

  // The tokens live in memory only: nothing in the browser's storage holds them.
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie);
  assert.doesNotMatch(stored, /eyJ|token/i);

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  await page.getByRole('status').filter({ hasText: 'You signed out.' }).waitFor();
  // The browser logs the refused sign-in (401) itself; nothing else went wrong.
  assert.deepEqual(page.problems.filter((p) => !/status of 401.*\/api\/auth\/login/.test(p)), []);
});

test('a Reviewer is refused: the account may not use the agents', async () => {
  const page = await newPage(env.browser);
  await signIn(page, env.stack, 'reviewer');
  const refusal = page.getByRole('alert').filter({ hasText: 'may not use the agents' });
  await refusal.waitFor();
  assert.match(await refusal.innerText(), /Your account \(group Reviewer\) may not use the agents\./);
  assert.equal(await page.getByRole('log', { name: 'Conversation' }).count(), 0);
  assert.equal(await page.getByLabel('Message').count(), 0);
  await screenshot(page, 'reviewer-refused');
  assert.deepEqual(page.problems, []);
});
